import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { InsideTimeLimitError, type InsideWorkspace, type LookInside } from '../../lambdas/core/inside/look-inside.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { uploadKey, type ObjectReader, type ScanRecord, type ScanStore } from '../../lambdas/core/uploads.js';
import { makeScanObjectHandler } from '../../lambdas/handlers/scan-object.js';
import { EICAR, zipOf } from '../support/archives.js';
import { memoryLog } from '../support/events.js';

let scratchParent: string;

beforeAll(() => {
  scratchParent = mkdtempSync(join(tmpdir(), 'hashcheck-scan-object-inside-'));
});

afterAll(() => {
  rmSync(scratchParent, { recursive: true, force: true });
});

/**
 * The scan's look-inside, counting the scratch spaces it opens and closes. With `expireWhileRead`, the
 * time limit is reached before the object's bytes are written: every write rejects, as the port says.
 */
function countingLookInside(options: { expireWhileRead?: boolean } = {}): LookInside & { opened: number; closed: number } {
  const engine = new SevenZipLookInside(undefined, { scratchParent });
  const counting = {
    limits: engine.limits,
    opened: 0,
    closed: 0,
    open(limits: typeof engine.limits): InsideWorkspace {
      counting.opened += 1;
      const workspace = engine.open(limits);
      if (options.expireWhileRead) {
        const create = workspace.create.bind(workspace);
        workspace.create = (name) => {
          const sink = create(name);
          return {
            write: async () => {
              throw new InsideTimeLimitError();
            },
            close: () => sink.close(),
          };
        };
      }
      const close = workspace.close.bind(workspace);
      workspace.close = async () => {
        counting.closed += 1;
        await close();
      };
      return workspace;
    },
  };
  return counting;
}

class MemoryScans implements ScanStore {
  readonly rows = new Map<string, ScanRecord>();
  async put(record: ScanRecord): Promise<void> {
    this.rows.set(record.uploadId, record);
  }
  async finish(record: ScanRecord): Promise<boolean> {
    if (this.rows.get(record.uploadId)?.status !== 'pending') return false;
    this.rows.set(record.uploadId, record);
    return true;
  }
  async get(uploadId: string): Promise<ScanRecord | undefined> {
    return this.rows.get(uploadId);
  }
}

const UPLOAD_ID = '0b5f6f1e-8d1c-4c3e-9f0a-2a7b6c5d4e3f';

async function pendingScans(declaredSize: number): Promise<MemoryScans> {
  const scans = new MemoryScans();
  const now = new Date().toISOString();
  await scans.put({ uploadId: UPLOAD_ID, status: 'pending', fileName: 'tools.zip', declaredSize, createdAt: now, updatedAt: now, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  return scans;
}

/** An object whose body yields `chunks`, then throws when `failAfter` is set. */
function objectOf(chunks: readonly Buffer[], options: { size: number; failAfter?: boolean }): ObjectReader & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    deleted,
    async open() {
      async function* body(): AsyncIterable<Uint8Array> {
        for (const chunk of chunks) yield chunk;
        if (options.failAfter) throw new Error('connection reset by peer');
      }
      return { size: options.size, body: body() };
    },
    async delete(key: string) {
      deleted.push(key);
    },
  };
}

const emptyStore: HashStore = { getMany: async () => new Map<HashHex, KnownRecord>() };

function event(key: string) {
  return { Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key } } }] } as never;
}

const scratchLeft = () => readdirSync(scratchParent);

describe('scan-object looking inside an upload', () => {
  const archive = zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' });

  it('judges an object by its own digests, incomplete for time, when the scan\'s time runs out while it is read, and deletes its scratch folder', async () => {
    const scans = await pendingScans(archive.length);
    const inside = countingLookInside({ expireWhileRead: true });
    const objects = objectOf([archive], { size: archive.length });
    await makeScanObjectHandler({ store: emptyStore, scans, objects, now: () => new Date(), log: memoryLog(), inside })(event(uploadKey(UPLOAD_ID)));
    expect(scans.rows.get(UPLOAD_ID)).toMatchObject({
      status: 'done',
      file: {
        fileName: 'tools.zip',
        size: archive.length,
        md5: createHash('md5').update(archive).digest('hex'),
        verdict: 'unknown',
        inside: { members: 0, containers: 0, complete: false, reasons: [{ reason: 'time', path: [] }], matches: [] },
      },
    });
    expect(objects.deleted).toEqual([uploadKey(UPLOAD_ID)]);
    expect({ opened: inside.opened, closed: inside.closed }).toEqual({ opened: 1, closed: 1 });
    expect(scratchLeft()).toEqual([]);
  });
});
