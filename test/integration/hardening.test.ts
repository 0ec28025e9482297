import { randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARY_MEDIA_TYPES, MIB, ROUTES, routeKey, type RouteKey, type RouteSpec } from '../../lambdas/http/routes.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';
import { EICAR } from '../support/reference.js';

const ADMIN_KEY = 'hardening-admin-key';
const MSI_SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
/** What API Gateway takes in one request; a route's limit, base64-encoded when binary, must fit in it. */
const API_GATEWAY_PAYLOAD_BYTES = 10 * 1000 * 1000;

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
});

afterAll(async () => {
  await server.stop();
});

const pathOf = (route: RouteSpec) =>
  route.path.replace('{hash}', MSI_SHA256).replace('{uploadId}', randomBytes(16).toString('hex')).replace('{format}', 'sha256.txt');
const adminHeaders = (route: RouteSpec): Record<string, string> => (route.auth === 'admin' ? { 'x-api-key': ADMIN_KEY } : {});

/**
 * Sends only the head of a request that declares `length` body bytes, and resolves with the answer. The
 * server must answer without the body: a server that waited for it would never answer.
 */
function answerWithoutBody(route: RouteSpec, length: number, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method: route.method,
      path: pathOf(route),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length), ...adminHeaders(route) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${routeKey(route)} gave no answer within ${timeoutMs} ms without its body`));
    }, timeoutMs);
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
  });
}

describe('request size limits', () => {
  it('gives every route a body limit that API Gateway can carry', () => {
    for (const route of ROUTES) {
      expect(Number.isInteger(route.maxBodyBytes), routeKey(route)).toBe(true);
      expect(route.maxBodyBytes).toBeGreaterThanOrEqual(0);
      // Binary bodies reach functions base64-encoded: four bytes for every three.
      expect(Math.ceil(route.maxBodyBytes / 3) * 4, routeKey(route)).toBeLessThan(API_GATEWAY_PAYLOAD_BYTES);
    }
    const bodyless = ROUTES.filter((r) => r.method === 'GET' || r.method === 'HEAD');
    expect(bodyless.every((r) => r.maxBodyBytes === 0)).toBe(true);
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))('answers %s 413 for a declared body past its limit before any of it is sent', async (_key, route) => {
    const { status, body } = await answerWithoutBody(route, route.maxBodyBytes + 1);
    expect(status).toBe(413);
    // An answer to HEAD has no body.
    if (route.method !== 'HEAD') expect(JSON.parse(body).error).toMatchObject({ code: 'payload_too_large', limitBytes: route.maxBodyBytes });
  });

  it('answers 413 to a chunked upload that runs past the 4 MiB limit without declaring its length, and keeps serving', async () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(128 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const answer = await fetch(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
  });
});

/** A request to each route that its function answers (with success or its own error). */
const SAMPLES: Readonly<Record<RouteKey, () => RequestInit & { path?: string }>> = {
  'PUT /v1/admin/hashes/{hash}': () => ({ body: '{"not": "a record"', headers: { 'content-type': 'application/json' } }),
  'DELETE /v1/admin/hashes/{hash}': () => ({}),
  'POST /v1/admin/imports': () => ({ body: ' ', headers: { 'content-type': 'text/plain' } }),
  'GET /v1/hashes/{hash}': () => ({}),
  'POST /v1/hashes/lookup': () => ({ body: JSON.stringify({ hashes: [MSI_SHA256, 'x'] }), headers: { 'content-type': 'application/json' } }),
  'POST /v1/files': () => {
    const form = multipartBody([{ field: 'file', fileName: 'eicar.com', content: EICAR }]);
    return { body: form.body, headers: { 'content-type': form.contentType } };
  },
  'POST /v1/uploads': () => ({ body: JSON.stringify({ fileName: 'a.bin', size: 10 }), headers: { 'content-type': 'application/json' } }),
  'GET /v1/uploads/{uploadId}': () => ({}),
  'GET /v1/health': () => ({}),
  'GET /v1/openapi.json': () => ({}),
  'GET /vtapi/v2/file/report': () => ({ path: `/vtapi/v2/file/report?resource=${MSI_SHA256}` }),
  'GET /v4/hash/{hash}': () => ({}),
  'GET /v1/exports/{format}': () => ({}),
  'HEAD /v1/exports/{format}': () => ({}),
};

/** Exports may be kept by caches that ask again each time (conditional requests); nothing else may be stored. */
const CACHEABLE = new Set<RouteKey>(['GET /v1/exports/{format}', 'HEAD /v1/exports/{format}']);

describe('security headers', () => {
  it('has a sample request for every route', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))('answers %s with nosniff, HSTS and no-store', async (key, route) => {
    const { path, headers, ...init } = SAMPLES[key]!();
    const answer = await fetch(`${server.url}${path ?? pathOf(route)}`, {
      method: route.method,
      ...init,
      headers: { ...(headers as Record<string, string>), ...adminHeaders(route) },
    });
    await answer.arrayBuffer();
    expect(answer.status, key).toBeLessThan(500);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}; includeSubDomains$/);
    expect(answer.headers.get('cache-control')).toBe(CACHEABLE.has(key) ? 'private, no-cache' : 'no-store');
    expect(answer.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers what the server refuses itself (404, 405, 413) with nosniff and no-store', async () => {
    const answers = await Promise.all([
      fetch(`${server.url}/v1/nothing`),
      fetch(`${server.url}/v1/hashes/${MSI_SHA256}`, { method: 'DELETE' }),
      fetch(`${server.url}/v1/hashes/lookup`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(6 * MIB + 1, 0x61) }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([404, 405, 413]);
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('passes file bodies to functions base64-encoded, so no upload is mangled as text', () => {
    expect(BINARY_MEDIA_TYPES).toEqual(expect.arrayContaining(['application/octet-stream', 'multipart/form-data']));
  });
});

describe('CORS on the local server', () => {
  it('allows no other origin: no CORS header for a foreign Origin, and a preflight that allows nothing', async () => {
    const foreign = { origin: 'https://evil.example' };
    const lookup = await fetch(`${server.url}/v1/hashes/${MSI_SHA256}`, { headers: foreign });
    expect(lookup.status).toBe(200);
    expect(lookup.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/v1/hashes/lookup`, {
      method: 'OPTIONS',
      headers: { ...foreign, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-api-key' },
    });
    // OPTIONS names the path's methods (Allow), but no CORS header lets another origin use them.
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });
});
