import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { metaDefenderOutcome, virusTotalOutcome } from '../support/rspamd.js';

const KEY = 'gateway-key';
const digest = (algorithm: string, data: string) => createHash(algorithm).update(data, 'latin1').digest('hex');
const EICAR_MD5 = digest('md5', EICAR);
const EICAR_SHA1 = digest('sha1', EICAR);
const EICAR_SHA256 = digest('sha256', EICAR);
const UNKNOWN_MD5 = digest('md5', 'a file that is on no list');
const UNKNOWN_SHA256 = digest('sha256', 'a file that is on no list');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [KEY] });
});

afterAll(async () => {
  await server.stop();
});

/** What rspamd's virustotal scanner sends: `{url}/report?apikey={KEY}&resource={md5}`, no headers of its own. */
async function virusTotal(resource: string, apikey: string | null = KEY) {
  const query = new URLSearchParams({ ...(apikey === null ? {} : { apikey }), resource });
  const response = await fetch(`${server.url}/vtapi/v2/file/report?${query}`);
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

/** What rspamd's metadefender scanner sends: `{url}/{sha256}` with an `apikey` header. */
async function metaDefender(hash: string, apikey: string | null = KEY) {
  const response = await fetch(`${server.url}/v4/hash/${hash}`, { headers: apikey === null ? {} : { apikey } });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

describe('the VirusTotal v2 route, as rspamd’s virustotal scanner calls it', () => {
  it('answers a known-bad MD5 with 200, response_code 1 and the fields rspamd reads, scored high', async () => {
    const { status, body, text } = await virusTotal(EICAR_MD5);
    expect(status).toBe(200);
    expect(body.response_code).toBe(1);
    expect(typeof body.positives).toBe('number');
    expect(typeof body.total).toBe('number');
    expect(body.positives).toBeGreaterThanOrEqual(10);
    expect(body.total).toBeGreaterThanOrEqual(body.positives);
    expect(virusTotalOutcome(status, text)).toBe('high');
  });

  it('fills the cheap VirusTotal v2 fields', async () => {
    const { body } = await virusTotal(EICAR_MD5);
    expect(body).toMatchObject({ resource: EICAR_MD5, md5: EICAR_MD5, sha1: EICAR_SHA1, sha256: EICAR_SHA256 });
    expect(body.scan_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(body.verbose_msg).toContain('eicar.com');
    const permalink = await fetchJson(body.permalink, { headers: { 'x-api-key': KEY } });
    expect(permalink.body).toMatchObject({ hash: EICAR_MD5, verdict: 'malicious' });
  });

  it.each([
    ['SHA-1', EICAR_SHA1],
    ['SHA-256', EICAR_SHA256],
    ['upper-case MD5', EICAR_MD5.toUpperCase()],
  ])('finds the record by its %s too', async (_name, resource) => {
    const { status, body } = await virusTotal(resource);
    expect(status).toBe(200);
    expect(body.positives).toBeGreaterThanOrEqual(10);
  });

  it('answers an unknown hash with 404, which rspamd takes as clean, never with response_code 0', async () => {
    const { status, body, text } = await virusTotal(UNKNOWN_MD5);
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
    expect(body).not.toHaveProperty('response_code');
    expect(virusTotalOutcome(status, text)).toBe('clean');
  });

  it.each([
    ['not a hash', 'eicar.com', 'invalid_hash'],
    ['a batch', `${EICAR_MD5},${UNKNOWN_MD5}`, 'invalid_request'],
    ['empty', '', 'invalid_request'],
  ])('answers a resource that is %s with a clear 400', async (_name, resource, code) => {
    const { status, body } = await virusTotal(resource);
    expect(status).toBe(400);
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(20);
  });

  it.each([
    ['no apikey', null],
    ['a wrong apikey', 'guess'],
  ])('answers %s with 403, as VirusTotal does, which rspamd reports as a failed check', async (_name, apikey) => {
    const { status, body, text } = await virusTotal(EICAR_MD5, apikey);
    expect(status).toBe(403);
    expect(body.error.code).toBe('unauthorized');
    expect(virusTotalOutcome(status, text)).toBe('fail');
  });
});

describe('the MetaDefender route, as rspamd’s metadefender scanner calls it', () => {
  it('answers a known-bad SHA-256 as infected by more engines than rspamd needs for the full score', async () => {
    const { status, body, text } = await metaDefender(EICAR_SHA256);
    expect(status).toBe(200);
    expect(body.scan_results.scan_all_result_i).toBe(1);
    const engines = Object.values(body.scan_results.scan_details) as { threat_found: string }[];
    expect(engines.filter((engine) => engine.threat_found).length).toBeGreaterThan(7);
    expect(metaDefenderOutcome(status, text)).toBe('high');
  });

  it('answers an unknown SHA-256 with 404 (clean to rspamd)', async () => {
    const { status, text } = await metaDefender(UNKNOWN_SHA256);
    expect(status).toBe(404);
    expect(metaDefenderOutcome(status, text)).toBe('clean');
  });

  it.each([
    ['no apikey header', null],
    ['a wrong apikey header', 'guess'],
  ])('answers %s with 401, which rspamd reports as unauthorized', async (_name, apikey) => {
    const { status, text } = await metaDefender(EICAR_SHA256, apikey);
    expect(status).toBe(401);
    expect(metaDefenderOutcome(status, text)).toBe('fail');
  });

  it('does not take the key from x-api-key, where rspamd never puts it', async () => {
    const response = await fetch(`${server.url}/v4/hash/${EICAR_SHA256}`, { headers: { 'x-api-key': KEY } });
    expect(response.status).toBe(401);
  });
});

describe('exports with keys required', () => {
  it('take the key from ?apikey=, as map fetchers send it, and refuse a missing or wrong one with 403', async () => {
    expect((await fetch(`${server.url}/v1/exports/sha256.txt?apikey=${KEY}`)).status).toBe(200);
    expect((await fetch(`${server.url}/v1/exports/sha256.txt`)).status).toBe(403);
    expect((await fetch(`${server.url}/v1/exports/sha256.txt?apikey=guess`)).status).toBe(403);
    expect((await fetch(`${server.url}/v1/exports/sha256.txt?apikey=guess`, { method: 'HEAD' })).status).toBe(403);
  });
});

describe('when the list cannot be read', () => {
  it('answers 503, neither 404 (clean) nor 200, so rspamd reports a failed check and exports serve no partial list', async () => {
    await server.store.close();
    const vt = await virusTotal(EICAR_MD5);
    expect(vt.status).toBe(503);
    expect(vt.body.error.code).toBe('upstream_unavailable');
    expect(virusTotalOutcome(vt.status, vt.text)).toBe('fail');
    const unknown = await virusTotal(UNKNOWN_MD5);
    expect(unknown.status).toBe(503);
    const md = await metaDefender(EICAR_SHA256);
    expect(md.status).toBe(503);
    expect(metaDefenderOutcome(md.status, md.text)).toBe('fail');
    for (const format of ['sha256.txt', 'clamav.hsb']) {
      const response = await fetch(`${server.url}/v1/exports/${format}?apikey=${KEY}`);
      expect(response.status).toBe(503);
      expect(response.headers.get('etag')).toBeNull();
    }
  });
});
