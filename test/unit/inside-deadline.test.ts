import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../../lambdas/core/inside/limits.js';
import { InsideTimeLimitError, type InsideFile, type InsideWorkspace, type LookInside } from '../../lambdas/core/inside/look-inside.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import { scanMessage } from '../../lambdas/core/message-scan.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { makeScanInlineHandler } from '../../lambdas/handlers/scan-inline.js';
import { fixtureEvent, memoryLog } from '../support/events.js';
import { multipartBody } from '../support/multipart.js';
import { EICAR, workFolder, zipOf } from '../support/archives.js';
import { mailWith } from '../support/mail.js';

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex') as HashHex;

const EICAR_RECORD = {
  sha256: sha256(EICAR),
  fileName: 'eicar.com',
  platform: 'any',
  version: '1',
  kind: 'test-file',
  stage: 'payload',
  campaign: 'deadline test',
  confidence: 'high',
  sources: ['deadline test'],
} as KnownRecord;

const store: HashStore = {
  getMany: async (hashes) => new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (hash === EICAR_RECORD.sha256 ? [[hash, EICAR_RECORD]] : []))),
};

const LIMITS: InsideLimits = { ...DEFAULT_INSIDE_LIMITS, timeMs: 10_000 };

/** A clock that moves only when told to. */
function manualClock() {
  const clock = { at: 1_000_000, now: () => clock.at };
  return clock;
}


async function* once(bytes: Buffer): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * An engine that opens every container as holding one member, `eicar.com`, and whose extraction takes
 * `extractMs` on the clock. Notes the time limit of every file it is opened for.
 */
function fakeEngine(clock: { at: number }, options: { extractMs: number; writeFails?: boolean }): LookInside & { opened: number[] } {
  const opened: number[] = [];
  return {
    limits: LIMITS,
    opened,
    open(limits: InsideLimits): InsideWorkspace {
      opened.push(limits.timeMs);
      const kept = new Map<InsideFile, Buffer>();
      return {
        create: (name) => {
          const chunks: Buffer[] = [];
          return {
            write: async (chunk) => {
              if (options.writeFails) throw new InsideTimeLimitError();
              chunks.push(Buffer.from(chunk));
            },
            close: async () => {
              const bytes = Buffer.concat(chunks);
              const file = { name, size: bytes.length };
              kept.set(file, bytes);
              return file;
            },
          };
        },
        ends: async (file, headBytes, tailBytes) => {
          const bytes = kept.get(file)!;
          return { head: bytes.subarray(0, headBytes), tail: bytes.subarray(Math.max(0, bytes.length - tailBytes)) };
        },
        opens: () => true,
        list: async () => ({ entries: [{ name: 'eicar.com', size: EICAR.length, encrypted: false }] }),
        extract: async () => {
          clock.at += options.extractMs;
          const member = { name: 'eicar.com', size: EICAR.length };
          kept.set(member, Buffer.from(EICAR));
          return { members: [member], corrupt: false, encrypted: [], overBudget: false, release: async () => undefined };
        },
        read: (file) => once(kept.get(file)!),
        close: async () => undefined,
      };
    },
  };
}

describe('looking inside a message within one time budget', () => {
  it('reports an archive reached after the budget is spent as time at its own path, while the first archive keeps its match', async () => {
    const clock = manualClock();
    // The first archive's extraction takes the whole budget, and a little more.
    const engine = fakeEngine(clock, { extractMs: LIMITS.timeMs + 1 });
    const first = zipOf({ 'eicar.com': EICAR });
    const second = zipOf({ 'eicar.com': EICAR, 'other.txt': 'other' });
    const message = mailWith([
      { name: 'first.zip', type: 'application/zip', bytes: first },
      { name: 'second.zip', type: 'application/zip', bytes: second },
      { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('plain notes, nothing inside') },
    ]);

    const files = await scanMessage(once(message), { maxBytes: 4 * 1024 * 1024 }, { store, inside: engine, now: clock.now });

    expect(files.map((file) => [file.mimePath, file.fileName])).toEqual([
      ['1', 'first.zip'],
      ['2', 'second.zip'],
      ['3', 'notes.txt'],
    ]);
    expect(files[0]!.verdict).toBe('malicious');
    expect(files[0]!.inside).toMatchObject({ members: 1, containers: 1, complete: true, reasons: [] });
    expect(files[0]!.inside!.matches.map((match) => match.path)).toEqual([['eicar.com']]);
    // Judged by its own digests, never opened.
    expect(files[1]!.sha256).toBe(sha256(second));
    expect(files[1]!.verdict).toBe('unknown');
    expect(files[1]!.inside).toEqual({ members: 0, containers: 0, complete: false, reasons: [{ reason: 'time', path: [] }], matches: [] });
    // A file with no inside is complete whatever the time.
    expect(files[2]!.inside).toEqual({ members: 0, containers: 0, complete: true, reasons: [], matches: [] });
    expect(engine.opened).toEqual([LIMITS.timeMs]);
  });

  it('gives each later attachment only what is left of the budget', async () => {
    const clock = manualClock();
    const engine = fakeEngine(clock, { extractMs: 4_000 });
    const zipped = zipOf({ 'eicar.com': EICAR });
    const message = mailWith([
      { name: 'a.zip', type: 'application/zip', bytes: zipped },
      { name: 'b.zip', type: 'application/zip', bytes: zipped },
      { name: 'c.zip', type: 'application/zip', bytes: zipped },
    ]);

    const files = await scanMessage(once(message), { maxBytes: 4 * 1024 * 1024 }, { store, inside: engine, now: clock.now });

    expect(engine.opened).toEqual([10_000, 6_000, 2_000]);
    expect(files.map((file) => file.verdict)).toEqual(['malicious', 'malicious', 'malicious']);
  });

  it('judges a file by its own digests, time at its own path, when the time limit is reached while it is still being read', async () => {
    const clock = manualClock();
    const engine = fakeEngine(clock, { extractMs: 0, writeFails: true });
    const bytes = Buffer.from(EICAR);

    const file = await scanStream(once(bytes), { fileName: 'eicar.com', maxBytes: 1024 }, { store, inside: engine });

    expect(file.verdict).toBe('malicious');
    expect(file.sha256).toBe(sha256(EICAR));
    expect(file.inside).toEqual({ members: 0, containers: 0, complete: false, reasons: [{ reason: 'time', path: [] }], matches: [] });
  });
});

describe('a file reached after the deadline', () => {
  async function* inPieces(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
  }
  const padding = Buffer.alloc(40_000, 'x');

  it.each([1, 7, 300, 100_000])('is told to be a container by its ends, read %i bytes at a time, and never opened', async (size) => {
    const clock = manualClock();
    const engine = fakeEngine(clock, { extractMs: 0 });
    const zipped = zipOf({ 'padding.txt': padding, 'eicar.com': EICAR });
    const deadline = { at: clock.at, now: clock.now };

    const file = await scanStream(inPieces(zipped, size), { fileName: 'late.zip', maxBytes: 1024 * 1024, deadline }, { store, inside: engine });

    expect(file.sha256).toBe(sha256(zipped));
    expect(file.inside).toEqual({ members: 0, containers: 0, complete: false, reasons: [{ reason: 'time', path: [] }], matches: [] });
    expect(engine.opened).toEqual([]);
  });

  it('is complete when it has no inside', async () => {
    const clock = manualClock();
    const engine = fakeEngine(clock, { extractMs: 0 });
    const deadline = { at: clock.at - 1, now: clock.now };

    const file = await scanStream(inPieces(padding, 999), { fileName: 'plain.txt', maxBytes: 1024 * 1024, deadline }, { store, inside: engine });

    expect(file.inside).toEqual({ members: 0, containers: 0, complete: true, reasons: [], matches: [] });
    expect(engine.opened).toEqual([]);
  });
});

describe('looking inside a message with 7-Zip within one time budget', () => {
  let work: ReturnType<typeof workFolder>;
  let scratchParent: string;
  beforeAll(() => {
    work = workFolder();
    scratchParent = join(work.path, 'scratch');
    mkdirSync(scratchParent);
  });
  afterAll(() => work.remove());

  it('answers the second of two zipped attachments time when the first spends the budget', async () => {
    const clock = manualClock();
    const sevenZip = new SevenZipLookInside(LIMITS, { scratchParent });
    // Looking inside the first attachment uses up the budget on the clock.
    const engine: LookInside = {
      limits: LIMITS,
      open(limits) {
        const workspace = sevenZip.open(limits);
        return {
          create: (name) => workspace.create(name),
          ends: (file, head, tail) => workspace.ends(file, head, tail),
          opens: (format) => workspace.opens(format),
          list: (file, max) => workspace.list(file, max),
          extract: (file, max) => workspace.extract(file, max),
          read: (file) => workspace.read(file),
          close: async () => {
            await workspace.close();
            clock.at += LIMITS.timeMs;
          },
        };
      },
    };
    const first = zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'read me' });
    const second = zipOf({ 'eicar.com': EICAR });
    const message = mailWith([
      { name: 'first.zip', type: 'application/zip', bytes: first },
      { name: 'second.zip', type: 'application/zip', bytes: second },
    ]);

    const files = await scanMessage(once(message), { maxBytes: 4 * 1024 * 1024 }, { store, inside: engine, now: clock.now });

    expect(files[0]!.verdict).toBe('malicious');
    expect(files[0]!.inside).toMatchObject({ members: 2, containers: 1, complete: true });
    expect(files[0]!.inside!.matches.map((match) => match.path)).toEqual([['tools/eicar.com']]);
    expect(files[1]!.mimePath).toBe('2');
    expect(files[1]!.sha256).toBe(sha256(second));
    expect(files[1]!.verdict).toBe('unknown');
    expect(files[1]!.inside).toMatchObject({ complete: false, reasons: [{ reason: 'time', path: [] }] });
  });
});

describe('POST /v1/files within one time budget', () => {
  it('gives the files of one multipart request what is left of one deadline, not each a full time limit', async () => {
    // A clock that moves 3 s each time it is read: the request's deadline is read once, then each file's share.
    let at = 1_000_000;
    const now = () => {
      const current = at;
      at += 3_000;
      return current;
    };
    const engine = fakeEngine({ at: 0 }, { extractMs: 0 });
    const handler = makeScanInlineHandler({ store, log: memoryLog(), inside: engine, now });
    const zipped = zipOf({ 'eicar.com': EICAR });
    const { body, contentType } = multipartBody([
      { field: 'file', fileName: 'a.zip', content: zipped, type: 'application/zip' },
      { field: 'file', fileName: 'b.zip', content: zipped, type: 'application/zip' },
    ]);
    const base = fixtureEvent('api-gateway-post-lookup');
    const event = {
      ...base,
      resource: '/v1/files',
      path: '/v1/files',
      headers: { 'Content-Type': contentType },
      multiValueHeaders: { 'Content-Type': [contentType] },
      body: body.toString('base64'),
      isBase64Encoded: true,
    };

    const result = await handler(event, {} as never);

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).files.map((file: { verdict: string }) => file.verdict)).toEqual(['malicious', 'malicious']);
    // Each file opened with the time left of the one deadline (10 s from the first reading of the clock).
    expect([...engine.opened].sort((a, b) => a - b)).toEqual([LIMITS.timeMs - 6_000, LIMITS.timeMs - 3_000]);
  });
});
