import type * as z from 'zod/v4-mini';
import { describeIssues, recordInputSchema, type KnownRecord, type RecordView } from '../lambdas/core/schemas.js';
import { ServiceError } from './errors.js';

/**
 * The shapes of the service's answers are the schemas the service itself is documented with
 * (`lambdas/core/schemas.ts`, served as `GET /v1/openapi.json`). Every answer is checked before it is
 * used: an answer the command cannot read is a failure, never a reason to report `unknown`. Fields the
 * command does not know are dropped rather than refused, so a newer service does not break an older
 * command line.
 */
export {
  bulkAnswerSchema,
  createdUploadSchema,
  filesAnswerSchema,
  importReportSchema,
  uploadStatusSchema,
} from '../lambdas/core/schemas.js';

/**
 * Checks an answer against its schema.
 * @throws ServiceError naming every field that is wrong.
 */
export function readAnswer<S extends z.ZodMiniType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ServiceError(
    `${what} failed: the service's answer is not in the documented shape (${describeIssues(parsed.error, 'the body')})`,
  );
}

/**
 * A match as the domain types it: the record the service sent, checked as any record on the list is, so
 * its digests are the validated hashes a record holds.
 * @throws ServiceError when the match is not a whole record.
 */
export function toKnownRecord(match: RecordView, what: string): KnownRecord {
  return readAnswer(recordInputSchema, match, what);
}
