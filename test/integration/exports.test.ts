import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_FORMATS } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { importRecords } from '../../lambdas/core/import.js';
import { MIN_COMPRESSION_BYTES } from '../../lambdas/http/routes.js';
import { startTestServer } from '../support/local-server.js';
import { mapKeys } from '../support/rspamd.js';

const EICAR_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

/** A request with nothing added by a client library: the headers given and no others, the body as sent. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Adds a known-bad record to the store the server reads, as an import does. */
async function importOne(fileName: string): Promise<string> {
  const sha256 = randomBytes(32).toString('hex') as HashHex;
  const record = { sha256, fileName, platform: 'windows', version: '1', kind: 'payload' as const, stage: 'test', campaign: 'Export test', confidence: 'high', sources: ['test'] };
  await importRecords([record], { store: server.store.hashes, now: () => new Date() });
  return sha256;
}

describe('GET /v1/exports/{format}', () => {
  it.each([
    ['sha256.txt', 'text/plain'],
    ['sha1.txt', 'text/plain'],
    ['md5.txt', 'text/plain'],
    ['clamav.hsb', 'text/plain'],
    ['clamav.hdb', 'text/plain'],
    ['iocs.csv', 'text/csv'],
    ['iocs.json', 'application/json'],
  ])('serves %s as %s with ETag, Last-Modified and a file name', async (format, type) => {
    const response = await fetch(`${server.url}/v1/exports/${format}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain(type);
    expect(response.headers.get('etag')).toMatch(/^W\/".+"$/);
    expect(new Date(response.headers.get('last-modified')!).getTime()).toBeGreaterThan(0);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="hashcheck/);
    expect((await response.text()).length).toBeGreaterThan(0);
  });

  it('serves the seed list as an rspamd map that holds the EICAR SHA-256 and only digests', async () => {
    const keys = mapKeys(await (await fetch(`${server.url}/v1/exports/sha256.txt`)).text());
    expect(keys).toContain(EICAR_SHA256);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves ClamAV databases with one valid signature per line and no blank line', async () => {
    for (const [format, hash] of [
      ['clamav.hsb', /^([0-9a-f]{64}|[0-9a-f]{40}):/],
      ['clamav.hdb', /^[0-9a-f]{32}:/],
    ] as const) {
      const body = await (await fetch(`${server.url}/v1/exports/${format}`)).text();
      expect(body.endsWith('\n')).toBe(true);
      for (const line of body.slice(0, -1).split('\n')) {
        expect(line).toMatch(hash);
        expect(line).toMatch(/^[0-9a-f]+:(\*:[A-Za-z0-9._-]+:73|\d+:[A-Za-z0-9._-]+)$/);
      }
    }
    const hdb = await (await fetch(`${server.url}/v1/exports/clamav.hdb`)).text();
    // The EICAR record knows its size (68 bytes), so its line is exact; records without a size use `*` and level 73.
    expect(hdb).toMatch(new RegExp(`^${EICAR_MD5}:68:Multios\\.Test\\.eicar_com-\\d+-1$`, 'm'));
    expect(hdb).toMatch(/^[0-9a-f]{32}:\*:[A-Za-z0-9._-]+:73$/m);
  });

  it('answers an unknown format with 404 not_found listing the formats', async () => {
    const response = await fetch(`${server.url}/v1/exports/clamav.exe`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string; formats: string[] } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.formats).toEqual([...EXPORT_FORMATS]);
    for (const format of EXPORT_FORMATS) expect(body.error.message).toContain(format);
  });
});

describe('conditional requests, as rspamd polls a map', () => {
  it('answers a second request with the ETag 304 and no body, until an import changes the list; then 200 with a new ETag', async () => {
    const first = await fetch(`${server.url}/v1/exports/sha256.txt`);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    const firstBody = await first.text();

    const again = await raw('/v1/exports/sha256.txt', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers['etag']).toBe(etag);

    const added = await importOne('new-payload.dll');

    const changed = await fetch(`${server.url}/v1/exports/sha256.txt`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    const newEtag = changed.headers.get('etag')!;
    expect(newEtag).not.toBe(etag);
    const body = await changed.text();
    expect(mapKeys(body)).toEqual(expect.arrayContaining([...mapKeys(firstBody), added]));
    expect(new Date(changed.headers.get('last-modified')!).getTime()).toBeGreaterThanOrEqual(new Date(lastModified).getTime());

    expect((await raw('/v1/exports/sha256.txt', { 'if-none-match': newEtag })).status).toBe(304);
  });

  it('answers If-Modified-Since with the Last-Modified date 304, and an earlier date 200', async () => {
    const first = await fetch(`${server.url}/v1/exports/md5.txt`);
    const lastModified = first.headers.get('last-modified')!;
    expect((await raw('/v1/exports/md5.txt', { 'if-modified-since': lastModified })).status).toBe(304);
    const earlier = new Date(new Date(lastModified).getTime() - 1000).toUTCString();
    expect((await raw('/v1/exports/md5.txt', { 'if-modified-since': earlier })).status).toBe(200);
  });

  it('answers rspamd’s check, a HEAD with both validators, 304 when nothing changed and 200 without a body when it did', async () => {
    const first = await fetch(`${server.url}/v1/exports/sha256.txt`);
    const validators = { 'if-none-match': first.headers.get('etag')!, 'if-modified-since': first.headers.get('last-modified')! };
    const unchanged = await raw('/v1/exports/sha256.txt', validators, 'HEAD');
    expect(unchanged.status).toBe(304);

    await importOne('another-payload.dll');
    const changed = await raw('/v1/exports/sha256.txt', validators, 'HEAD');
    expect(changed.status).toBe(200);
    expect(changed.body.length).toBe(0);
    expect(changed.headers['etag']).not.toBe(validators['if-none-match']);
  });
});

describe('compression', () => {
  it('gzips an export for a client that accepts gzip, to the same bytes', async () => {
    const plain = await raw('/v1/exports/iocs.json');
    const gzipped = await raw('/v1/exports/iocs.json', { 'accept-encoding': 'gzip' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
    expect(gzipped.headers['etag']).toBe(plain.headers['etag']);
  });

  it.each([['identity'], ['gzip;q=0'], ['br']])('sends plain bytes for Accept-Encoding: %s', async (acceptEncoding) => {
    const response = await raw('/v1/exports/sha256.txt', { 'accept-encoding': acceptEncoding });
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body.toString()).toContain(EICAR_SHA256);
  });

  it(`leaves answers under ${MIN_COMPRESSION_BYTES} bytes alone`, async () => {
    const response = await raw('/v1/health', { 'accept-encoding': 'gzip' });
    expect(response.body.length).toBeLessThan(MIN_COMPRESSION_BYTES);
    expect(response.headers['content-encoding']).toBeUndefined();
  });
});
