import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb } from '../../local/dynamodb-local.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

describe('the local server when its store is down', () => {
  it('answers 503 upstream_unavailable, never unknown, and recovers when the store returns', async () => {
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).body.verdict).toBe('malicious');

    await server.dynamoDb.close();
    const single = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`);
    expect(single.status).toBe(503);
    expect(single.body.error.code).toBe('upstream_unavailable');
    const bulk = await fetchJson(`${server.url}/v1/hashes/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hashes: [MSI_MD5, '0'.repeat(64)] }),
    });
    expect(bulk.status).toBe(503);
    expect(JSON.stringify(bulk.body)).not.toContain('"unknown"');
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);

    const port = Number(new URL(server.dynamoDb.endpoint).port);
    const restarted = await startLocalDynamoDb(join(server.dataDir, 'dynamodb'), port);
    try {
      const again = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`);
      expect(again.status).toBe(200);
      expect(again.body.verdict).toBe('malicious');
    } finally {
      await restarted.close();
    }
  });
});
