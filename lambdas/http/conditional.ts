import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from './request.js';

/** What a representation is validated by. */
export interface Validators {
  /** The entity tag, weak or strong, with its quotes (`W/"…"`). */
  readonly etag: string;
  /** The last change, to the second. */
  readonly lastModified: Date;
}

/** An entity tag without its weakness prefix: `If-None-Match` compares weakly (RFC 9110 13.1.2). */
function opaque(tag: string): string {
  const trimmed = tag.trim();
  return trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed;
}

/**
 * Whether a GET or HEAD may be answered 304 Not Modified (RFC 9110 13.2.2): `If-None-Match`, when sent,
 * decides alone, and matches when any listed tag (or `*`) matches weakly; otherwise `If-Modified-Since`
 * matches when the representation has not changed since that date. A date that does not parse is ignored.
 */
export function isNotModified(event: APIGatewayProxyEvent, validators: Validators): boolean {
  return isNotModifiedBy({ ifNoneMatch: header(event, 'if-none-match'), ifModifiedSince: header(event, 'if-modified-since') }, validators);
}

/** The request's preconditions, as its `If-None-Match` and `If-Modified-Since` headers give them. */
export interface Preconditions {
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
}

/** `isNotModified` for preconditions read by any server (an event's headers, a Node request's). */
export function isNotModifiedBy({ ifNoneMatch, ifModifiedSince }: Preconditions, validators: Validators): boolean {
  if (ifNoneMatch !== undefined) {
    const wanted = opaque(validators.etag);
    return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === wanted);
  }
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && validators.lastModified.getTime() <= since;
}

/** The validator headers every answer of a validated representation carries, 304s included. */
export function validatorHeaders(validators: Validators): Record<string, string> {
  return { etag: validators.etag, 'last-modified': validators.lastModified.toUTCString() };
}
