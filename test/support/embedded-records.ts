import { createHash } from 'node:crypto';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';

/** Records in one batch of the crash test: one `putRecords` call. */
export const EMBEDDED_BATCH_SIZE = 20_000;

const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex') as HashHex;

/** Record `index` of batch `batch`, the same in every process: a test can tell which batches were written. */
export function embeddedBatchRecord(batch: number, index: number): KnownRecord {
  const seed = `batch ${batch} record ${index}`;
  return {
    sha256: digest('sha256', seed),
    sha1: digest('sha1', seed),
    md5: digest('md5', seed),
    fileName: `batch-${batch}-${index}.exe`,
    platform: 'windows',
    version: '1.0',
    kind: 'executable',
    stage: 'test',
    campaign: 'crash test',
    confidence: 'high',
    sources: [`batch ${batch}`],
    addedAt: '2026-01-01T00:00:00.000Z',
  };
}
