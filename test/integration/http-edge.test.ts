import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, matchPath, type RouteSpec } from '../../lambdas/http/routes.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { parseRawAnswer, sendRaw, type RawAnswer } from '../support/raw-http.js';
import { EICAR } from '../support/reference.js';

const MSI_SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';

let server: Awaited<ReturnType<typeof startTestServer>>;
let host: string;

beforeAll(async () => {
  server = await startTestServer();
  host = `127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.stop();
});

/** Checks that an answer is the service's JSON error, with the headers of every answer, and returns the error. */
function expectJsonError(answer: RawAnswer | undefined, status: number, code: string): { code: string; message: string; requestId: string } {
  expect(answer, 'an answer arrived').toBeDefined();
  expect(answer!.statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [A-Za-z]`));
  expect(answer!.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer!.headers['x-content-type-options']).toBe('nosniff');
  expect(answer!.headers['cache-control']).toBe('no-store');
  expect(answer!.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
  expect(Number(answer!.headers['content-length'])).toBe(Buffer.byteLength(answer!.body));
  const body = JSON.parse(answer!.body) as { error: { code: string; message: string; requestId: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(body.error.requestId).toBe(answer!.headers['x-request-id']);
  return body.error;
}

describe('requests that are not HTTP the server can read', () => {
  const cases: ReadonlyArray<readonly [string, () => string | Buffer, number]> = [
    ['an unknown method', () => `BREW /v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400],
    ['a lower-case method', () => `get /v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400],
    ['garbage instead of a request line', () => '\u0016\u0003\u0001 hello there\r\n\r\n', 400],
    ['raw UTF-8 in the path', () => Buffer.from(`GET /v1/hashes/caf\u00e9 HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'utf8'), 400],
    ['no Host header', () => 'GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
    [
      'both Content-Length and Transfer-Encoding',
      () => `POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
    [
      'a chunk size that is not hexadecimal',
      () => `POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      400,
    ],
    ['Content-Length: abc', () => `POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Length: abc\r\n\r\n`, 400],
    [
      'a body shorter than its Content-Length',
      () => `POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n${MSI_SHA256}`,
      400,
    ],
    ['a 20 KB URL', () => `GET /v1/hashes/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 414],
    ['a 100 KB header', () => `GET /v1/health HTTP/1.1\r\nHost: ${host}\r\nX-Padding: ${'a'.repeat(100_000)}\r\n\r\n`, 431],
    ['an Expect other than 100-continue', () => `GET /v1/health HTTP/1.1\r\nHost: ${host}\r\nExpect: 200-ok\r\n\r\n`, 417],
  ];

  it.each(cases)('answers %s with the JSON error invalid_request, then closes the connection', async (_name, bytes, status) => {
    const raw = await sendRaw(server.url, bytes());
    expectJsonError(parseRawAnswer(raw), status, 'invalid_request');
    expect(parseRawAnswer(raw)!.headers['connection']).toBe('close');
  });
});

describe('methods the server does not serve', () => {
  it('answers CONNECT 405 method_not_allowed in the error shape instead of dropping the connection', async () => {
    const raw = await sendRaw(server.url, `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`);
    expectJsonError(parseRawAnswer(raw), 405, 'method_not_allowed');
  });
});

describe('paths, HEAD and OPTIONS', () => {
  it('names the path it was given in a 404, without normalising it', async () => {
    const { status, body } = await fetchJson(`${server.url}//v1/hashes/x`);
    expect(status).toBe(404);
    expect(body.error.message).toContain('//v1/hashes/x');
    const dotted = parseRawAnswer(
      await sendRaw(server.url, `GET /v1/../v1/hashes/x?y=1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { keepOpen: true }),
    );
    expect(JSON.parse(dotted!.body).error.message).toContain('No route /v1/../v1/hashes/x.');
  });

  const getRoutes = ROUTES.filter((r) => r.method === 'GET');
  const pathOf = (route: RouteSpec) =>
    route.path === '/vtapi/v2/file/report'
      ? `${route.path}?resource=${MSI_SHA256}`
      : route.path.replace('{hash}', MSI_SHA256).replace('{uploadId}', '0'.repeat(32)).replace('{format}', 'sha256.txt');

  it.each(getRoutes.map((r) => [r.path, r] as const))('answers HEAD %s with the status and headers of GET, and no body', async (_path, route) => {
    const get = await fetch(`${server.url}${pathOf(route)}`, { headers: { 'accept-encoding': 'gzip' } });
    const getBody = Buffer.from(await get.arrayBuffer());
    const head = await fetch(`${server.url}${pathOf(route)}`, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
    expect(head.status).toBe(get.status);
    expect(Buffer.from(await head.arrayBuffer()).length).toBe(0);
    const headers = (answer: Response) =>
      Object.fromEntries([...answer.headers].filter(([name]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)));
    expect(headers(head)).toEqual(headers(get));
    // The length is that of the body GET sends (compressed when it is).
    if (get.headers.get('content-encoding') === null) expect(Number(head.headers.get('content-length'))).toBe(getBody.length);
  });

  const paths = [...new Set(ROUTES.map((r) => r.path))];
  it.each(paths)('answers OPTIONS %s 204 with Allow listing the methods of the path', async (path) => {
    const concrete = path.replace('{hash}', MSI_SHA256).replace('{uploadId}', '0'.repeat(32)).replace('{format}', 'sha256.txt');
    const answer = await fetch(`${server.url}${concrete}`, { method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(await answer.text()).toBe('');
    const methods = new Set(matchPath(concrete).map((m) => m.route.method as string));
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    expect(new Set(answer.headers.get('allow')!.split(', '))).toEqual(methods);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a wrong method 405 with Allow, in the error shape', async () => {
    const { status, headers, body } = await fetchJson(`${server.url}/v1/hashes/lookup`, { method: 'PUT' });
    expect(status).toBe(405);
    expect(headers.get('allow')).toBe('POST, OPTIONS');
    expect(body.error).toMatchObject({ code: 'method_not_allowed', allow: ['POST', 'OPTIONS'] });
  });
});

/** Posts EICAR as a raw body with an `x-file-name` header of exactly these bytes, over a raw socket. */
async function postNamed(nameBytes: Buffer): Promise<{ status: number; body: any }> {
  const body = Buffer.from(EICAR);
  const head = `POST /v1/files HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n`;
  const bytes = Buffer.concat([Buffer.from(head), Buffer.from('X-File-Name: '), nameBytes, Buffer.from('\r\n\r\n'), body]);
  const answer = parseRawAnswer(await sendRaw(server.url, bytes, { keepOpen: true }))!;
  return { status: answer.status, body: JSON.parse(answer.body) };
}

describe('the x-file-name header of POST /v1/files', () => {
  it('keeps the characters of a raw UTF-8 name', async () => {
    const { status, body } = await postNamed(Buffer.from('Rechnung-März-日本.com', 'utf8'));
    expect(status).toBe(200);
    expect(body.files[0].fileName).toBe('Rechnung-März-日本.com');
    expect(body.files[0].verdict).toBe('malicious');
    // A plain ASCII name, percent signs and all, is left as it is.
    expect((await postNamed(Buffer.from('invoice 100%25.exe'))).body.files[0].fileName).toBe('invoice 100%25.exe');
  });

  it("decodes an RFC 8187 value (UTF-8''…), as filename* carries it", async () => {
    const { body } = await postNamed(Buffer.from(`UTF-8''${encodeURIComponent('résumé.com')}`));
    expect(body.files[0].fileName).toBe('résumé.com');
  });
});
