import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../../lambdas/core/inside/limits.js';
import { digestAndLookInside, type InsideFile, type InsideWorkspace, type LookInside } from '../../lambdas/core/inside/look-inside.js';
import { EICAR, workFolder, zipOf } from '../support/archives.js';

const LIMITS: InsideLimits = { ...DEFAULT_INSIDE_LIMITS, timeMs: 5_000 };

async function* once(bytes: Buffer): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** An engine that notes the time limit it is opened with and each restart of its clock, and finds nothing inside. */
function notingEngine(): LookInside & { events: string[] } {
  const events: string[] = [];
  return {
    limits: LIMITS,
    events,
    open(limits: InsideLimits): InsideWorkspace {
      events.push(`open ${limits.timeMs}`);
      return {
        create: (name) => ({
          write: async () => undefined,
          close: async () => {
            events.push('file in');
            return { name, size: 4 } satisfies InsideFile;
          },
        }),
        ends: async () => ({ head: new Uint8Array(4), tail: new Uint8Array() }),
        opens: () => true,
        list: async () => ({ entries: [] }),
        extract: async () => ({ members: [], corrupt: false, encrypted: [], overBudget: false, release: async () => undefined }),
        read: () => once(Buffer.alloc(0)),
        startClock: (timeMs) => events.push(`clock ${timeMs}`),
        close: async () => undefined,
      };
    },
  };
}

let work: ReturnType<typeof workFolder>;
let scratchParent: string;

beforeAll(() => {
  work = workFolder();
  scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
});
afterAll(() => work.remove());

describe('a file that arrives at a client’s pace', () => {
  it('may take its reading time to arrive, and its look-inside time starts from its last byte', async () => {
    const engine = notingEngine();

    await digestAndLookInside(once(Buffer.from('data')), { fileName: 'upload.bin', maxBytes: 100, readingMs: 3_600_000 }, engine);

    expect(engine.events).toEqual(['open 3600000', 'file in', `clock ${LIMITS.timeMs}`]);
  });

  it('keeps the time limit from the first byte when no reading time is given', async () => {
    const engine = notingEngine();

    await digestAndLookInside(once(Buffer.from('data')), { fileName: 'file.bin', maxBytes: 100 }, engine);

    expect(engine.events).toEqual([`open ${LIMITS.timeMs}`, 'file in']);
  });

  it('restarts 7-Zip’s time limit when told, so a limit spent while reading no longer stops the look inside', async () => {
    // A limit of 1 ms is spent by the time 7-Zip has listed anything: only a restarted clock lets it finish.
    const inside = new SevenZipLookInside({ ...DEFAULT_INSIDE_LIMITS, timeMs: 1 }, { scratchParent });
    const workspace = inside.open(inside.limits);
    try {
      workspace.startClock!(60_000);
      const sink = workspace.create('tools.zip');
      await sink.write(zipOf({ 'eicar.com': EICAR }));
      const file = await sink.close();
      expect(await workspace.list(file, 10)).toEqual({ entries: [expect.objectContaining({ name: 'eicar.com' })] });
    } finally {
      await workspace.close();
    }
  });
});
