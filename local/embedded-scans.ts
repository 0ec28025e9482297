import * as z from 'zod/v4-mini';
import { UpstreamUnavailableError } from '../lambdas/core/errors.js';
import { describeIssues, fileVerdictSchema, scanFailureReasonSchema, scanStatusSchema } from '../lambdas/core/schemas.js';
import type { ScanRecord } from '../lambdas/core/uploads.js';

/**
 * A scan as the single-machine server keeps it: with the mark of an upload whose file is being received (or
 * was, when the server stopped), so that its upload URL takes no other file, also after a restart.
 */
export interface LocalScanRecord extends ScanRecord {
  /** When the server began to receive the file; absent once the file was refused (its URL may be used again) or scanned. */
  receivingSince?: string;
}

/** A scan as the embedded store keeps it: the record without its key, nothing undefined. */
export type StoredScan = Omit<LocalScanRecord, 'uploadId'>;

/** A stored scan, checked with the schemas of the API's answers it was written from. */
const storedScanSchema = z.strictObject({
  status: scanStatusSchema,
  fileName: z.string(),
  declaredSize: z.int().check(z.nonnegative()),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.int(),
  file: z.optional(fileVerdictSchema),
  failure: z.optional(z.object({ reason: scanFailureReasonSchema, message: z.string() })),
  receivingSince: z.optional(z.string()),
});

export function toStoredScan(record: LocalScanRecord): StoredScan {
  const { uploadId: _key, ...fields } = record;
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as StoredScan;
}

/**
 * Reads a stored scan back, validated: a value that is not a scan written by this store is refused rather
 * than answered in a shape nobody wrote.
 * @throws UpstreamUnavailableError naming the upload and what is wrong with it.
 */
export function readScan(uploadId: string, stored: unknown): LocalScanRecord {
  const parsed = storedScanSchema.safeParse(stored);
  if (!parsed.success) {
    throw new UpstreamUnavailableError(
      `The scan of upload ${uploadId} is stored in a form that cannot be read (${describeIssues(parsed.error, 'row')}).`,
      { cause: parsed.error },
    );
  }
  const { file, failure, ...fields } = parsed.data;
  return { uploadId, ...fields, ...(file && { file }), ...(failure && { failure }) };
}
