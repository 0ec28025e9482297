import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';

const LOOKUP_KEY = 'lookup-key';
const ADMIN_KEY = 'admin-key';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [LOOKUP_KEY], adminKey: ADMIN_KEY });
});

afterAll(async () => {
  await server.stop();
});

const lookup = async (hash: string) =>
  (await fetchJson(`${server.url}/v1/hashes/${hash}`, { headers: { 'x-api-key': LOOKUP_KEY } })).body;

const admin = (path: string, init: RequestInit & { key?: string | null } = {}) =>
  fetchJson(`${server.url}${path}`, {
    ...init,
    headers: { ...(init.key === null ? {} : { 'x-api-key': init.key ?? ADMIN_KEY }), ...(init.headers as Record<string, string>) },
  });

const importFeed = (body: string, type: string, query = '') =>
  admin(`/v1/admin/imports${query}`, { method: 'POST', headers: { 'content-type': type }, body });

describe('admin routes', () => {
  it.each([
    ['no key', null, 401],
    ['a lookup key', LOOKUP_KEY, 403],
    ['a wrong key', 'guess', 403],
  ])('refuse a caller with %s', async (_name, key, status) => {
    const { status: got, body } = await admin('/v1/admin/imports', {
      key,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fixture('stix-bundle.json'),
    });
    expect(got).toBe(status);
    expect(body.error.code).toBe('unauthorized');
    expect((await lookup('9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3')).verdict).toBe('unknown');
  });

  it('import a STIX bundle, then a re-import changes nothing', async () => {
    const first = await importFeed(fixture('stix-bundle.json'), 'application/stix+json');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ format: 'stix', total: 3, added: 2, updated: 0, unchanged: 0, revoked: 0 });
    expect(first.body.rejected).toHaveLength(1);
    const byMd5 = await lookup('0a1b2c3d4e5f60718293a4b5c6d7e8f9');
    expect(byMd5).toMatchObject({ verdict: 'malicious', match: { fileName: 'glassdoor.dll', campaign: 'GlassDoor loader' } });

    const again = await importFeed(fixture('stix-bundle.json'), 'application/json');
    expect(again.body).toMatchObject({ added: 0, updated: 0, unchanged: 2 });
    expect((await lookup('0a1b2c3d4e5f60718293a4b5c6d7e8f9')).match.addedAt).toBe(byMd5.match.addedAt);
  });

  it('import a MISP event, then a re-import changes nothing', async () => {
    const first = await importFeed(fixture('misp-event.json'), 'application/json');
    expect(first.body).toMatchObject({ format: 'misp', added: 3, unchanged: 0 });
    expect((await lookup('3C5B7D9F1E3A5C7B9D1F3E5A7C9B1D3F')).match).toMatchObject({
      fileName: 'vpnhelper.dll',
      sha256: '7e9a1c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a',
    });
    expect((await importFeed(fixture('misp-event.json'), 'application/json')).body).toMatchObject({ added: 0, unchanged: 3 });
  });

  it('import a plain list only with its campaign and source', async () => {
    const list = `${'7'.repeat(64)}  dropper.exe\n`;
    const refused = await importFeed(list, 'text/plain');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/campaign/);
    const done = await importFeed(list, 'text/plain', '?campaign=Incident%2042&source=EDR%20export');
    expect(done.body).toMatchObject({ format: 'plain', added: 1 });
    expect((await lookup('7'.repeat(64))).match).toMatchObject({ fileName: 'dropper.exe', campaign: 'Incident 42' });
  });

  it('revoke a hash: it stops matching by every digest, stays on record, and a re-import does not bring it back', async () => {
    const sha256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
    const revoked = await admin(`/v1/admin/hashes/${sha256}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'Test of revocation' }),
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      outcome: 'revoked',
      record: { fileName: '3cxdesktopapp-18.12.407.msi', revoked: { by: expect.any(String), reason: 'Test of revocation' } },
    });
    for (const digest of [sha256, 'bea77d1e59cf18dce22ad9a2fad52948fd7a9efa', 'f3d4144860ca10ba60f7ef4d176cc736']) {
      expect((await lookup(digest)).verdict).toBe('unknown');
    }
    const seedLine = readFileSync(new URL('../../data/known-bad.jsonl', import.meta.url), 'utf8').split('\n')[0]!;
    expect((await importFeed(seedLine, 'application/x-ndjson')).body).toMatchObject({ revoked: 1, added: 0, updated: 0 });
    expect((await lookup(sha256)).verdict).toBe('unknown');
    const again = await admin(`/v1/admin/hashes/${sha256}?reason=again`, { method: 'DELETE' });
    expect(again.body.outcome).toBe('unchanged');
  });

  it('put a record: add it, reinstate a revoked one, and refuse an invalid one', async () => {
    const md5 = '1234567890abcdef1234567890abcdef';
    const record = { fileName: 'a.js', platform: 'any', version: '1', kind: 'payload', stage: 'second-stage', campaign: 'npm worm', confidence: 'medium', sources: ['https://example.org/report'] };
    const put = (body: unknown) =>
      admin(`/v1/admin/hashes/${md5}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put(record)).status).toBe(201);
    expect((await lookup(md5)).verdict).toBe('malicious');
    expect((await put(record)).body.outcome).toBe('unchanged');
    await admin(`/v1/admin/hashes/${md5}?reason=mistake`, { method: 'DELETE' });
    expect((await lookup(md5)).verdict).toBe('unknown');
    const reinstated = await put({ ...record, confidence: 'high' });
    expect(reinstated.body).toMatchObject({ outcome: 'updated', record: { confidence: 'high' } });
    expect(reinstated.body.record.revoked).toBeUndefined();
    expect((await lookup(md5)).verdict).toBe('malicious');

    const invalid = await put({ ...record, kind: 'virus' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_request');
    const mismatch = await put({ ...record, md5: 'f'.repeat(32) });
    expect(mismatch.status).toBe(400);
  });

  it('answer 404 when revoking a hash that is not on the list', async () => {
    const { status, body } = await admin(`/v1/admin/hashes/${'0'.repeat(40)}?reason=x`, { method: 'DELETE' });
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
  });
});
