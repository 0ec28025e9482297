import { describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { parseHash, parseHashList, type HashHex } from '../../lambdas/core/hashes.js';
import { lookupHashList, lookupHashes, type HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';

const known: KnownRecord = {
  sha256: 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868' as HashHex,
  md5: 'f3d4144860ca10ba60f7ef4d176cc736' as HashHex,
  fileName: '3cxdesktopapp-18.12.407.msi',
  platform: 'windows',
  version: '18.12.407',
  kind: 'installer',
  stage: 'supply-chain',
  campaign: '3CX',
  confidence: 'high',
  sources: ['a report'],
};

/** A store over a map that records every call it receives. */
function recordingStore(records: KnownRecord[]): HashStore & { calls: HashHex[][] } {
  const byHash = new Map<HashHex, KnownRecord>();
  for (const r of records) for (const h of [r.sha256, r.sha1, r.md5]) if (h) byHash.set(h, r);
  const calls: HashHex[][] = [];
  return {
    calls,
    async getMany(hashes) {
      calls.push([...hashes]);
      return new Map(hashes.flatMap((h) => (byHash.has(h) ? [[h, byHash.get(h)!] as const] : [])));
    },
  };
}

describe('lookupHashes', () => {
  it('asks the store once per distinct hash and answers every input in order', async () => {
    const store = recordingStore([known]);
    const unknown = parseHash('0'.repeat(64));
    const md5 = parseHash(known.md5!);
    const answers = await lookupHashes([md5, unknown, md5], { store });
    expect(store.calls).toEqual([[known.md5, unknown.hash]]);
    expect(answers.map((a) => a.verdict)).toEqual(['malicious', 'unknown', 'malicious']);
    expect(answers[0]!.match).toMatchObject({ fileName: '3cxdesktopapp-18.12.407.msi', sha256: known.sha256 });
    expect(answers[1]!.match).toBeNull();
  });

  it('does not call the store for an empty list', async () => {
    const store = recordingStore([]);
    expect(await lookupHashes([], { store })).toEqual([]);
    expect(store.calls).toHaveLength(0);
  });

  it('fails closed: a store failure propagates instead of becoming unknown', async () => {
    const store: HashStore = {
      getMany: async () => {
        throw new UpstreamUnavailableError('down');
      },
    };
    await expect(lookupHashes([parseHash(known.md5!)], { store })).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('lookupHashList', () => {
  it('answers one result per input in order and counts each verdict', async () => {
    const store = recordingStore([known]);
    const { results, summary } = await lookupHashList(parseHashList(['bad', known.md5!.toUpperCase(), '1'.repeat(40)]), { store });
    expect(results.map((r) => ('error' in r ? r.error.code : r.verdict))).toEqual(['invalid_hash', 'malicious', 'unknown']);
    expect(results.map((r) => r.input)).toEqual(['bad', known.md5!.toUpperCase(), '1'.repeat(40)]);
    expect(summary).toEqual({ total: 3, malicious: 1, unknown: 1, invalid: 1 });
  });
});
