import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalKeys } from '../../local/auth.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: ['gateway-key', 'script-key'], adminKey: 'admin-key' });
});

afterAll(async () => {
  await server.stop();
});

describe('API keys on the local server', () => {
  it('answers 401 unauthorized when a lookup carries no key', async () => {
    const { status, body } = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`);
    expect(status).toBe(401);
    expect(body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('x-api-key') });
  });

  it('answers 403 when the key is wrong', async () => {
    const { status, body } = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`, { headers: { 'x-api-key': 'guess' } });
    expect(status).toBe(403);
    expect(body.error.code).toBe('unauthorized');
  });

  it('answers any configured key', async () => {
    for (const key of ['gateway-key', 'script-key']) {
      const { status, body } = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`, { headers: { 'x-api-key': key } });
      expect(status).toBe(200);
      expect(body.verdict).toBe('malicious');
    }
  });

  it('keeps health and the OpenAPI document open', async () => {
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
    expect((await fetchJson(`${server.url}/v1/openapi.json`)).status).toBe(200);
  });

  it('does not read a body it refuses for want of a key', async () => {
    const { status } = await fetchJson(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024 * 1024),
    });
    expect(status).toBe(401);
  });
});

describe('readLocalKeys', () => {
  it('splits comma-separated keys and ignores blanks', () => {
    expect(readLocalKeys({ HASHCHECK_API_KEYS: ' a, b ,,', HASHCHECK_ADMIN_KEY: ' x ' })).toEqual({ apiKeys: ['a', 'b'], adminKey: 'x' });
  });

  it('leaves the server open when no keys are set', () => {
    expect(readLocalKeys({})).toEqual({ apiKeys: [] });
  });
});
