import {
  AppError,
  ForbiddenError,
  InvalidHashError,
  InvalidRecordError,
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  UpstreamUnavailableError,
} from '../core/errors.js';

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string } & Record<string, unknown>;
}

/** The one table from error class to HTTP status. Anything not listed is a 500 `internal`. */
const STATUS_BY_ERROR: ReadonlyArray<readonly [abstract new (...args: never[]) => AppError, number]> = [
  [InvalidHashError, 400],
  [InvalidRequestError, 400],
  [InvalidRecordError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [MethodNotAllowedError, 405],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [RateLimitedError, 429],
  [UpstreamUnavailableError, 503],
];

export interface MappedError {
  statusCode: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/**
 * Maps any thrown value to a status and a stable body. Messages of `AppError`s are written for callers;
 * anything else becomes `internal` with a generic message, so no internals leak.
 */
export function mapError(error: unknown, requestId: string): MappedError {
  if (error instanceof AppError) {
    const statusCode = STATUS_BY_ERROR.find(([type]) => error instanceof type)?.[1] ?? 500;
    const headers: Record<string, string> = {};
    if (error instanceof MethodNotAllowedError) headers['allow'] = error.allow.join(', ');
    if (error instanceof UpstreamUnavailableError || error instanceof RateLimitedError) headers['retry-after'] = '1';
    return {
      statusCode,
      headers,
      body: { error: { code: error.code, message: error.message, requestId, ...error.details } },
    };
  }
  return {
    statusCode: 500,
    headers: {},
    body: {
      error: {
        code: 'internal',
        message: 'The service failed to answer this request. It has been logged; try again later.',
        requestId,
      },
    },
  };
}
