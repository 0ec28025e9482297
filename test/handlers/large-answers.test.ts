import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../cli/service-client.js';
import { S3AnswerStore } from '../../lambdas/adapters/s3-answer-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { LAMBDA_RESULT_BYTES, MAX_BULK_HASHES } from '../../lambdas/core/limits.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import { largeAnswerSchema, type FileVerdict, type KnownRecord } from '../../lambdas/core/schemas.js';
import type { ScanRecord, ScanStore } from '../../lambdas/core/uploads.js';
import { makeLookupHandler } from '../../lambdas/handlers/lookup.js';
import { makeUploadStatusHandler } from '../../lambdas/handlers/upload-status.js';
import { makeHttpHandler, resultBytes, type LargeAnswerStore } from '../../lambdas/http/handler.js';
import { buildOpenApiDocument } from '../../lambdas/http/openapi.js';
import { fixtureEvent, getHashEvent, lookupEvent, memoryLog } from '../support/events.js';
import { checkSchema } from '../support/json-schema.js';

const BUCKET = 'hashcheck-answers';

/** `length` characters of which half need escaping in JSON (`"` and `\`), so each escape layer grows them. */
function longText(length: number, seed: number): string {
  return `${seed}:${'"\\ab'.repeat(length)}`.slice(0, length);
}

const hexOf = (n: number, length: number) => n.toString(16).padStart(length, '0');

/** Record `n` with every text field at the longest the record schema allows and a 2,048-character source. */
function longestRecord(n: number): KnownRecord {
  return {
    sha256: hexOf(n, 64) as HashHex,
    sha1: hexOf(n, 40) as HashHex,
    md5: hexOf(n, 32) as HashHex,
    size: Number.MAX_SAFE_INTEGER,
    fileName: longText(512, n),
    platform: longText(64, n),
    version: longText(128, n),
    kind: 'installer',
    stage: longText(64, n),
    campaign: longText(256, n),
    confidence: longText(32, n),
    sources: [longText(2048, n)],
    addedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** A list that knows every hash it is asked for, each as its own longest record. */
const everyHashKnown: HashStore = {
  async getMany(hashes) {
    return new Map(hashes.map((hash) => [hash, longestRecord(Number.parseInt(hash.slice(-8), 16))]));
  },
};

/** The worst bulk lookup: the most hashes a request may hold, every one a distinct match. */
const worstList = Array.from({ length: MAX_BULK_HASHES }, (_, i) => hexOf(i + 1, 64)).join('\n');

/** Counts what it is asked to store and stores it with `inner`. */
function counting(inner: LargeAnswerStore) {
  const stored: string[] = [];
  return {
    stored,
    put: (body: string, contentType: string) => {
      stored.push(body);
      return inner.put(body, contentType);
    },
  };
}

/** An HTTP server that hands each request to `handler` as API Gateway does, and answers with its result. */
async function serveHandler(handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>): Promise<{ url: URL; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const result = await handler(lookupEvent(Buffer.concat(chunks).toString('utf8'), String(req.headers['content-type'])));
    res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`), server };
}

describe('answers too large for a function result', () => {
  let dir: string;
  let s3: S3rver;
  let answers: S3AnswerStore;
  let storeless: APIGatewayProxyResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-answers-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    const { port } = await s3.run();
    answers = new S3AnswerStore({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
    });
    // The same lookup answered by a function with nowhere to put large answers, as the local server is.
    storeless = await makeLookupHandler({ store: everyHashKnown, log: memoryLog() })(lookupEvent(worstList, 'text/plain'));
  });

  afterAll(async () => {
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('would be over the 6 MB a function may return without the redirect, as the worst bulk lookup is', () => {
    expect(storeless.statusCode).toBe(200);
    expect(resultBytes(storeless)).toBeGreaterThan(LAMBDA_RESULT_BYTES);
  });

  it('answers the worst bulk lookup 303 with a result far under 6 MB, whose Location holds the whole answer', async () => {
    const store = counting(answers);
    const result = await makeLookupHandler({ store: everyHashKnown, log: memoryLog(), largeAnswers: store })(lookupEvent(worstList, 'text/plain'));

    expect(result.statusCode).toBe(303);
    expect(resultBytes(result)).toBeLessThan(16 * 1024);
    const moved = largeAnswerSchema.parse(JSON.parse(result.body));
    expect(result.headers?.['location']).toBe(moved.answer);
    expect(result.headers?.['content-type']).toBe('application/json; charset=utf-8');
    expect(moved.bytes).toBe(Buffer.byteLength(storeless.body));
    expect(store.stored).toHaveLength(1);
    const document = buildOpenApiDocument() as any;
    const documented = document.paths['/v1/hashes/lookup'].post.responses['303'];
    expect(checkSchema(moved, documented.content['application/json'].schema, document)).toEqual([]);

    // Followed with a plain GET and no credentials, as a client does.
    const followed = await fetch(moved.answer);
    expect(followed.status).toBe(200);
    expect(followed.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await followed.text()).toBe(storeless.body);
  });

  it('is followed by fetch to the whole answer, as by the command line and the web form', async () => {
    const handler = makeLookupHandler({ store: everyHashKnown, log: memoryLog(), largeAnswers: answers });
    const { url, server } = await serveHandler(handler);
    try {
      const response = await fetch(new URL('v1/hashes/lookup', url), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: worstList });
      expect(response.redirected).toBe(true);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(JSON.parse(storeless.body));

      const client = new ServiceClient({ url, timeoutMs: 600_000, retries: 0 });
      const answer = await client.request({
        what: 'lookup',
        method: 'POST',
        target: 'v1/hashes/lookup',
        json: { hashes: worstList.split('\n') },
        expect: [200],
      });
      expect(answer.body).toEqual(JSON.parse(storeless.body));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('measures an answer as Lambda does, escapes included: 2.5 MiB of quotes is a 5 MiB result', async () => {
    const store = counting(answers);
    const quotes = '"'.repeat(2.5 * 1024 * 1024);
    const handler = makeHttpHandler({ 'GET /v1/exports/{format}': async () => ({ statusCode: 200, text: quotes, contentType: 'text/plain' }) }, { log: memoryLog(), largeAnswers: store });

    const result = await handler(fixtureEvent('api-gateway-get-hash', { resource: '/v1/exports/{format}', path: '/v1/exports/quotes' }));

    expect(result.statusCode).toBe(303);
    expect(store.stored).toEqual([quotes]);
    const followed = await fetch(result.headers!['location'] as string);
    expect(followed.headers.get('content-type')).toBe('text/plain');
    expect(await followed.text()).toBe(quotes);
  });

  it('sends small answers as they are, storing nothing', async () => {
    const store = counting(answers);
    const handler = makeLookupHandler({ store: everyHashKnown, log: memoryLog(), largeAnswers: store });

    const one = await handler(getHashEvent(hexOf(7, 64)));
    const some = await handler(lookupEvent(worstList.split('\n').slice(0, 100).join('\n'), 'text/plain'));

    expect(one.statusCode).toBe(200);
    expect(JSON.parse(one.body).match.fileName).toBe(longestRecord(7).fileName);
    expect(some.statusCode).toBe(200);
    expect(JSON.parse(some.body).results).toHaveLength(100);
    expect(store.stored).toEqual([]);
  });

  it('sends error answers as they are, storing nothing', async () => {
    const store = counting(answers);
    const handler = makeLookupHandler({ store: everyHashKnown, log: memoryLog(), largeAnswers: store });
    const tooMany = `${worstList}\n${hexOf(0, 64)}`;

    const result = await handler(lookupEvent(tooMany, 'text/plain'));

    expect(result.statusCode).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe('payload_too_large');
    expect(store.stored).toEqual([]);
  });

  it('answers 503 upstream_unavailable when a large answer cannot be stored, never a cut answer', async () => {
    const unreachable = new S3AnswerStore({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      credentials: () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
    });
    await expect(unreachable.put('{}', 'application/json')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    const log = memoryLog();

    const result = await makeLookupHandler({ store: everyHashKnown, log, largeAnswers: unreachable })(lookupEvent(worstList, 'text/plain'));

    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe('upstream_unavailable');
    expect(resultBytes(result)).toBeLessThan(16 * 1024);
  });

  it('redirects an upload verdict too large for a function result as well', async () => {
    const uploadId = '2f1b3c4d-0000-4000-8000-000000000001';
    const member = (n: number) => ({ path: [`dir/${n}.dll`], size: 1, md5: hexOf(n, 32), sha1: hexOf(n, 40), sha256: hexOf(n, 64), matches: [{ ...longestRecord(n), sources: [...longestRecord(n).sources] }] });
    const file: FileVerdict = {
      fileName: 'bundle.zip',
      size: 1,
      md5: hexOf(0, 32),
      sha1: hexOf(0, 40),
      sha256: hexOf(0, 64),
      verdict: 'malicious',
      matches: [],
      inside: { members: 3_000, containers: 1, complete: true, matches: Array.from({ length: 3_000 }, (_, i) => member(i + 1)), reasons: [] },
    };
    const record: ScanRecord = {
      uploadId,
      status: 'done',
      fileName: 'bundle.zip',
      declaredSize: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: Date.parse('2026-01-08T00:00:00.000Z') / 1000,
      file,
    };
    const scans: ScanStore = { put: async () => {}, finish: async () => true, get: async (id) => (id === uploadId ? record : undefined) };
    const store = counting(answers);
    const handler = makeUploadStatusHandler({ scans, now: () => new Date('2026-01-02T00:00:00Z'), log: memoryLog(), largeAnswers: store });
    const event = fixtureEvent('api-gateway-get-hash', { resource: '/v1/uploads/{uploadId}', path: `/v1/uploads/${uploadId}`, pathParameters: { uploadId } });

    const result = await handler(event);

    expect(result.statusCode).toBe(303);
    expect(resultBytes(result)).toBeLessThan(16 * 1024);
    const followed = await fetch(largeAnswerSchema.parse(JSON.parse(result.body)).answer);
    expect(await followed.json()).toEqual({ uploadId, status: 'done', file });
    expect(store.stored).toHaveLength(1);
  });
});
