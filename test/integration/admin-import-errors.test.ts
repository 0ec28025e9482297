import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';

const LOOKUP_KEY = 'lookup-key';
const ADMIN_KEY = 'admin-key';
/** A digest no seed record has (the server starts with the project's list) and no other test uses. */
const digest = (bytes: number) => randomBytes(bytes).toString('hex');
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [LOOKUP_KEY], adminKey: ADMIN_KEY });
});

afterAll(async () => {
  await server.stop();
});

const importFeed = (body: string, type: string, query = '') =>
  fetchJson(`${server.url}/v1/admin/imports${query}`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY, 'content-type': type }, body });

const verdict = async (hash: string) =>
  (await fetchJson(`${server.url}/v1/hashes/${hash}`, { headers: { 'x-api-key': LOOKUP_KEY } })).body.verdict as string;

/** The whole list as the export gives it: what an import wrote, if anything. */
const wholeList = async () => {
  const response = await fetch(`${server.url}/v1/exports/iocs.json?apikey=${LOOKUP_KEY}`);
  expect(response.status).toBe(200);
  return response.text();
};

const record = (digests: Record<string, string>) =>
  JSON.stringify({ ...digests, fileName: 'a.dll', platform: 'windows', version: '1', kind: 'other', stage: 'test', campaign: 'Cut short', confidence: 'high', sources: ['test'] });

describe('POST /v1/admin/imports with a feed that cannot be read', () => {
  it.each([
    ['an object cut after its first bracket', () => '{"records":['],
    ['a record array cut after two whole lines', (md5: string, sha256: string) => `[\n${record({ md5 })},\n${record({ sha256 })}\n`],
  ])('answers 400 invalid_request for %s and writes nothing', async (_name, feed) => {
    const [md5, sha256] = [digest(16), digest(32)];
    const body = feed(md5, sha256);
    const before = await wholeList();
    const { status, body: answer } = await importFeed(body, 'application/json');
    expect(status).toBe(400);
    expect(answer).toEqual({ error: { code: 'invalid_request', message: expect.stringMatching(/not valid JSON.*cut short/), requestId: expect.any(String) } });
    expect(await wholeList()).toBe(before);
    for (const hash of [md5, sha256]) expect(await verdict(hash)).toBe('unknown');
  });

  it('imports a plain list whose line holds U+2028 as two entries instead of failing with 500', async () => {
    const [SHA256, MD5] = [digest(32), digest(16)];
    const { status, body } = await importFeed(`${SHA256}  tool.exe\u2028${MD5}\n`, 'text/plain', '?campaign=Separators&source=test');
    expect(status).toBe(200);
    expect(body).toMatchObject({ format: 'plain', total: 2, added: 2, rejected: [] });
    expect(await verdict(SHA256)).toBe('malicious');
    expect(await verdict(MD5)).toBe('malicious');
  });

  it('imports a STIX bundle whose ids are arrays nested 100,000 deep instead of failing with 500', async () => {
    const SHA1 = digest(20);
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const bundle = `{"type":"bundle","id":${nested},"objects":[{"type":"indicator","id":${nested},"name":"Deep","pattern":"[file:hashes.'SHA-1' = '${SHA1}']"}]}`;
    const { status, body } = await importFeed(bundle, 'application/stix+json');
    expect(status).toBe(200);
    expect(body).toMatchObject({ format: 'stix', added: 1, rejected: [] });
    expect(await verdict(SHA1)).toBe('malicious');
  });
});
