import type { APIGatewayProxyEvent } from 'aws-lambda';
import type * as z from 'zod/v4-mini';
import { InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../core/errors.js';
import { describeIssues } from '../core/schemas.js';

/** A header value by case-insensitive name (API Gateway keeps the client's case). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * A header that carries text such as a file name, with its characters as the client sent them. Header
 * bytes reach Node (and the local server's events) as Latin-1, so a raw UTF-8 name arrives as mojibake
 * (`rÃ©sumÃ©`): when the value is Latin-1 whose bytes are valid UTF-8, it is read as UTF-8. An RFC 8187
 * extended value (`UTF-8''r%C3%A9sum%C3%A9.pdf`, as in `filename*`) is percent-decoded.
 */
export function textHeader(event: APIGatewayProxyEvent, name: string): string | undefined {
  const value = header(event, name);
  if (value === undefined) return undefined;
  const extended = /^utf-8'[a-z0-9-]*'(.*)$/i.exec(value.trim());
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      return value;
    }
  }
  // eslint-disable-next-line no-control-regex
  if (!/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
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

/** Parses a JSON body without judging its shape; malformed JSON is `invalid_request`. */
export function jsonValue(event: APIGatewayProxyEvent, maxBytes: number): unknown {
  const text = bodyText(event, maxBytes);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`The body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Checks a request's value against the route's schema; a mismatch is `invalid_request` naming every field
 * that is wrong.
 * @param problem how the message starts, saying what was checked.
 */
export function checkInput<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  problem = 'The JSON body does not have the expected shape',
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequestError(`${problem}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Parses a JSON body and validates it with the route's schema; both failures are `invalid_request`. */
export function jsonBody<S extends z.ZodMiniType>(event: APIGatewayProxyEvent, schema: S, maxBytes: number): z.output<S> {
  return checkInput(schema, jsonValue(event, maxBytes));
}
