import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { readRecordFile } from '../../lambdas/adapters/seed-file.js';
import { importRecords } from '../../lambdas/core/import.js';
import { makeLookupHandler } from '../../lambdas/handlers/lookup.js';
import { SEED_FILE } from '../../local/server.js';
import { startFaultyDynamoDb, type FaultyDynamoDb } from '../support/faulty-dynamodb.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, getHashEvent, lookupEvent, memoryLog } from '../support/events.js';

const MSI_SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
let proxy: FaultyDynamoDb;
let handler: ReturnType<typeof makeLookupHandler>;
let log: ReturnType<typeof memoryLog>;

beforeAll(async () => {
  emulator = await startTestDynamoDb();
  const tableName = await createKnownHashesTable(emulator.client);
  await importRecords(await readRecordFile(SEED_FILE), {
    store: new DynamoDbHashStore(emulator.client, { tableName }),
    now: () => new Date(),
  });
  proxy = await startFaultyDynamoDb(emulator.dynamoDb.endpoint);
  const client = makeDynamoDbClient({ endpoint: proxy.endpoint });
  log = memoryLog();
  handler = makeLookupHandler({ store: new DynamoDbHashStore(client, { tableName, readDeadlineMs: 300 }), log });
});

afterAll(async () => {
  await proxy.close();
  await emulator.close();
});

beforeEach(() => {
  proxy.mode = 'pass';
  log.lines.length = 0;
});

const json = (result: { body: string }) => JSON.parse(result.body);

describe('GET /v1/hashes/{hash}', () => {
  it('answers malicious with the matched record for a known SHA-256', async () => {
    const result = await handler(fixtureEvent('api-gateway-get-hash'));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toMatch(/^application\/json/);
    expect(json(result)).toMatchObject({
      hash: MSI_SHA256,
      algorithm: 'sha256',
      verdict: 'malicious',
      match: { fileName: '3cxdesktopapp-18.12.407.msi', md5: MSI_MD5, campaign: expect.stringContaining('3CX') },
    });
  });

  it('answers 400 invalid_hash for a known hash followed by a line feed (%0A), never its verdict', async () => {
    const result = await handler(getHashEvent(`${MSI_MD5}\n`));
    expect(result.statusCode).toBe(400);
    expect(json(result).error.code).toBe('invalid_hash');
  });

  it('answers 400 invalid_hash with the request id for a malformed hash', async () => {
    const result = await handler(getHashEvent('xyz'));
    expect(result.statusCode).toBe(400);
    expect(json(result)).toEqual({
      error: { code: 'invalid_hash', message: expect.stringMatching(/hex/), requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' },
    });
  });

  it('answers 503 upstream_unavailable, never unknown, when the store is throttling', async () => {
    proxy.mode = 'throttle';
    const result = await handler(getHashEvent('0'.repeat(64)));
    expect(result.statusCode).toBe(503);
    expect(json(result).error.code).toBe('upstream_unavailable');
    expect(result.body).not.toContain('unknown');
    expect(log.lines.some((l) => l.level === 'error')).toBe(true);
  });
});

describe('POST /v1/hashes/lookup', () => {
  it('answers a JSON list in input order with a summary', async () => {
    const result = await handler(lookupEvent(JSON.stringify({ hashes: [` ${MSI_MD5.toUpperCase()} `, 'nope', '0'.repeat(40)] })));
    expect(result.statusCode).toBe(200);
    const body = json(result);
    expect(body.results.map((r: { verdict?: string; error?: { code: string } }) => r.verdict ?? r.error?.code)).toEqual([
      'malicious',
      'invalid_hash',
      'unknown',
    ]);
    expect(body.results[0].input).toBe(` ${MSI_MD5.toUpperCase()} `);
    expect(body.summary).toEqual({ total: 3, malicious: 1, unknown: 1, invalid: 1 });
  });

  it('leaves the unknown results out with ?only=malicious, keeping the known-bad and invalid ones in input order and every count', async () => {
    const event = lookupEvent(JSON.stringify({ hashes: ['0'.repeat(64), MSI_MD5, 'nope', '1'.repeat(32), MSI_SHA256] }));
    const result = await handler({ ...event, queryStringParameters: { only: 'malicious' } });
    expect(result.statusCode).toBe(200);
    const body = json(result);
    expect(body.results.map((r: { input: string; verdict?: string; error?: { code: string } }) => [r.input, r.verdict ?? r.error?.code])).toEqual([
      [MSI_MD5, 'malicious'],
      ['nope', 'invalid_hash'],
      [MSI_SHA256, 'malicious'],
    ]);
    expect(body.summary).toEqual({ total: 5, malicious: 2, unknown: 2, invalid: 1 });
  });

  it('answers 400 invalid_request for an only= other than malicious, and ignores query parameters it does not know', async () => {
    const event = lookupEvent(JSON.stringify({ hashes: [MSI_MD5, '0'.repeat(32)] }));
    const refused = await handler({ ...event, queryStringParameters: { only: 'unknown' } });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('only') });
    const ignored = await handler({ ...event, queryStringParameters: { cacheBuster: '1' } });
    expect(json(ignored).summary).toEqual({ total: 2, malicious: 1, unknown: 1, invalid: 0 });
    expect(json(ignored).results).toHaveLength(2);
  });

  it('takes text/plain with CRLF, comments and blank lines', async () => {
    const text = `# EDR export\r\n${MSI_SHA256}\r\n\r\n${MSI_MD5}\r\n`;
    const body = json(await handler(lookupEvent(text, 'text/plain; charset=utf-8')));
    expect(body.summary).toEqual({ total: 2, malicious: 2, unknown: 0, invalid: 0 });
  });

  it('takes a base64-encoded body as API Gateway may pass it', async () => {
    const body = json(await handler(lookupEvent(Buffer.from(MSI_MD5).toString('base64'), 'text/plain', true)));
    expect(body.summary.malicious).toBe(1);
  });

  it.each([
    ['garbage JSON', '{"hashes": [', 'application/json', 400, 'invalid_request'],
    ['JSON of the wrong shape', '{"hash": "abc"}', 'application/json', 400, 'invalid_request'],
    ['a list of numbers', '{"hashes": [1, 2]}', 'application/json', 400, 'invalid_request'],
    ['a form body', 'hashes=abc', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['no content type', MSI_MD5, '', 415, 'unsupported_media_type'],
  ])('rejects %s with a clear error', async (_name, body, type, status, code) => {
    const result = await handler(lookupEvent(body, type));
    expect(result.statusCode).toBe(status);
    expect(json(result).error.code).toBe(code);
    expect(json(result).error.message.length).toBeGreaterThan(10);
  });

  it('answers a hash followed by CRLF, LF or a tab and spaces in a text list: the line end is not part of the entry', async () => {
    const body = json(await handler(lookupEvent(`${MSI_MD5}\r\n${MSI_SHA256} \t\n${MSI_MD5}`, 'text/plain')));
    expect(body.summary).toEqual({ total: 3, malicious: 3, unknown: 0, invalid: 0 });
  });

  it('reports a JSON entry holding a line break as invalid_hash, in place', async () => {
    const body = json(await handler(lookupEvent(JSON.stringify({ hashes: [`${MSI_MD5}\n`, `${MSI_MD5}\r`, MSI_MD5] }))));
    expect(body.results.map((r: { verdict?: string; error?: { code: string } }) => r.verdict ?? r.error?.code)).toEqual([
      'invalid_hash',
      'invalid_hash',
      'malicious',
    ]);
  });

  it.each([
    ['an empty JSON list', '{"hashes":[]}', 'application/json'],
    ['an empty text body', '', 'text/plain'],
    ['a text body of blank lines and comments', '# EDR export, 0 rows\r\n\r\n   \r\n', 'text/plain'],
  ])('answers 400 invalid_request "no hash" for %s, never an empty 200', async (_name, body, type) => {
    const result = await handler(lookupEvent(body, type));
    expect(result.statusCode).toBe(400);
    expect(json(result).error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('no hash') });
  });

  it.each([
    ['utf-16', 'text/plain; charset=utf-16', Buffer.from(`\ufeff${MSI_MD5}\r\n`, 'utf16le')],
    ['UTF-16LE', 'text/plain;charset="UTF-16LE"', Buffer.from(`${MSI_MD5}\r\n`, 'utf16le')],
    ['iso-8859-1', 'application/json; charset=iso-8859-1', Buffer.from(JSON.stringify({ hashes: [MSI_MD5] }), 'latin1')],
  ])('answers 415 unsupported_media_type naming charset %s and what is accepted', async (charset, type, bytes) => {
    const result = await handler(lookupEvent(bytes.toString('utf8'), type));
    expect(result.statusCode).toBe(415);
    expect(json(result).error).toMatchObject({ code: 'unsupported_media_type', acceptedCharsets: ['utf-8', 'us-ascii'] });
    expect(json(result).error.message).toContain(`charset '${charset}'`);
    expect(json(result).error.message).toContain('UTF-8');
  });

  it('answers 415 for UTF-16 sent without a charset, as PowerShell writes it, rather than a list of invalid lines', async () => {
    const utf16 = Buffer.from(`${MSI_MD5}\r\n${MSI_SHA256}\r\n`, 'utf16le');
    for (const event of [lookupEvent(utf16.toString('utf8'), 'text/plain'), lookupEvent(utf16.toString('base64'), 'text/plain', true)]) {
      const result = await handler(event);
      expect(result.statusCode).toBe(415);
      expect(json(result).error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('UTF-16') });
    }
  });

  it.each(['text/plain; charset=utf-8', 'text/plain; charset="UTF-8"', 'text/plain; charset=us-ascii', 'application/json; charset=utf8'])(
    'takes a body declared as %s',
    async (type) => {
      const body = type.startsWith('application/json') ? JSON.stringify({ hashes: [MSI_MD5] }) : MSI_MD5;
      const result = await handler(lookupEvent(body, type));
      expect(result.statusCode).toBe(200);
      expect(json(result).summary.malicious).toBe(1);
    },
  );

  it('answers 413 payload_too_large, naming the limit, for 10,001 hashes', async () => {
    const hashes = Array.from({ length: 10_001 }, (_, i) => i.toString(16).padStart(32, '0'));
    const result = await handler(lookupEvent(JSON.stringify({ hashes })));
    expect(result.statusCode).toBe(413);
    expect(json(result).error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('10000') });
  });

  it('answers 503 when unprocessed keys never resolve, never a list of unknowns', async () => {
    proxy.mode = 'unprocessed';
    const result = await handler(lookupEvent(JSON.stringify({ hashes: [MSI_MD5, '0'.repeat(64)] })));
    expect(result.statusCode).toBe(503);
    expect(json(result).error.code).toBe('upstream_unavailable');
    expect(result.headers?.['retry-after']).toBe('1');
  });
});
