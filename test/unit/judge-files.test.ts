import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileDigests } from '../../lambdas/core/digest.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { judgeFiles } from '../../lambdas/core/scan.js';

function digestsOf(content: string): FileDigests {
  const hex = (algorithm: string) => createHash(algorithm).update(content).digest('hex') as HashHex;
  return { size: Buffer.byteLength(content), md5: hex('md5'), sha1: hex('sha1'), sha256: hex('sha256') };
}

function recordOf(digests: Partial<Pick<KnownRecord, 'sha256' | 'sha1' | 'md5'>>, fileName: string): KnownRecord {
  return {
    ...digests,
    fileName,
    platform: 'windows',
    version: '1.0',
    kind: 'stealer',
    stage: 'payload',
    campaign: 'judge test',
    confidence: 'high',
    sources: ['judge test'],
  };
}

/** A store over fixed records that notes every batch it is asked. */
function storeOf(records: readonly KnownRecord[]): HashStore & { asked: HashHex[][] } {
  const byHash = new Map<HashHex, KnownRecord>();
  for (const record of records) for (const hash of [record.sha256, record.sha1, record.md5]) if (hash) byHash.set(hash, record);
  const asked: HashHex[][] = [];
  return {
    asked,
    getMany: async (hashes) => {
      asked.push([...hashes]);
      return new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (byHash.has(hash) ? [[hash, byHash.get(hash)!]] : [])));
    },
  };
}

describe('judgeFiles', () => {
  it('judges many files from one batch that asks each distinct digest once, answering in the order given', async () => {
    const bad = digestsOf('bad');
    const good = digestsOf('good');
    const store = storeOf([recordOf({ sha256: bad.sha256 }, 'bad.exe')]);

    const verdicts = await judgeFiles(
      [
        { digests: good, fileName: 'good.txt' },
        { digests: bad, fileName: 'bad.exe' },
        { digests: bad, fileName: 'copy of bad.exe' },
      ],
      { store },
    );

    expect(store.asked).toHaveLength(1);
    expect(store.asked[0]).toHaveLength(6);
    expect(new Set(store.asked[0])).toEqual(new Set([good.sha256, good.sha1, good.md5, bad.sha256, bad.sha1, bad.md5]));
    expect(verdicts.map((v) => [v.fileName, v.verdict])).toEqual([
      ['good.txt', 'unknown'],
      ['bad.exe', 'malicious'],
      ['copy of bad.exe', 'malicious'],
    ]);
    expect(verdicts[0]).toEqual({ fileName: 'good.txt', size: 4, md5: good.md5, sha1: good.sha1, sha256: good.sha256, verdict: 'unknown', matches: [] });
  });

  it('reports a record matched by several digests of a file once, and records matched by different digests each', async () => {
    const file = digestsOf('sample');
    const both = recordOf({ sha256: file.sha256, md5: file.md5 }, 'both.dll');
    const bySha1 = recordOf({ sha1: file.sha1 }, 'sha1-only.dll');
    const [verdict] = await judgeFiles([{ digests: file, fileName: null }], { store: storeOf([both, bySha1]) });

    expect(verdict!.verdict).toBe('malicious');
    expect(verdict!.matches.map((m) => m.fileName)).toEqual(['both.dll', 'sha1-only.dll']);
  });

  it('asks nothing of the store when there is no file', async () => {
    const store = storeOf([]);
    await expect(judgeFiles([], { store })).resolves.toEqual([]);
    expect(store.asked).toEqual([]);
  });

  it('gives no verdict at all when the store fails', async () => {
    const failure = new UpstreamUnavailableError('The known-bad list could not be read; try again shortly.');
    const store: HashStore = { getMany: () => Promise.reject(failure) };
    await expect(judgeFiles([{ digests: digestsOf('x'), fileName: 'x' }], { store })).rejects.toBe(failure);
  });

  it('asks the store in batches of the bulk limit, so an archive of thousands of members never becomes one huge read', async () => {
    const bad = digestsOf('member 3999');
    const store = storeOf([recordOf({ sha256: bad.sha256 }, 'member.dll')]);
    const members = Array.from({ length: 4000 }, (_, i) => ({ path: [`member ${i}`], digests: digestsOf(`member ${i}`) }));

    const [file] = await judgeFiles([{ digests: digestsOf('archive'), fileName: 'archive.zip', inside: { members, containers: 1, reasons: [] } }], {
      store,
    });

    // 4,001 files × 3 digests = 12,003 distinct digests: a full batch of 10,000 and the rest.
    expect(store.asked.map((batch) => batch.length)).toEqual([10_000, 2_003]);
    expect(file!.verdict).toBe('malicious');
    expect(file!.inside!.matches.map((match) => match.path)).toEqual([['member 3999']]);
  });
});
