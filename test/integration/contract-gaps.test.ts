import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';

/**
 * Small contracts at the HTTP edge, checked through the local server as clients send them: a parameter
 * given twice, a hash with a line break, a text body in another charset, a list with no hash.
 */
const ADMIN_KEY = 'contract-admin-key';
const EICAR_MD5 = createHash('md5').update(EICAR, 'latin1').digest('hex');
const UNKNOWN_MD5 = createHash('md5').update('a file that is on no list').digest('hex');
/** A hash an import below would add, were its body misread rather than refused. */
const FEED_SHA256 = createHash('sha256').update('a feed entry sent as UTF-16').digest('hex');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
});

afterAll(async () => {
  await server?.stop();
});

const get = (pathAndQuery: string) => fetchJson(`${server.url}${pathAndQuery}`);
const post = (path: string, type: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetchJson(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });

describe('the VirusTotal route with a parameter given twice', () => {
  it.each([
    ['two resources, the known-bad one first', `resource=${EICAR_MD5}&resource=${UNKNOWN_MD5}`],
    ['two resources, the known-bad one last', `resource=${UNKNOWN_MD5}&resource=${EICAR_MD5}`],
    ['two apikeys', `apikey=one&apikey=two&resource=${EICAR_MD5}`],
  ])('answers 400 invalid_request for %s, whichever value a reader would pick', async (_name, query) => {
    const { status, body } = await get(`/vtapi/v2/file/report?${query}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('given 2 times') });
  });

  it('still answers one resource with one key', async () => {
    const { status, body } = await get(`/vtapi/v2/file/report?apikey=one&resource=${EICAR_MD5}`);
    expect(status).toBe(200);
    expect(body.response_code).toBe(1);
  });
});

describe('a known-bad hash followed by a line break', () => {
  it.each([
    ['the VirusTotal resource', `/vtapi/v2/file/report?resource=${EICAR_MD5}%0A`],
    ['the VirusTotal resource, CRLF', `/vtapi/v2/file/report?resource=${EICAR_MD5}%0D%0A`],
    ['a lookup path', `/v1/hashes/${EICAR_MD5}%0A`],
    ['a MetaDefender path', `/v4/hash/${EICAR_MD5}%0A`],
  ])('is 400 invalid_hash in %s, never the verdict of the hash before it', async (_name, pathAndQuery) => {
    const { status, body } = await get(pathAndQuery);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_hash');
  });

  it('is still fine with spaces around it (%20)', async () => {
    const { status, body } = await get(`/vtapi/v2/file/report?resource=%20${EICAR_MD5}%20`);
    expect(status).toBe(200);
    expect(body.resource).toBe(EICAR_MD5);
  });
});

describe('text bodies in another charset', () => {
  const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

  it('answers a UTF-16 list declared as charset=utf-16 with 415 naming the charset, not a list of invalid lines', async () => {
    const { status, body } = await post('/v1/hashes/lookup', 'text/plain; charset=utf-16', utf16(`${EICAR_MD5}\r\n${UNKNOWN_MD5}\r\n`));
    expect(status).toBe(415);
    expect(body.error).toMatchObject({ code: 'unsupported_media_type', acceptedCharsets: ['utf-8', 'us-ascii'] });
    expect(body.error.message).toContain("charset 'utf-16'");
  });

  it('answers a UTF-16 list sent without a charset with 415', async () => {
    const { status, body } = await post('/v1/hashes/lookup', 'text/plain', Buffer.from(`${EICAR_MD5}\r\n`, 'utf16le'));
    expect(status).toBe(415);
    expect(body.error.message).toContain('UTF-16');
  });

  it('refuses a UTF-16 import with 415 before anything is written', async () => {
    const feed = utf16(`${FEED_SHA256}\r\n`);
    const query = '?format=plain&campaign=Contract%20test&source=https%3A%2F%2Fexample.com%2Ffeed';
    const { status, body } = await post(`/v1/admin/imports${query}`, 'text/plain; charset=UTF-16', feed, { 'x-api-key': ADMIN_KEY });
    expect(status).toBe(415);
    expect(body.error.code).toBe('unsupported_media_type');
    expect((await get(`/v1/hashes/${FEED_SHA256}`)).body.verdict).toBe('unknown');
  });

  it('takes the same list in UTF-8, declared or not', async () => {
    for (const type of ['text/plain; charset=utf-8', 'text/plain']) {
      const { status, body } = await post('/v1/hashes/lookup', type, `${EICAR_MD5}\r\n${UNKNOWN_MD5}\r\n`);
      expect(status).toBe(200);
      expect(body.summary).toEqual({ total: 2, malicious: 1, unknown: 1, invalid: 0 });
    }
  });
});

describe('a bulk lookup with no hash in it', () => {
  it.each([
    ['an empty JSON list', 'application/json', '{"hashes":[]}'],
    ['an empty text body', 'text/plain', ''],
    ['comments and blank lines only', 'text/plain', '# nothing exported\r\n\r\n'],
  ])('answers 400 invalid_request for %s, as the README says', async (_name, type, body) => {
    const answer = await post('/v1/hashes/lookup', type, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('no hash') });
  });
});
