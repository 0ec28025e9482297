import { z } from 'zod';
import type { KnownRecord } from '../lambdas/core/records.js';
import type { FileVerdict } from '../lambdas/core/scan.js';
import { ServiceError } from './errors.js';

/**
 * The shapes of the service's answers (see `GET /v1/openapi.json`). Every answer is checked before it is
 * used: an answer the command cannot read is a failure, never a reason to report `unknown`. Fields the
 * command does not know are kept, so a newer service does not break an older command line.
 */
const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

const matchSchema = z
  .object({
    sha256: hex(64).optional(),
    sha1: hex(40).optional(),
    md5: hex(32).optional(),
    fileName: z.string(),
    platform: z.string(),
    version: z.string(),
    kind: z.string(),
    stage: z.string(),
    campaign: z.string(),
    confidence: z.string(),
    sources: z.array(z.string()),
    addedAt: z.string().optional(),
  })
  .passthrough();

const verdictSchema = z.enum(['malicious', 'unknown']);

const bulkResultSchema = z.union([
  z.object({
    input: z.string(),
    hash: z.string(),
    algorithm: z.enum(['md5', 'sha1', 'sha256']),
    verdict: verdictSchema,
    match: matchSchema.nullable(),
  }),
  z.object({ input: z.string(), error: z.object({ code: z.string(), message: z.string() }) }),
]);

/** `POST /v1/hashes/lookup` → 200. */
export const bulkAnswerSchema = z.object({ results: z.array(bulkResultSchema) }).passthrough();

const fileVerdictSchema = z
  .object({
    fileName: z.string().nullable(),
    size: z.number().int().nonnegative(),
    md5: hex(32),
    sha1: hex(40),
    sha256: hex(64),
    verdict: verdictSchema,
    matches: z.array(matchSchema),
  })
  .passthrough();

/** `POST /v1/files` → 200. */
export const filesAnswerSchema = z.object({ files: z.array(fileVerdictSchema) }).passthrough();

/** `POST /v1/uploads` → 201. */
export const createdUploadSchema = z
  .object({ uploadId: z.string().min(1), put: z.object({ url: z.string().url(), headers: z.record(z.string()) }) })
  .passthrough();

/** `GET /v1/uploads/{uploadId}` → 200. */
export const uploadStatusSchema = z
  .object({
    uploadId: z.string(),
    status: z.enum(['pending', 'done', 'failed']),
    file: fileVerdictSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .passthrough();

/**
 * Checks an answer against its schema.
 * @throws ServiceError naming the first field that is wrong.
 */
export function readAnswer<S extends z.ZodTypeAny>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.join('.') || 'the body';
  throw new ServiceError(`${what} failed: the service's answer is not in the documented shape (${where}: ${issue.message})`);
}

/**
 * A match as the domain types it. The service sends the public view of a record, which has the record's
 * fields; a kind this version does not know is passed through for display rather than refused.
 */
export function toKnownRecord(match: z.infer<typeof matchSchema>): KnownRecord {
  return match as unknown as KnownRecord;
}

/** A file verdict as the domain types it. */
export function toFileVerdict(file: z.infer<typeof fileVerdictSchema>): FileVerdict {
  return file as unknown as FileVerdict;
}
