import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer, type TestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';
import { EICAR } from '../support/reference.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

afterEach(() => {
  server.faults.mode = 'pass';
  server.faults.onCall = undefined;
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
  it('answers 503 to every lookup while every read of the store fails, and recovers when they succeed again', async () => {
    server.faults.mode = 'unavailable';
    expectFailedClosed(await askEveryWay());
    // Routes that do not read the store keep working.
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
    expect((await fetchJson(`${server.url}/v1/hashes/xyz`)).status).toBe(400);
    server.faults.mode = 'pass';
    await expectRecovered();
  });

  it('answers 503 to exports and the VirusTotal route while every read of the store fails, never a list or a clean report', async () => {
    // An export written before the fault is not served either: the version it belongs to cannot be read.
    expect((await fetch(`${server.url}/v1/exports/sha256.txt`)).status).toBe(200);
    server.faults.mode = 'unavailable';
    for (const path of ['/v1/exports/sha256.txt', '/v1/exports/clamav.hsb', `/vtapi/v2/file/report?resource=${MSI_MD5}`]) {
      const answer = await fetchJson(`${server.url}${path}`);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('upstream_unavailable');
    }
    server.faults.mode = 'pass';
    expect((await fetch(`${server.url}/v1/exports/sha256.txt`)).status).toBe(200);
  });

  it('answers 503 upstream_unavailable, never unknown, while the embedded store is closed, and recovers when it is reopened', async () => {
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).body.verdict).toBe('malicious');

    await server.store.close();
    expectFailedClosed(await askEveryWay());
    expect((await fetch(`${server.url}/v1/exports/sha256.txt`)).status).toBe(503);
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);

    // The same data, opened again.
    await server.reopenStore();
    await expectRecovered();
  });
});
