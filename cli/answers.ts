import * as z from 'zod/v4-mini';
import * as service from '../lambdas/core/schemas.js';
import { describeIssues, type KnownRecord, type RecordView } from '../lambdas/core/schemas.js';
import { ServiceError } from './errors.js';

/**
 * The shapes of the service's answers are the schemas the service itself is documented with
 * (`lambdas/core/schemas.ts`, served as `GET /v1/openapi.json`). Every answer is checked before it is
 * used: an answer the command cannot read is a failure, never a reason to report `unknown`. Fields the
 * command does not know are dropped rather than refused, so a newer service does not break an older
 * command line.
 *
 * A record's `kind` is the one exception to the documented shapes: a newer service may name kinds this
 * command line does not know yet, so any kind name is taken and carried as the string the service sent
 * (shown as is). The types below still say `RecordKind`: the command line only ever shows a kind.
 */
export { createdUploadSchema, importReportSchema } from '../lambdas/core/schemas.js';

/** Any kind name, as bounded as the record's other labels (`stage`, `platform`). */
const anyKind = z.string().check(z.trim(), z.minLength(1), z.maxLength(64));

const recordViewSchema = z.extend(service.recordViewSchema, { kind: anyKind });
const memberMatchSchema = z.extend(service.memberMatchSchema, { matches: z.array(recordViewSchema) });
const insideSchema = z.extend(service.insideSchema, { matches: z.array(memberMatchSchema) });
const fileVerdictSchema = z.extend(service.fileVerdictSchema, {
  matches: z.array(recordViewSchema),
  inside: z.optional(insideSchema),
});
const hashVerdictSchema = z.extend(service.hashVerdictSchema, { match: z.nullable(recordViewSchema) });
const [, invalidHashResultSchema] = service.bulkResultSchema.def.options;

/** `POST /v1/files` → 200. */
export const filesAnswerSchema = z.object({ files: z.array(fileVerdictSchema) }) as unknown as typeof service.filesAnswerSchema;

/** `GET /v1/uploads/{uploadId}` → 200. */
export const uploadStatusSchema = z.extend(service.uploadStatusSchema, {
  file: z.nullable(fileVerdictSchema),
}) as unknown as typeof service.uploadStatusSchema;

/** `POST /v1/hashes/lookup` → 200. */
export const bulkAnswerSchema = z.object({
  results: z.array(z.union([z.extend(hashVerdictSchema, { input: z.string() }), invalidHashResultSchema])),
  summary: service.bulkSummarySchema,
}) as unknown as typeof service.bulkAnswerSchema;

/** A whole record, as the list holds one, of any kind. */
const recordInputSchema = z.extend(service.recordBodySchema, {
  kind: anyKind,
  derived: z.optional(z.extend(service.derivationSchema, { memberRecord: z.extend(service.derivationSchema.shape.memberRecord, { kind: anyKind }) })),
}).check(
  z.refine((r) => Boolean(r.sha256 || r.sha1 || r.md5), { message: 'a record needs at least one of sha256, sha1, md5' }),
);

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
 * its digests are the validated hashes a record holds; its kind may be one this command line does not know.
 * @throws ServiceError when the match is not a whole record.
 */
export function toKnownRecord(match: RecordView, what: string): KnownRecord {
  return readAnswer(recordInputSchema, match, what) as KnownRecord;
}
