/**
 * Typed errors of the domain. Each carries a stable machine-readable `code`; the HTTP layer maps
 * classes to status codes in one table (`lambdas/http/errors.ts`), so nothing else needs to know them.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  /** Extra fields that are safe to show to the caller (never internals). */
  readonly details?: Record<string, unknown>;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

/** A hash that is not 32, 40 or 64 hexadecimal characters. */
export class InvalidHashError extends AppError {
  readonly code = 'invalid_hash';
}

/** A request whose shape is wrong: garbage JSON, a missing field, a malformed multipart body. */
export class InvalidRequestError extends AppError {
  readonly code = 'invalid_request';
}

/** A body of a content type the route does not take. */
export class UnsupportedMediaTypeError extends AppError {
  readonly code = 'unsupported_media_type';
}

/** A body or a list past the documented limit. */
export class PayloadTooLargeError extends AppError {
  readonly code = 'payload_too_large';
}

/** A route, an upload or a record that does not exist. */
export class NotFoundError extends AppError {
  readonly code = 'not_found';
}

/** A known route called with a method it does not serve. */
export class MethodNotAllowedError extends AppError {
  readonly code = 'method_not_allowed';
  constructor(
    message: string,
    readonly allow: readonly string[],
  ) {
    super(message, { details: { allow } });
  }
}

/** No credentials, or credentials that are not accepted. */
export class UnauthorizedError extends AppError {
  readonly code = 'unauthorized';
}

/** Credentials were sent but are not accepted here (a wrong key, or a lookup key on an admin route). */
export class ForbiddenError extends AppError {
  readonly code = 'unauthorized';
}

/** The caller is sending too fast. */
export class RateLimitedError extends AppError {
  readonly code = 'rate_limited';
}

/**
 * The store could not answer in time: errors, throttling that outlasted the retries, or unprocessed keys
 * that never resolved. Callers must fail closed on it: never turn it into an `unknown` verdict.
 */
export class UpstreamUnavailableError extends AppError {
  readonly code = 'upstream_unavailable';
}

/** A record that breaks the data rules (seed list, imports). */
export class InvalidRecordError extends AppError {
  readonly code = 'invalid_record';
}
