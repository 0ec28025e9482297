import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { revokeRecord } from '../../lambdas/core/admin.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { importRecords, type ImportReport, type RecordStore } from '../../lambdas/core/import.js';
import { parseHash } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../local/embedded-store.js';

/**
 * The embedded list imports in one pass (each digest read once, the write planned from the same reads).
 * Whatever is imported, it must end exactly as an import through `getStored` and `putRecords` ends: the
 * same reports, the same records under every digest, the same count and version.
 */

let parent: string;
const opened: EmbeddedStore[] = [];

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'hashcheck-embedded-import-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await rm(parent, { recursive: true, force: true });
});

const digestOf = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex') as HashHex;

/** Five files, each with its three digests: records are made of some of a file's digests, or of two files'. */
const FILES = Array.from({ length: 5 }, (_, i) => ({
  sha256: digestOf('sha256', `file ${i}`),
  sha1: digestOf('sha1', `file ${i}`),
  md5: digestOf('md5', `file ${i}`),
}));
const ALL_DIGESTS = FILES.flatMap((f) => [f.sha256, f.sha1, f.md5]);

const record = fc
  .record({
    sha256: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    sha1: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    md5: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    fileName: fc.constantFrom('a.dll', 'b.exe'),
    addedAt: fc.option(fc.constantFrom('2025-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'), { nil: undefined }),
  })
  .filter((r) => r.sha256 !== undefined || r.sha1 !== undefined || r.md5 !== undefined)
  .map(
    (r): KnownRecord => ({
      ...(r.sha256 !== undefined && { sha256: FILES[r.sha256]!.sha256 }),
      ...(r.sha1 !== undefined && { sha1: FILES[r.sha1]!.sha1 }),
      ...(r.md5 !== undefined && { md5: FILES[r.md5]!.md5 }),
      fileName: r.fileName,
      platform: 'windows',
      version: '1',
      kind: 'other',
      stage: 'unspecified',
      campaign: 'property test',
      confidence: 'medium',
      sources: ['test'],
      ...(r.addedAt !== undefined && { addedAt: r.addedAt }),
    }),
  );

type Step = { import: KnownRecord[]; reinstate: boolean } | { revoke: number };
const primaryOf = (r: KnownRecord) => (r.sha256 ?? r.sha1 ?? r.md5)!;
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ import: fc.array(record, { maxLength: 6 }), reinstate: fc.boolean() }) },
  // In the order of the digests the records are stored under, as a feed sent in key order comes.
  {
    weight: 2,
    arbitrary: fc.record({
      import: fc.array(record, { maxLength: 6 }).map((records) => [...records].sort((a, b) => (primaryOf(a) < primaryOf(b) ? -1 : 1))),
      reinstate: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ revoke: fc.integer({ min: 0, max: ALL_DIGESTS.length - 1 }) }) },
);

/** The store as an import through `getStored` and `putRecords` sees it: its one-pass import hidden. */
function withoutOnePass(store: EmbeddedStore): RecordStore {
  const { hashes } = store;
  return {
    getMany: (hashes_) => hashes.getMany(hashes_),
    getStored: (hashes_) => hashes.getStored(hashes_),
    putRecords: (records) => hashes.putRecords(records),
  };
}

/** Everything the list answers: every digest's stored record, the count and the version. */
async function state(store: EmbeddedStore) {
  const stored = await store.hashes.getStored(ALL_DIGESTS);
  return { stored: Object.fromEntries(ALL_DIGESTS.map((d) => [d, stored.get(d)])), count: await store.hashes.countRecords(), version: store.listVersion() };
}

describe('importing into the embedded list in one pass', () => {
  it('ends as an import through getStored and putRecords ends, reports included, whatever records share digests', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        run += 1;
        let time = Date.parse('2026-01-01T00:00:00.000Z');
        const now = () => time;
        const onePass = await openEmbeddedStore(join(parent, `one-pass-${run}`), { now });
        const twoPass = await openEmbeddedStore(join(parent, `two-pass-${run}`), { now });
        opened.push(onePass, twoPass);
        expect(onePass.hashes.importInOnePass).toBeDefined();
        for (const s of steps) {
          time += 60_000;
          const deps = { now: () => new Date(time) };
          if ('import' in s) {
            const reports: ImportReport[] = [];
            reports.push(await importRecords(s.import, { ...deps, store: onePass.hashes }, { reinstate: s.reinstate }));
            reports.push(await importRecords(s.import, { ...deps, store: withoutOnePass(twoPass) }, { reinstate: s.reinstate }));
            expect(reports[0]).toEqual(reports[1]);
          } else {
            const hash = parseHash(ALL_DIGESTS[s.revoke]!);
            const revoke = (store: RecordStore) =>
              revokeRecord(hash, 'false positive', { id: 'analyst' }, { ...deps, store }).then(
                (result) => result.outcome,
                (error: Error) => error.name,
              );
            expect(await revoke(onePass.hashes)).toEqual(await revoke(twoPass.hashes));
          }
          expect(await state(onePass)).toEqual(await state(twoPass));
        }
        await Promise.all([onePass.close(), twoPass.close()]);
      }),
      { numRuns: 60 },
    );
  });

  it('imports a list of a digest each into a list that already holds some of them, and again: the second import changes nothing', async () => {
    const store = await openEmbeddedStore(join(parent, 'list'));
    opened.push(store);
    const list = Array.from({ length: 20_000 }, (_, i): KnownRecord => ({
      sha256: digestOf('sha256', `list ${i}`),
      fileName: 'unknown',
      platform: 'unspecified',
      version: 'unspecified',
      kind: 'other',
      stage: 'unspecified',
      campaign: 'list',
      confidence: 'medium',
      sources: ['feed'],
    }));
    const deps = { store: store.hashes, now: () => new Date('2026-01-01T00:00:00.000Z') };
    const someFirst = await importRecords(list.filter((_, i) => i % 7 === 0), deps);
    const whole = await importRecords(list, deps);
    const again = await importRecords(list, deps);

    expect(someFirst).toMatchObject({ total: 2858, added: 2858 });
    expect(whole).toEqual({ total: 20_000, added: 20_000 - 2858, updated: 0, unchanged: 2858, revoked: 0 });
    expect(again).toEqual({ total: 20_000, added: 0, updated: 0, unchanged: 20_000, revoked: 0 });
    expect(await store.hashes.countRecords()).toBe(20_000);
    const found = await store.hashes.getMany(list.map((r) => r.sha256!));
    expect(found.size).toBe(20_000);
    expect(found.get(list[12_345]!.sha256!)).toEqual({ ...list[12_345], addedAt: '2026-01-01T00:00:00.000Z' });
  });
});
