import { describe, expect, it } from 'vitest';
import { isNotModified, validatorHeaders } from '../../lambdas/http/conditional.js';
import { fixtureEvent } from '../support/events.js';

const validators = { etag: 'W/"abc123"', lastModified: new Date('2026-01-02T03:04:05Z') };
const withHeaders = (headers: Record<string, string>) => fixtureEvent('api-gateway-get-hash', { headers });

describe('isNotModified', () => {
  it.each([
    ['the same weak tag', 'W/"abc123"'],
    ['the tag without its weakness prefix', '"abc123"'],
    ['the tag among others', '"zzz", W/"abc123"'],
    ['a star', '*'],
  ])('matches If-None-Match with %s', (_name, value) => {
    expect(isNotModified(withHeaders({ 'If-None-Match': value }), validators)).toBe(true);
  });

  it('does not match another tag, and then ignores If-Modified-Since', () => {
    const event = withHeaders({ 'if-none-match': 'W/"other"', 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' });
    expect(isNotModified(event, validators)).toBe(false);
  });

  it.each([
    ['the Last-Modified date itself', 'Fri, 02 Jan 2026 03:04:05 GMT', true],
    ['a later date', 'Sat, 03 Jan 2026 00:00:00 GMT', true],
    ['an earlier date', 'Fri, 02 Jan 2026 03:04:04 GMT', false],
    ['a date that does not parse', 'yesterday', false],
  ])('answers If-Modified-Since with %s', (_name, value, expected) => {
    expect(isNotModified(withHeaders({ 'If-Modified-Since': value }), validators)).toBe(expected);
  });

  it('is false without validators in the request', () => {
    expect(isNotModified(withHeaders({}), validators)).toBe(false);
  });
});

describe('validatorHeaders', () => {
  it('gives the ETag and an HTTP date', () => {
    expect(validatorHeaders(validators)).toEqual({ etag: 'W/"abc123"', 'last-modified': 'Fri, 02 Jan 2026 03:04:05 GMT' });
  });
});
