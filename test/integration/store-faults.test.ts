import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb } from '../../local/dynamodb-local.js';
import { startFaultyDynamoDb, type FaultMode } from '../support/faulty-dynamodb.js';
import { putStoreBehindProxy, type StoreBehindProxy } from '../support/fault-proxy-server.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';
import { EICAR } from '../support/reference.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
/** The lookup deadline the server runs with: shorter than the 3 s default, so the faults it bounds end sooner. */
const DEADLINE_MS = 1000;

let server: Awaited<ReturnType<typeof startTestServer>>;
let faults: StoreBehindProxy;

beforeAll(async () => {
  server = await startTestServer(undefined, { lookupDeadlineMs: DEADLINE_MS });
  faults = await putStoreBehindProxy(server, server.dataDir);
});

afterAll(async () => {
  await faults.close();
  await server.stop();
});

afterEach(() => {
  faults.proxy.mode = 'pass';
  faults.proxy.onRequest = undefined;
});

/** Every store-backed way of asking: one hash, a bulk list, a file sent inline (raw and multipart). */
function askEveryWay() {
  const lookup = (path: string, init?: RequestInit) => fetchJson(`${server.url}${path}`, init);
  const form = multipartBody([{ field: 'file', fileName: 'eicar.com', content: EICAR }]);
  return Promise.all([
    lookup(`/v1/hashes/${MSI_MD5}`),
    lookup('/v1/hashes/lookup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hashes: [MSI_MD5, randomBytes(32).toString('hex'), 'nope'] }),
    }),
    lookup('/v1/files', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: EICAR }),
    lookup('/v1/files', { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body }),
  ]);
}

function expectFailedClosed(answers: readonly Awaited<ReturnType<typeof fetchJson>>[]) {
  for (const answer of answers) {
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('upstream_unavailable');
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(JSON.stringify(answer.body)).not.toMatch(/"verdict"|"unknown"/);
  }
}

async function expectRecovered() {
  const [single, bulk, raw, multipart] = await askEveryWay();
  expect(single.status).toBe(200);
  expect(single.body.verdict).toBe('malicious');
  expect(bulk.body.summary).toEqual({ total: 3, malicious: 1, unknown: 1, invalid: 1 });
  expect(raw.body.files[0].verdict).toBe('malicious');
  expect(multipart.body.files[0].verdict).toBe('malicious');
}

describe('the local server when its store fails', () => {
  it.each<[string, FaultMode]>([
    ['throttles every call', 'throttle'],
    ['answers 500 to every call', 'error500'],
    ['drops every connection without an answer', 'drop'],
  ])('answers 503 to every lookup while the store %s, and recovers when it stops', async (_what, mode) => {
    faults.proxy.mode = mode;
    expectFailedClosed(await askEveryWay());
    // Routes that do not read the store keep working.
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
    expect((await fetchJson(`${server.url}/v1/hashes/xyz`)).status).toBe(400);
    faults.proxy.mode = 'pass';
    await expectRecovered();
  });

  it('answers 503 within the lookup deadline when the store is slower than it, and recovers', async () => {
    faults.proxy.mode = 'slow';
    faults.proxy.delayMs = 20_000;
    const started = performance.now();
    const answers = await askEveryWay();
    const elapsed = performance.now() - started;
    expectFailedClosed(answers);
    expect(elapsed).toBeLessThan(DEADLINE_MS + 2000);
    faults.proxy.mode = 'pass';
    await expectRecovered();
  });

  it('answers 503 when keys stay unprocessed past the deadline, and never a partial list', async () => {
    faults.proxy.mode = 'unprocessed';
    const [, bulk, raw, multipart] = await askEveryWay();
    expectFailedClosed([bulk, raw, multipart]);
    faults.proxy.mode = 'pass';
    await expectRecovered();
  });

  it('answers 503 upstream_unavailable, never unknown, while nothing listens at the store address, and recovers when the store returns', async () => {
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).body.verdict).toBe('malicious');

    // The store and its proxy both stop: connections to the store's address are refused.
    await faults.close();
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

    // The store comes back with its data, at the address the service knows.
    const store = await startLocalDynamoDb(join(server.dataDir, 'dynamodb'));
    const proxy = await startFaultyDynamoDb(store.endpoint, { port: Number(new URL(server.dynamoDb.endpoint).port) });
    faults = {
      proxy,
      close: async () => {
        await proxy.close();
        await store.close().catch(() => undefined);
      },
    };
    const again = await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`);
    expect(again.status).toBe(200);
    expect(again.body.verdict).toBe('malicious');
  });
});
