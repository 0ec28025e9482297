import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixedRequest, runLoad, type LoadReport, type LoadRequest } from '../support/load.js';
import { SERVER_ENTRIES, startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * A short run of the load benchmark's request mix (`npm run bench -- load` measures throughput, latency and
 * memory with 20,000 requests): every kind of request answered right by the server as `npm start` runs
 * it, many at once, and while its store is throttled.
 */
const CLIENTS = 16;
const count5xx = (statuses: ReadonlyMap<number, number>) => [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
/** Kinds of request that read the store; the others must be answered whatever state the store is in. */
const STORE_KINDS = new Set(['known', 'unknown', 'bulk', 'file-raw', 'file-multipart']);

let dataDir: string;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-load-'));
  // The server as `npm start` runs it, with its store behind a proxy the test can throttle.
  server = await startServerProcess(SERVER_ENTRIES.steerable, { HASHCHECK_DATA_DIR: join(dataDir, 'data'), HASHCHECK_TEST_FAULT_PROXY: '1' });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function expectEveryAnswerRight(report: LoadReport) {
  expect(Object.fromEntries(report.failed)).toEqual({});
  expect(count5xx(report.statuses)).toBe(0);
  expect(Object.fromEntries(report.wrong)).toEqual({});
}

describe('the local server under load', () => {
  it(`answers every kind of request right, ${CLIENTS} clients at once, with no 5xx`, async () => {
    const report = await runLoad({ url: server.url, clients: CLIENTS, requests: 600 });
    expectEveryAnswerRight(report);
    // Every kind of the mix was sent.
    expect(new Set(report.timeline.map((t) => t.kind))).toEqual(
      new Set(['known', 'unknown', 'invalid', 'bulk', 'health', 'file-raw', 'file-multipart', 'not-found', 'wrong-method']),
    );
  });

  it('answers 503 upstream_unavailable only to requests that read the store while it is throttled, never a wrong verdict, and recovers after', async () => {
    // During the fault, a store-backed request is right when it is answered as it should be, or 503. Each of
    // those waits out the SDK's retries, so a few rounds of every kind of request are enough.
    const make = (i: number): LoadRequest => {
      const r = mixedRequest(i);
      return {
        ...r,
        check: (status, body) =>
          r.check(status, body) ||
          (STORE_KINDS.has(r.kind) && status === 503 && (JSON.parse(body) as { error: { code: string } }).error.code === 'upstream_unavailable'),
      };
    };
    await server.setFault('throttle');
    let report: LoadReport;
    try {
      report = await runLoad({ url: server.url, clients: CLIENTS, requests: 60, make });
    } finally {
      await server.setFault('pass');
    }
    const unavailable = report.timeline.filter((t) => t.status === 503);
    expect(Object.fromEntries(report.failed)).toEqual({});
    expect(Object.fromEntries(report.wrong)).toEqual({});
    expect(unavailable.length).toBeGreaterThan(0);
    expect(count5xx(report.statuses)).toBe(unavailable.length);
    expect(unavailable.every((t) => STORE_KINDS.has(t.kind))).toBe(true);

    const recovery = await runLoad({ url: server.url, clients: CLIENTS, requests: 200 });
    expectEveryAnswerRight(recovery);
  });
});
