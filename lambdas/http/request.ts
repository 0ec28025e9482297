import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { z } from 'zod';
import { InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../core/errors.js';

/** A header value by case-insensitive name (API Gateway keeps the client's case). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** The media type of the body, lower case, without parameters; `undefined` when there is none. */
export function mediaType(event: APIGatewayProxyEvent): string | undefined {
  const value = header(event, 'content-type');
  if (!value) return undefined;
  return value.split(';')[0]!.trim().toLowerCase() || undefined;
}

/**
 * Checks the body's media type against those the route takes, before anything reads the body.
 * @returns the matching media type.
 */
export function requireMediaType<T extends string>(event: APIGatewayProxyEvent, accepted: readonly T[]): T {
  const type = mediaType(event);
  const match = accepted.find((candidate) => candidate === type);
  if (match === undefined) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${type ? `'${type}'` : 'is missing'}${type ? ' is not accepted' : ''}: send ${accepted.join(' or ')}.`,
      { details: { accepted } },
    );
  }
  return match;
}

/** The raw body bytes, whether API Gateway passed them as text or base64. */
export function bodyBytes(event: APIGatewayProxyEvent, maxBytes: number, tooLargeHint = ''): Buffer {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > maxBytes) {
    throw new PayloadTooLargeError(`The body is ${bytes.length} bytes; the limit is ${maxBytes} bytes.${tooLargeHint}`, {
      details: { limitBytes: maxBytes },
    });
  }
  return bytes;
}

/** The body as UTF-8 text, rejecting bytes that are not valid UTF-8. */
export function bodyText(event: APIGatewayProxyEvent, maxBytes: number): string {
  const bytes = bodyBytes(event, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new InvalidRequestError('The body is not valid UTF-8 text.', { cause: error });
  }
}

/** Parses a JSON body and validates it with a schema; both failures are `invalid_request`. */
export function jsonBody<S extends z.ZodTypeAny>(event: APIGatewayProxyEvent, schema: S, maxBytes: number): z.output<S> {
  const text = bodyText(event, maxBytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`The body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const detail = result.error.issues
      .map((issue: z.ZodIssue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ');
    throw new InvalidRequestError(`The JSON body does not have the expected shape: ${detail}`);
  }
  return result.data;
}
