import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../../lambdas/core/inside/limits.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { workFolder } from './archives.js';

export const sha256Of = (content: string | Buffer) => createHash('sha256').update(content).digest('hex') as HashHex;

/** A record making `content` known-bad for a test: a test file of the look-inside tests, with `fields` over it. */
export function knownBadRecord(content: string | Buffer, fields: Partial<KnownRecord> = {}): KnownRecord {
  return {
    sha256: sha256Of(content),
    fileName: 'eicar.com',
    platform: 'any',
    version: '1',
    kind: 'test-file',
    stage: 'payload',
    campaign: 'look-inside test',
    confidence: 'high',
    sources: ['look-inside test'],
    ...fields,
  } as KnownRecord;
}

/** A store knowing `records` by their SHA-256, noting each batch it is asked. */
export function storeOf(...records: KnownRecord[]): HashStore & { batches: number } {
  const known = new Map(records.map((record): [HashHex, KnownRecord] => [record.sha256!, record]));
  const store = {
    batches: 0,
    getMany: async (hashes: readonly HashHex[]) => {
      store.batches += 1;
      return new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (known.has(hash) ? [[hash, known.get(hash)!]] : [])));
    },
  };
  return store;
}

/**
 * A test file's scratch parent, made before its tests and removed after them, and `scan`, which digests bytes
 * as one file and looks inside it with 7-Zip there (the default limits, or `limits` over them).
 */
export function useLookInside(): {
  readonly scratchParent: () => string;
  /** The test file's own folder, the scratch parent's parent. */
  readonly workPath: () => string;
  scan(bytes: Buffer, fileName: string | null, store: HashStore, limits?: Partial<InsideLimits>): ReturnType<typeof scanStream>;
} {
  let work: ReturnType<typeof workFolder>;
  let scratchParent = '';
  beforeAll(() => {
    work = workFolder();
    scratchParent = join(work.path, 'scratch');
    mkdirSync(scratchParent);
  });
  afterAll(() => work.remove());
  return {
    scratchParent: () => scratchParent,
    workPath: () => work.path,
    scan(bytes, fileName, store, limits = {}) {
      const inside = new SevenZipLookInside({ ...DEFAULT_INSIDE_LIMITS, ...limits }, { scratchParent });
      return scanStream((async function* () { yield bytes; })(), { fileName, maxBytes: 64 * 1024 * 1024 }, { store, inside });
    },
  };
}
