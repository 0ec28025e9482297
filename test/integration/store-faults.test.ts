import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultMode } from '../support/faulty-dynamodb.js';
import { putStoreBehindProxy, type StoreBehindProxy } from '../support/fault-proxy-server.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';
import { pollUntil } from '../support/poll.js';
import { EICAR } from '../support/reference.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
/** HASHCHECK_LOOKUP_DEADLINE_MS is left at its default. */
const DEADLINE_MS = 3000;

let server: Awaited<ReturnType<typeof startTestServer>>;
let faults: StoreBehindProxy;

beforeAll(async () => {
  server = await startTestServer();
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

  it('answers 503 when the store stops answering during a 10,000-hash lookup, and whole answers once it is back', async () => {
    const hashes = [MSI_MD5, ...Array.from({ length: 9_999 }, () => randomBytes(20).toString('hex'))];
    const ask = (lines: readonly string[]) =>
      fetchJson(`${server.url}/v1/hashes/lookup`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: lines.join('\n'),
      });
    // From the tenth of its 100 batch reads on, every connection to the store is cut without an answer.
    faults.proxy.calls.clear();
    faults.proxy.onRequest = (operation, count) => {
      if (operation === 'BatchGetItem' && count === 10) faults.proxy.mode = 'drop';
    };
    const during = await ask(hashes);
    expect(faults.proxy.calls.get('BatchGetItem')).toBeGreaterThanOrEqual(10);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('upstream_unavailable');
    expect(JSON.stringify(during.body)).not.toContain('"unknown"');
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).status).toBe(503);

    faults.proxy.onRequest = undefined;
    faults.proxy.mode = 'pass';
    // A busy machine may need more than the deadline for 10,000 hashes: the first whole answer counts.
    const after = await pollUntil(
      async () => {
        const answer = await ask(hashes);
        if (answer.status === 503) return undefined;
        return answer;
      },
      60_000,
      'a whole answer to the 10,000 hashes',
    );
    expect(after.status).toBe(200);
    expect(after.body.summary).toEqual({ total: 10_000, malicious: 1, unknown: 9_999, invalid: 0 });
  });
});
