import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { EICAR_RECORD } from '../support/reference.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import { makeGatewayCompatHandler } from '../../lambdas/handlers/gateway-compat.js';
import { fixtureEvent, memoryLog } from '../support/events.js';

const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f' as HashHex;
const UNKNOWN_MD5 = '0'.repeat(32);

const RECORD = EICAR_RECORD;

/** A store that knows the EICAR MD5 and counts what it is asked, so a refused request is seen to ask nothing. */
function countingStore() {
  const asked: string[] = [];
  const store: HashStore = {
    getMany: async (hashes) => {
      asked.push(...hashes);
      return new Map(hashes.filter((h) => h === EICAR_MD5).map((h) => [h, RECORD] as const));
    },
  };
  return { store, asked };
}

/**
 * `GET /vtapi/v2/file/report` as API Gateway passes it: every value of a repeated parameter in
 * `multiValueQueryStringParameters`, only the last one in `queryStringParameters`.
 */
function reportEvent(query: [string, string][]): APIGatewayProxyEvent {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of query) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return fixtureEvent('api-gateway-get-hash', {
    resource: '/vtapi/v2/file/report',
    path: '/vtapi/v2/file/report',
    pathParameters: null,
    queryStringParameters: single,
    multiValueQueryStringParameters: multi,
  });
}

const json = (result: { body: string }) => JSON.parse(result.body);

describe('GET /vtapi/v2/file/report', () => {
  const { store, asked } = countingStore();
  const handler = makeGatewayCompatHandler({ store, log: memoryLog(), now: () => new Date('2026-01-01T00:00:00Z') });

  it('answers a known-bad MD5 with a report when resource and apikey are given once', async () => {
    const result = await handler(reportEvent([['apikey', 'k'], ['resource', EICAR_MD5]]));
    expect(result.statusCode).toBe(200);
    expect(json(result)).toMatchObject({ response_code: 1, resource: EICAR_MD5 });
  });

  it.each([
    ['two resources, the first known-bad', [['apikey', 'k'], ['resource', EICAR_MD5], ['resource', UNKNOWN_MD5]]],
    ['two resources, the last known-bad', [['apikey', 'k'], ['resource', UNKNOWN_MD5], ['resource', EICAR_MD5]]],
    ['the same resource twice', [['apikey', 'k'], ['resource', EICAR_MD5], ['resource', EICAR_MD5]]],
    ['two apikeys', [['apikey', 'k'], ['apikey', 'other'], ['resource', EICAR_MD5]]],
  ] as [string, [string, string][]][])('answers 400 invalid_request, looking nothing up, for %s', async (_name, query) => {
    asked.length = 0;
    const result = await handler(reportEvent(query));
    expect(result.statusCode).toBe(400);
    expect(json(result).error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/given 2 times/) });
    expect(asked).toEqual([]);
  });

  it.each([
    ['a line feed', `${EICAR_MD5}\n`],
    ['a CRLF', `${EICAR_MD5}\r\n`],
    ['a form feed', `${EICAR_MD5}\f`],
  ])('answers 400 invalid_hash for a resource ending in %s, never the report of the hash before it', async (_name, resource) => {
    const result = await handler(reportEvent([['apikey', 'k'], ['resource', resource]]));
    expect(result.statusCode).toBe(400);
    expect(json(result).error.code).toBe('invalid_hash');
  });

  it('still takes a resource with spaces and tabs around it', async () => {
    const result = await handler(reportEvent([['apikey', 'k'], ['resource', ` \t${EICAR_MD5} `]]));
    expect(result.statusCode).toBe(200);
  });
});

describe('GET /v4/hash/{hash}', () => {
  const handler = makeGatewayCompatHandler({ store: countingStore().store, log: memoryLog(), now: () => new Date() });

  it('answers 400 invalid_hash for a hash followed by a line break (%0A in the path)', async () => {
    const hash = `${EICAR_MD5}\n`;
    const result = await handler(fixtureEvent('api-gateway-get-hash', { resource: '/v4/hash/{hash}', path: '/v4/hash/x', pathParameters: { hash } }));
    expect(result.statusCode).toBe(400);
    expect(json(result).error.code).toBe('invalid_hash');
  });
});
