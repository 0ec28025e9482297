import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer, type TestServer } from '../support/local-server.js';

/**
 * The largest lookup meeting a store that cannot be read. The other store faults are in
 * store-faults.test.ts.
 */
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

describe('the local server when its store cannot be read', () => {
  it('answers 503 to a 10,000-hash lookup while its store is closed, and the whole answer once it is reopened', async () => {
    const hashes = [MSI_MD5, ...Array.from({ length: 9_999 }, () => randomBytes(20).toString('hex'))];
    const ask = (lines: readonly string[]) =>
      fetchJson(`${server.url}/v1/hashes/lookup`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: lines.join('\n'),
      });

    await server.store.close();
    const during = await ask(hashes);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('upstream_unavailable');
    expect(JSON.stringify(during.body)).not.toContain('"unknown"');
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).status).toBe(503);

    await server.reopenStore();
    const after = await ask(hashes);
    expect(after.status).toBe(200);
    expect(after.body.summary).toEqual({ total: 10_000, malicious: 1, unknown: 9_999, invalid: 0 });
  });
});
