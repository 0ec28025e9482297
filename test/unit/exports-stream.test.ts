import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFileLineSorter } from '../../lambdas/adapters/export-sort.js';
import { EXPORT_FORMATS, exportEtag, renderExport, streamExport, type ListedRecords, type RecordSource } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { recordDigests, type KnownRecord } from '../../lambdas/core/records.js';

const h = (c: string, length: number) => c.repeat(length) as HashHex;
const hex = (n: number, length: number) => n.toString(16).padStart(length, '0') as HashHex;

const BASE: KnownRecord = {
  fileName: 'payload.dll',
  platform: 'windows',
  version: '1',
  kind: 'payload',
  stage: 'test',
  campaign: 'Stream test',
  confidence: 'high',
  sources: ['feed a', 'feed b'],
};

/** A list with every shape of record: all three digests, one only, shared digests, sizes, hostile text, a revoked one. */
function mixedList(n: number): KnownRecord[] {
  const records: KnownRecord[] = [];
  for (let i = 0; i < n; i++) {
    const shape = i % 5;
    const spread = (i * 2654435761) >>> 0;
    records.push({
      ...BASE,
      ...(shape !== 3 && shape !== 4 && { sha256: hex(spread, 64) }),
      ...(shape !== 4 && { sha1: hex(spread ^ 0x5555, 40) }),
      // every seventh record shares its MD5 with another: maps list it once, ClamAV databases twice.
      md5: i % 7 === 0 ? h('7', 32) : hex(spread ^ 0xaaaa, 32),
      ...(i % 3 === 0 && { size: i }),
      fileName: i % 11 === 0 ? `=cmd|' /C calc'!A0 "${i}"` : `payload-${i}.dll`,
      ...(i % 13 === 0 && { addedAt: '2026-01-01T00:00:00.000Z' }),
    });
  }
  records.push({ ...BASE, sha256: h('e', 64), revoked: { at: '2026-01-02T00:00:00.000Z', by: 'admin', reason: 'false positive' } });
  return records;
}

const byPrimary = (a: KnownRecord, b: KnownRecord) => {
  const ka = recordDigests(a)[0]!.hash;
  const kb = recordDigests(b)[0]!.hash;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** A source over records in primary-digest order that counts its passes, as a store's lazy iteration would be read. */
function sourceOf(records: readonly KnownRecord[], updatedAt: string | undefined): RecordSource & { passes: number } {
  const sorted = [...records].sort(byPrimary);
  const source = {
    passes: 0,
    updatedAt,
    records: async function* () {
      source.passes++;
      yield* sorted;
    },
  };
  return source;
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const chunk of chunks) all += chunk;
  return all;
}

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'hashcheck-export-sort-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('streamExport', () => {
  const list: ListedRecords = { records: mixedList(200).filter((r) => !r.revoked), updatedAt: '2026-01-02T03:04:05.678Z' };

  it.each(EXPORT_FORMATS)('streams %s to the same bytes renderExport gives for the same list, revoked records left out', async (format) => {
    const streamed = await text(streamExport(format, sourceOf(mixedList(200), list.updatedAt)));
    expect(streamed).toBe(renderExport(format, list).body);
  });

  it.each(EXPORT_FORMATS)('streams %s to the same bytes when the digests are sorted on disk in many small runs', async (format) => {
    const sortLines = makeFileLineSorter({ dir: scratch, runLines: 7 });
    const streamed = await text(streamExport(format, sourceOf(mixedList(200), list.updatedAt), { sortLines }));
    expect(streamed).toBe(renderExport(format, list).body);
  });

  it.each(EXPORT_FORMATS)('streams an empty list as %s to the same bytes as renderExport', async (format) => {
    expect(await text(streamExport(format, sourceOf([], undefined)))).toBe(renderExport(format, { records: [], updatedAt: undefined }).body);
  });

  it('reads the list at most twice for any format, never holding it whole', async () => {
    for (const format of EXPORT_FORMATS) {
      const source = sourceOf(mixedList(20), undefined);
      await text(streamExport(format, source));
      expect(source.passes).toBeLessThanOrEqual(2);
    }
  });

  it('refuses records that do not come in the order of their strongest digest rather than write a wrong file', async () => {
    const unsorted: RecordSource = {
      updatedAt: undefined,
      records: async function* () {
        yield { ...BASE, sha256: h('b', 64) };
        yield { ...BASE, sha256: h('a', 64) };
      },
    };
    await expect(text(streamExport('sha256.txt', unsorted))).rejects.toThrow(/out of order/);
  });
});

describe('makeFileLineSorter', () => {
  it('sorts and drops repeats across runs on disk, and leaves only the sorted file in its folder', async () => {
    const sortLines = makeFileLineSorter({ dir: scratch, runLines: 3 });
    const input = ['d', 'b', 'a', 'c', 'b', 'e', 'a', 'f', 'A'];
    const sorted = await sortLines(
      (async function* () {
        yield* input;
      })(),
      { unique: true },
    );
    expect(sorted.count).toBe(7);
    const out: string[] = [];
    for await (const line of sorted.lines()) out.push(line);
    expect(out).toEqual(['A', 'a', 'b', 'c', 'd', 'e', 'f']);
    expect((await readdir(scratch)).filter((name) => name.startsWith('run-'))).toEqual([]);
  });
});

describe('exportEtag', () => {
  it('derives the tag from the list and its version, a new one for each version and format', () => {
    expect(exportEtag('abc', 3, 'sha256.txt')).toMatch(/^W\/".+"$/);
    expect(exportEtag('abc', 3, 'sha256.txt')).toBe(exportEtag('abc', 3, 'sha256.txt'));
    expect(exportEtag('abc', 4, 'sha256.txt')).not.toBe(exportEtag('abc', 3, 'sha256.txt'));
    expect(exportEtag('abc', 3, 'md5.txt')).not.toBe(exportEtag('abc', 3, 'sha256.txt'));
    expect(exportEtag('xyz', 3, 'sha256.txt')).not.toBe(exportEtag('abc', 3, 'sha256.txt'));
  });
});
