import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../lambdas/http/routes.js';
import { checkSchema } from '../support/json-schema.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
const ADMIN_KEY = 'contract-admin-key';

/** Requests that reach every route and every documented outcome that can be produced without faults. */
const PROBES: { route: string; path: string; init?: RequestInit }[] = [
  { route: 'GET /v1/hashes/{hash}', path: `/v1/hashes/${MSI_MD5}` },
  { route: 'GET /v1/hashes/{hash}', path: `/v1/hashes/${'0'.repeat(40)}` },
  { route: 'GET /v1/hashes/{hash}', path: '/v1/hashes/xyz' },
  ...[
    { type: 'application/json', body: JSON.stringify({ hashes: [MSI_MD5, 'bad', '1'.repeat(64)] }) },
    { type: 'text/plain', body: `${MSI_MD5}\nbad\n` },
    { type: 'application/json', body: '{' },
    { type: 'text/csv', body: MSI_MD5 },
    { type: 'text/plain', body: Array.from({ length: 10_001 }, () => MSI_MD5).join('\n') },
  ].map(({ type, body }) => ({
    route: 'POST /v1/hashes/lookup',
    path: '/v1/hashes/lookup',
    init: { method: 'POST', headers: { 'content-type': type }, body },
  })),
  ...[
    { type: 'application/octet-stream', body: 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' },
    { type: 'application/octet-stream', body: '' },
    { type: 'application/octet-stream', body: 'x'.repeat(4 * 1024 * 1024 + 1) },
    { type: 'text/plain', body: 'hello' },
  ].map(({ type, body }) => ({
    route: 'POST /v1/files',
    path: '/v1/files',
    init: { method: 'POST', headers: { 'content-type': type }, body },
  })),
  ...[
    { type: 'application/json', body: JSON.stringify({ fileName: 'a.dmg', size: 10 }) },
    { type: 'application/json', body: JSON.stringify({ fileName: 'a.dmg', size: 6 * 1024 ** 3 }) },
    { type: 'application/json', body: '{' },
    { type: 'text/plain', body: 'a.dmg' },
  ].map(({ type, body }) => ({
    route: 'POST /v1/uploads',
    path: '/v1/uploads',
    init: { method: 'POST', headers: { 'content-type': type }, body },
  })),
  { route: 'GET /v1/uploads/{uploadId}', path: '/v1/uploads/0b9cf3d0-0000-4000-8000-000000000000' },
  ...[
    { method: 'PUT', body: JSON.stringify({ fileName: 'a', platform: 'p', version: 'v', kind: 'other', stage: 's', campaign: 'c', confidence: 'low', sources: ['s'] }) },
    { method: 'PUT', body: JSON.stringify({ fileName: 'a' }) },
    { method: 'DELETE', body: JSON.stringify({ reason: 'contract probe' }) },
  ].map(({ method, body }) => ({
    route: `${method} /v1/admin/hashes/{hash}`,
    path: `/v1/admin/hashes/${'9'.repeat(32)}`,
    init: { method, headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }, body },
  })),
  { route: 'DELETE /v1/admin/hashes/{hash}', path: `/v1/admin/hashes/${'8'.repeat(32)}?reason=x`, init: { method: 'DELETE', headers: { 'x-api-key': ADMIN_KEY } } },
  ...['', `${'6'.repeat(40)}\n`].map((body) => ({
    route: 'POST /v1/admin/imports',
    path: '/v1/admin/imports?campaign=probe&source=probe',
    init: { method: 'POST', headers: { 'content-type': 'text/plain', 'x-api-key': ADMIN_KEY }, body },
  })),
  { route: 'GET /v1/health', path: '/v1/health' },
  { route: 'GET /v1/openapi.json', path: '/v1/openapi.json' },
  ...[
    readFileSync(new URL('../fixtures/three-attachments.eml', import.meta.url)),
    Buffer.from('not a message at all\n'),
  ].map((body) => ({
    route: 'POST /v1/files',
    path: '/v1/files',
    init: { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body },
  })),
  { route: 'GET /vtapi/v2/file/report', path: `/vtapi/v2/file/report?apikey=k&resource=${MSI_MD5}` },
  { route: 'GET /vtapi/v2/file/report', path: `/vtapi/v2/file/report?apikey=k&resource=${'0'.repeat(32)}` },
  { route: 'GET /vtapi/v2/file/report', path: '/vtapi/v2/file/report?apikey=k&resource=xyz' },
  { route: 'GET /vtapi/v2/file/report', path: '/vtapi/v2/file/report?apikey=k' },
  { route: 'GET /v4/hash/{hash}', path: `/v4/hash/${MSI_MD5}` },
  { route: 'GET /v4/hash/{hash}', path: `/v4/hash/${'0'.repeat(64)}` },
  { route: 'GET /v4/hash/{hash}', path: '/v4/hash/xyz' },
  { route: 'GET /v1/exports/{format}', path: '/v1/exports/iocs.json' },
  { route: 'GET /v1/exports/{format}', path: '/v1/exports/clamav.exe' },
  { route: 'HEAD /v1/exports/{format}', path: '/v1/exports/sha256.txt', init: { method: 'HEAD' } },
  { route: 'HEAD /v1/exports/{format}', path: '/v1/exports/clamav.exe', init: { method: 'HEAD' } },
];

let server: Awaited<ReturnType<typeof startTestServer>>;
let document: any;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
  document = (await fetchJson(`${server.url}/v1/openapi.json`)).body;
});

afterAll(async () => {
  await server.stop();
});

describe('the OpenAPI document', () => {
  it('describes exactly the routes of the route table', () => {
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('is probed on every route', () => {
    expect(new Set(PROBES.map((p) => p.route))).toEqual(new Set(ROUTES.map(routeKey)));
  });

  it('documents the state of a pending upload', async () => {
    const created = await fetchJson(`${server.url}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'pending.bin', size: 1 }),
    });
    const { status, body } = await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`);
    expect(status).toBe(200);
    const schema = document.paths['/v1/uploads/{uploadId}'].get.responses['200'].content['application/json'].schema;
    expect(checkSchema(body, schema, document)).toEqual([]);
  });

  it('refuses an answer with a field it does not name', async () => {
    const { body } = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`);
    const schema = document.paths['/v1/hashes/{hash}'].get.responses['200'].content['application/json'].schema;
    expect(checkSchema(body, schema, document)).toEqual([]);
    expect(checkSchema({ ...body, score: 10 }, schema, document)).toEqual(['$.score: not in the document']);
    expect(checkSchema({ ...body, match: { ...body.match, kind: 'virus' } }, schema, document)).not.toEqual([]);
  });

  it('describes the request bodies the service accepts', () => {
    const documented = (route: string) => {
      const [method, path] = route.split(' ') as [string, string];
      return document.paths[path][method.toLowerCase()].requestBody.content['application/json'].schema;
    };
    const accepted: [string, unknown][] = [
      ['POST /v1/hashes/lookup', { hashes: [MSI_MD5] }],
      ['POST /v1/uploads', { fileName: 'a.dmg', size: 10 }],
      ['DELETE /v1/admin/hashes/{hash}', { reason: 'contract probe' }],
      [
        'PUT /v1/admin/hashes/{hash}',
        { md5: ` ${MSI_MD5.toUpperCase()} `, fileName: 'a', platform: 'p', version: 'v', kind: 'other', stage: 's', campaign: 'c', confidence: 'low', sources: ['s'] },
      ],
    ];
    for (const [route, body] of accepted) expect(checkSchema(body, documented(route), document), route).toEqual([]);
    expect(checkSchema({ hashes: [MSI_MD5], extra: true }, documented('POST /v1/hashes/lookup'), document)).not.toEqual([]);
    expect(checkSchema({ fileName: 'a' }, documented('PUT /v1/admin/hashes/{hash}'), document)).not.toEqual([]);
  });

  it.each(PROBES.map((p) => [`${p.init?.method ?? 'GET'} ${p.path.slice(0, 60)}`, p] as const))(
    'documents the status and body shape of %s',
    async (_name, probe) => {
      const [method, path] = probe.route.split(' ') as [string, string];
      const operation = document.paths[path][method.toLowerCase()];
      const { status, body } = await fetchJson(`${server.url}${probe.path}`, probe.init);
      const response = operation.responses[String(status)];
      expect(response, `status ${status} of ${probe.route} is documented`).toBeDefined();
      // A HEAD answer is the headers of the GET answer, without a body.
      if (method === 'HEAD') return expect(body).toBeUndefined();
      const schema = response.content['application/json'].schema;
      expect(checkSchema(body, schema, document)).toEqual([]);
    },
  );
});
