import * as z from 'zod/v4-mini';
import en from 'zod/v4/locales/en.js';
import { parseHash, type HashAlgorithm, type HashHex } from './hashes.js';
import { INCOMPLETE_REASONS } from './inside/limits.js';

// The small build of zod carries no messages of its own; answers explain a refused field in English.
z.config(en());

/**
 * The shapes of the API, defined once: the TypeScript types of core, the request checks of the handlers,
 * the OpenAPI document (`GET /v1/openapi.json`), the command line's answer checks and the web form's types
 * all come from here. Free of Node so the web build can import it. An answer's object holds the fields
 * documented and no others (the contract test checks it); a client that checks answers drops fields it does
 * not know rather than refusing them, so a later version may add some. Error bodies may carry details.
 */

/** Documentation for the OpenAPI document: a component `id`, or words about a field. */
export type ApiSchemaMeta = {
  id?: string;
  description?: string;
  /** A number the schema checks with a refinement, stated for the document. */
  type?: 'integer';
};

/** Every schema with documentation; those with an `id` are the document's components. */
export const apiRegistry = z.registry<ApiSchemaMeta>();

function documented<S extends z.ZodMiniType>(schema: S, meta: ApiSchemaMeta): S {
  apiRegistry.add(schema, meta);
  return schema;
}

/**
 * Formats a failed check for an answer or a report: every issue as `path: message`, joined by `; `.
 * @param whole what to call the value itself when the issue is about all of it.
 */
export function describeIssues(
  error: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[] },
  whole = 'body',
): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || whole}: ${issue.message}`).join('; ');
}

const hex = (length: number) => z.string().check(z.regex(new RegExp(`^[0-9a-f]{${length}}$`)));
// Nested rather than alternatives: one pass over the text, where alternatives read a SHA-256 three times.
const anyHex = () => z.string().check(z.regex(/^[0-9a-f]{32}(?:[0-9a-f]{8}(?:[0-9a-f]{24})?)?$/));
const count = () => z.int().check(z.nonnegative());
const timestamp = () => z.iso.datetime();

/**
 * What kind of file a known-bad record describes. `container` is a file found bad through a member inside
 * it: such records are written by scans (marked `derived`), not imported.
 */
export const RECORD_KINDS = ['installer', 'library', 'executable', 'payload', 'stealer', 'test-file', 'other', 'container'] as const;
export const recordKindSchema = z.enum(RECORD_KINDS);
export type RecordKind = z.infer<typeof recordKindSchema>;

/** The feed formats an import takes; detected from the content unless the caller names one. */
export const IMPORT_FORMATS = ['jsonl', 'csv', 'plain', 'stix', 'misp'] as const;
export const importFormatSchema = z.enum(IMPORT_FORMATS);
export type ImportFormat = z.infer<typeof importFormatSchema>;

export const hashAlgorithmSchema = z.enum(['md5', 'sha1', 'sha256']) satisfies z.ZodMiniType<HashAlgorithm>;
export const verdictSchema = documented(z.enum(['malicious', 'unknown']), {
  description: '`unknown` means "not on the list", never "clean".',
});
export type Verdict = z.infer<typeof verdictSchema>;

// ---------------------------------------------------------------------------------------------- records

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

/** A digest field of a record as callers send it: any case, spaces around; stored trimmed and lower case. */
function digestOf(algorithm: HashAlgorithm) {
  return z.optional(
    z.pipe(
      documented(z.string(), { description: `The file's ${algorithm} in hex, any case; spaces around it are ignored.` }),
      z.transform((value, ctx): HashHex => {
        try {
          const parsed = parseHash(value);
          if (parsed.algorithm === algorithm) return parsed.hash;
          ctx.issues.push({ code: 'custom', message: `is a ${parsed.algorithm} digest, not ${algorithm}`, input: value });
        } catch (error) {
          ctx.issues.push({ code: 'custom', message: (error as Error).message, input: value });
        }
        return z.NEVER;
      }),
    ),
  );
}

const recordFields = {
  sha256: digestOf('sha256'),
  sha1: digestOf('sha1'),
  md5: digestOf('md5'),
  size: z.optional(z.int().check(z.nonnegative())),
  fileName: text(512),
  platform: text(64),
  version: text(128),
  kind: recordKindSchema,
  stage: text(64),
  campaign: text(256),
  confidence: text(32),
  sources: z.array(text(2048)).check(z.minLength(1), z.maxLength(100)),
  addedAt: z.optional(timestamp()),
};

// No length checks on what a scan writes (it cuts names itself): a stored record that failed its schema
// would make every lookup of its digests fail.
const memberPath = () => z.array(z.string());

/**
 * Where a derived record comes from: the member of the container whose digests matched, where it sits in the
 * container, the record it matched, when and by which scan it was found.
 */
export const derivationSchema = documented(
  z.object({
    member: z.object({ path: memberPath(), sha256: hex(64), sha1: hex(40), md5: hex(32) }),
    memberRecord: z.object({
      sha256: z.optional(hex(64)),
      sha1: z.optional(hex(40)),
      md5: z.optional(hex(32)),
      fileName: z.string(),
      campaign: z.string(),
      kind: recordKindSchema,
    }),
    at: timestamp(),
    scan: documented(z.string(), { description: 'The request id of the `POST /v1/files`, or the upload id, that found it.' }),
  }),
  {
    id: 'Derivation',
    description:
      'Present on records of kind `container` that a scan wrote: the file was found bad through a member inside it. Curated records never carry it.',
  },
);
export type Derivation = z.infer<typeof derivationSchema>;

/**
 * The body of `PUT /v1/admin/hashes/{hash}`: a record whose digest of the path's algorithm may be left
 * out, since the path carries it.
 */
export const recordBodySchema = documented(z.strictObject(recordFields), { id: 'RecordInput' });
export type RecordBody = z.output<typeof recordBodySchema>;

/**
 * One known-bad record as the list stores it (`data/known-bad.jsonl`, imports): at least one digest. A
 * record a scan derived from a member carries `derived`; an export of it imported elsewhere keeps it.
 */
export const recordInputSchema = z.strictObject({ ...recordFields, derived: z.optional(derivationSchema) }).check(
  z.refine((r) => Boolean(r.sha256 || r.sha1 || r.md5), { message: 'a record needs at least one of sha256, sha1, md5' }),
);

/** Who took a record off the list, when, and why. */
export const revocationSchema = z.object({ at: z.string(), by: z.string(), reason: z.string() });
export type Revocation = z.infer<typeof revocationSchema>;

/**
 * A known-bad file: every digest known for it (any may be missing, at least one is present) and where
 * the knowledge comes from. `size` is the file's size in bytes, where known (ClamAV databases match on
 * it); `addedAt` the ISO 8601 time the record entered the list; `revoked` is set when the record was
 * taken off the list: it is kept for the record, and no longer matches.
 */
export type KnownRecord = Readonly<Omit<z.output<typeof recordInputSchema>, 'sources'>> & {
  readonly sources: readonly string[];
  readonly revoked?: Revocation;
};

/** The public view of a record in API answers (`match`). */
export const recordViewSchema = documented(
  z.object({
    sha256: z.optional(hex(64)),
    sha1: z.optional(hex(40)),
    md5: z.optional(hex(32)),
    size: z.optional(documented(count(), { description: 'The size of the file in bytes, where known.' })),
    fileName: z.string(),
    platform: z.string(),
    version: z.string(),
    kind: recordKindSchema,
    stage: z.string(),
    campaign: z.string(),
    confidence: z.string(),
    sources: z.array(z.string()),
    addedAt: z.optional(timestamp()),
    derived: z.optional(derivationSchema),
  }),
  { id: 'Match', description: 'The known-bad record that matched, with every digest known for that file.' },
);
export type RecordView = z.infer<typeof recordViewSchema>;

/** A record as the admin API shows it: the public view plus its revocation, if any. */
export const adminRecordViewSchema = z.extend(recordViewSchema, { revoked: z.optional(revocationSchema) });
export type AdminRecordView = z.infer<typeof adminRecordViewSchema>;

// ---------------------------------------------------------------------------------------------- lookups

/** How many containers a member's lookup lists in `containedIn`. */
export const MAX_CONTAINED_IN = 20;

/** A container a known-bad file was found in: the container's digests and name, and where the file sat in it. */
export const containerSightingSchema = documented(
  z.object({
    sha256: hex(64),
    sha1: hex(40),
    md5: hex(32),
    size: count(),
    fileName: z.string(),
    path: memberPath(),
    seenAt: timestamp(),
  }),
  { id: 'ContainerSighting' },
);
export type ContainerSighting = z.infer<typeof containerSightingSchema>;

/** The answer for one valid hash (`GET /v1/hashes/{hash}`). */
export const hashVerdictSchema = documented(
  z.object({
    hash: documented(anyHex(), { description: 'The hash, trimmed and in lower case.' }),
    algorithm: hashAlgorithmSchema,
    verdict: verdictSchema,
    match: z.nullable(recordViewSchema),
    containedIn: z.optional(
      documented(z.array(containerSightingSchema), {
        description: `The containers a file of this hash was found in by scans, newest first, at most ${MAX_CONTAINED_IN}; given with a \`malicious\` verdict, absent when the file was seen in none.`,
      }),
    ),
  }),
  { id: 'HashVerdict' },
);
export type HashVerdict = z.infer<typeof hashVerdictSchema>;

/** The answer for one input of a bulk lookup: its verdict, or why it is not a hash. */
export const bulkResultSchema = documented(
  z.union([
    z.extend(hashVerdictSchema, { input: z.string() }),
    z.object({ input: z.string(), error: z.object({ code: z.literal('invalid_hash'), message: z.string() }) }),
  ]),
  { id: 'BulkResult' },
);
export type BulkResult = z.infer<typeof bulkResultSchema>;

export const bulkSummarySchema = z.object({ total: count(), malicious: count(), unknown: count(), invalid: count() });
export type BulkSummary = z.infer<typeof bulkSummarySchema>;

/** `POST /v1/hashes/lookup` → 200. */
export const bulkAnswerSchema = documented(z.object({ results: z.array(bulkResultSchema), summary: bulkSummarySchema }), {
  id: 'BulkAnswer',
});
export type BulkAnswer = z.infer<typeof bulkAnswerSchema>;

/**
 * The query of `POST /v1/hashes/lookup`: `only=malicious` leaves the `unknown` results out of the answer
 * (the summary still counts every input), for clients checking large feeds that need only the matches.
 */
export const bulkLookupQuerySchema = z.object({ only: z.optional(z.enum(['malicious'])) });

/** The JSON body of `POST /v1/hashes/lookup`; more hashes than the limit is a 413 from the handler, not a 400 from this check. */
export const bulkLookupBodySchema = documented(z.strictObject({ hashes: z.array(z.string()) }), { id: 'BulkLookupRequest' });

// ---------------------------------------------------------------------------------------------- files

/** Why a look inside a file was not complete (the same names as the limits and failures of look-inside). */
export const incompleteReasonSchema = documented(z.enum(INCOMPLETE_REASONS), {
  description:
    'A limit reached (`depth`, `members`, `bytes`, `ratio`, `time`), a member that could not be read (`encrypted`, `corrupt`, `unsupported`), or another container after a container\'s end, not opened (`trailing`).',
});

const memberPathSchema = documented(z.array(z.string()), {
  description:
    'The path chain from the file down to the member, one name per container opened, the file itself not included: `["setup.tar.gz", "setup.tar", "bin/ffmpeg.dll"]` inside a ZIP. `[]` is the file itself.',
});

/** A member of a container whose digests are on the list. */
export const memberMatchSchema = documented(
  z.object({ path: memberPathSchema, size: count(), md5: hex(32), sha1: hex(40), sha256: hex(64), matches: z.array(recordViewSchema) }),
  { id: 'MemberMatch' },
);
export type MemberMatch = z.infer<typeof memberMatchSchema>;

/** What looking inside a file found. */
export const insideSchema = documented(
  z.object({
    members: documented(count(), { description: 'Members digested and looked up, at every depth.' }),
    containers: documented(count(), { description: 'Containers opened, the file itself included when it is one.' }),
    complete: documented(z.boolean(), {
      description:
        '`false` when a limit stopped the look inside or a member could not be read: an `unknown` verdict then covers only what was read. A file that is no container is complete with 0 members.',
    }),
    reasons: z.array(z.object({ reason: incompleteReasonSchema, path: memberPathSchema })),
    matches: documented(z.array(memberMatchSchema), { description: 'The members on the list, each with its path; the file is then `malicious`.' }),
    matchesLeftOut: z.optional(
      documented(count(), {
        description:
          'A presigned upload\'s scan only, when its answer was larger than a scan keeps: how many member matches after those listed were left out. The verdict and the counts are whole.',
      }),
    ),
    reasonsLeftOut: z.optional(
      documented(count(), { description: 'As `matchesLeftOut`, for the reasons: how many after those listed were left out.' }),
    ),
  }),
  {
    id: 'Inside',
    description: 'What looking inside the file found; present wherever files are opened (`POST /v1/files`, presigned uploads), absent where only the file itself was digested.',
  },
);
export type Inside = z.infer<typeof insideSchema>;

/** The answer for one scanned file: its digests, the verdict and every known-bad record it matched. */
export const fileVerdictSchema = documented(
  z.object({
    fileName: z.nullable(z.string()),
    size: count(),
    md5: hex(32),
    sha1: hex(40),
    sha256: hex(64),
    verdict: verdictSchema,
    matches: z.array(recordViewSchema),
    mimePath: z.optional(
      documented(z.string(), {
        description: 'Attachments of a `message/rfc822` body only: the IMAP part number, e.g. `2`, or `3.2` inside a message attached as part 3.',
      }),
    ),
    contentType: z.optional(
      documented(z.string(), { description: 'Attachments of a `message/rfc822` body only: the media type the message gives.' }),
    ),
    inside: z.optional(insideSchema),
  }),
  { id: 'FileVerdict' },
);
export type FileVerdict = z.infer<typeof fileVerdictSchema>;

/** `POST /v1/files` → 200. */
export const filesAnswerSchema = documented(z.object({ files: z.array(fileVerdictSchema) }), { id: 'Files' });
export type FilesAnswer = z.infer<typeof filesAnswerSchema>;

// ---------------------------------------------------------------------------------------------- uploads

/** The body of `POST /v1/uploads`; a size over the limit is a 413 from core, not a 400 from this check. */
export const createUploadBodySchema = documented(
  z.strictObject({
    fileName: z.string().check(z.maxLength(1024)),
    size: documented(z.number().check(z.refine(Number.isInteger, { message: 'expected an integer' }), z.nonnegative()), {
      type: 'integer',
    }),
  }),
  { id: 'CreateUploadRequest' },
);
export type CreateUploadBody = z.output<typeof createUploadBodySchema>;

/** Where to send the file: a PUT for scripts, a form POST for browsers. */
export const presignedUploadSchema = z.object({
  put: documented(z.object({ url: z.url(), headers: z.record(z.string(), z.string()) }), {
    description: 'For scripts: `curl -T FILE "$url"` with these headers.',
  }),
  post: documented(z.object({ url: z.url(), fields: z.record(z.string(), z.string()) }), {
    description: 'For browsers: a multipart form POST to `url` with these fields, then the field `file` last.',
  }),
});
export type PresignedUpload = z.infer<typeof presignedUploadSchema>;

/** `POST /v1/uploads` → 201. */
export const createdUploadSchema = documented(
  z.object({ uploadId: z.string().check(z.minLength(1)), ...presignedUploadSchema.def.shape, expiresAt: timestamp(), maxBytes: count() }),
  { id: 'CreatedUpload' },
);
export type CreatedUpload = z.infer<typeof createdUploadSchema>;

export const scanStatusSchema = z.enum(['pending', 'done', 'failed']);
export type ScanStatus = z.infer<typeof scanStatusSchema>;

/** Why a scan failed, in words for the caller and a stable reason for programs. */
export const scanFailureReasonSchema = z.enum(['missing_object', 'too_large', 'read_error', 'scan_timeout']);
export type ScanFailureReason = z.infer<typeof scanFailureReasonSchema>;

/** `GET /v1/uploads/{uploadId}` → 200. */
export const uploadStatusSchema = documented(
  z.object({
    uploadId: z.string(),
    status: scanStatusSchema,
    file: z.nullable(fileVerdictSchema),
    error: z.optional(z.object({ code: scanFailureReasonSchema, message: z.string() })),
  }),
  { id: 'UploadStatus' },
);
export type UploadStatusView = z.infer<typeof uploadStatusSchema>;

// ---------------------------------------------------------------------------------------------- admin

/** The JSON body of `DELETE /v1/admin/hashes/{hash}`. */
export const revokeBodySchema = documented(z.strictObject({ reason: z.string() }), { id: 'RevokeRequest' });

/** `PUT` and `DELETE /v1/admin/hashes/{hash}` → 200 or 201. */
export const adminChangeSchema = documented(
  z.object({ outcome: z.enum(['added', 'updated', 'unchanged', 'revoked']), record: adminRecordViewSchema }),
  { id: 'AdminChange' },
);

/** One input that could not become a record, and why. `line` is null for JSON feeds (STIX, MISP). */
export const rejectedInputSchema = z.object({ line: z.nullable(z.int()), input: z.string(), reason: z.string() });
export type RejectedInput = z.infer<typeof rejectedInputSchema>;

/** `POST /v1/admin/imports` → 200. */
export const importReportSchema = documented(
  z.object({
    format: importFormatSchema,
    total: count(),
    added: count(),
    updated: count(),
    unchanged: count(),
    revoked: documented(count(), { description: 'Records left alone because they were revoked.' }),
    rejected: z.array(rejectedInputSchema),
  }),
  { id: 'ImportReport' },
);
export type ImportReportAnswer = z.infer<typeof importReportSchema>;

// ---------------------------------------------------------------------------------------------- the rest

/** Every error answer. */
export const ERROR_CODES = [
  'invalid_hash',
  'invalid_request',
  'unsupported_media_type',
  'payload_too_large',
  'not_found',
  'method_not_allowed',
  'unauthorized',
  'rate_limited',
  'upstream_unavailable',
  'internal',
] as const;
export const errorAnswerSchema = documented(
  z.object({ error: z.looseObject({ code: z.enum(ERROR_CODES), message: z.string(), requestId: z.string() }) }),
  { id: 'Error' },
);

/**
 * The body of a `303 See Other`: an answer too large for a deployed function's result, stored for a while
 * and fetched from `answer` (the `Location` header too) with a GET, which HTTP clients do by themselves.
 */
export const largeAnswerSchema = documented(
  z.object({
    answer: documented(z.url(), { description: 'Where the whole answer is: a link that works for 15 minutes, to GET without the API key.' }),
    bytes: documented(count(), { description: 'The size of the answer in bytes.' }),
  }),
  { id: 'LargeAnswer' },
);
export type LargeAnswer = z.infer<typeof largeAnswerSchema>;

export const virusTotalReportSchema = documented(
  z.object({
    response_code: z.literal(1),
    verbose_msg: z.string(),
    resource: z.string(),
    md5: z.optional(hex(32)),
    sha1: z.optional(hex(40)),
    sha256: z.optional(hex(64)),
    scan_date: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)),
    permalink: z.string(),
    positives: documented(z.int(), { description: 'Always 10 for a known-bad hash: the top score in every rspamd version.' }),
    total: z.int(),
  }),
  {
    id: 'VirusTotalReport',
    description:
      'The VirusTotal v2 `file/report` fields rspamd reads (`response_code`, `positives`, `total`) and the cheap ones VirusTotal clients expect.',
  },
);

/** What a VirusTotal v2 `file/report` answer carries for a known file; rspamd reads `positives` and `total`. */
export type VirusTotalReport = z.infer<typeof virusTotalReportSchema>;

export const metaDefenderReportSchema = documented(
  z.object({
    data_id: z.string(),
    file_info: z.object({
      md5: z.optional(z.string()),
      sha1: z.optional(z.string()),
      sha256: z.optional(z.string()),
      display_name: z.string(),
      file_size: z.optional(z.int()),
    }),
    scan_results: z.object({
      scan_all_result_i: z.literal(1),
      scan_all_result_a: z.literal('Infected'),
      total_avs: z.int(),
      total_detected_avs: z.int(),
      start_time: z.string(),
      scan_details: documented(
        z.record(z.string(), z.object({ threat_found: z.string(), scan_result_i: z.literal(1), def_time: z.string() })),
        { description: 'Ten entries, each with `threat_found` (the ClamAV-style signature name) and `scan_result_i: 1`.' },
      ),
    }),
  }),
  {
    id: 'MetaDefenderReport',
    description: 'The MetaDefender v4 hash fields rspamd reads: `scan_results.scan_all_result_i` and `threat_found` per engine.',
  },
);

/** What a MetaDefender v4 hash answer carries; rspamd reads `scan_all_result_i` and counts `threat_found`. */
export type MetaDefenderReport = z.infer<typeof metaDefenderReportSchema>;

/** The JSON export: the records as lookups show them, plus their ClamAV names. */
export const iocExportSchema = documented(
  z.object({
    name: z.string(),
    updatedAt: z.nullable(z.string()),
    count: count(),
    records: z.array(z.extend(recordViewSchema, { clamavName: z.string() })),
  }),
  { id: 'IocExport' },
);

export type IocDocument = z.infer<typeof iocExportSchema>;

export const healthSchema = documented(z.object({ status: z.literal('ok'), service: z.literal('hashcheck') }), { id: 'Health' });
