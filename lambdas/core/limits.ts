/**
 * The service's size and count limits, defined once: the route table, the handlers, the command line
 * and the web form all import them from here. Free of Node imports, so the web build can import it.
 */

/** 1 MiB. */
export const MIB = 1024 * 1024;

/** Inline uploads (`POST /v1/files`): API Gateway takes 10 MB and Lambda 6 MB, and base64 adds a third. */
export const INLINE_UPLOAD_BYTES = 4 * MIB;

/** File parts one inline multipart body may carry. */
export const MAX_INLINE_FILES = 20;

/**
 * Text bodies (bulk lists, imports): the body reaches Lambda inside a JSON event of at most 6 MB, where
 * escaping can grow it, so 4 MiB is what is sure to arrive.
 */
export const LARGE_TEXT_BODY_BYTES = 4 * MIB;

/** Bulk lookups: up to 10,000 hashes, each possibly followed by a file path (`sha256sum` output). */
export const MAX_BULK_HASHES = 10_000;

/** The JSON body of `POST /v1/uploads` (a file name and a size). */
export const CREATE_UPLOAD_BODY_BYTES = 16 * 1024;

/** The JSON body of one record for `PUT`/`DELETE /v1/admin/hashes/{hash}`. */
export const RECORD_BODY_BYTES = 64 * 1024;

/**
 * The most a synchronous Lambda function may return: its whole result (status, headers and the body as a
 * JSON string, escapes included) must fit, or API Gateway answers 502 instead.
 */
export const LAMBDA_RESULT_BYTES = 6 * MIB;

/**
 * A deployed answer whose Lambda result would be larger than this is stored and answered with a redirect
 * to it (`303 See Other`) instead: 2 MiB below Lambda's limit leaves room for the headers. 10,000 bulk
 * results of long records come to several times this.
 */
export const LARGE_ANSWER_BYTES = 4 * MIB;

/** How long the link to a stored large answer works: the client follows it at once. */
export const LARGE_ANSWER_URL_SECONDS = 15 * 60;
