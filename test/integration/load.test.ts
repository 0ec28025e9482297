import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../support/load.js';
import { SERVER_ENTRIES, startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * A short run of the load benchmark's request mix: every kind of request answered right by the server as
 * `npm start` runs it, many at once. `npm run bench -- load` measures throughput, latency and memory with
 * 20,000 requests, and the same mix with the store throttled part-way; the store's faults are tested once
 * for the local server, in store-faults.test.ts and fail-closed.test.ts.
 */
const CLIENTS = 16;
const REQUESTS = 600;

let dataDir: string;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-load-'));
  server = await startServerProcess(SERVER_ENTRIES.steerable, { HASHCHECK_DATA_DIR: join(dataDir, 'data') });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the local server under load', () => {
  it(`answers ${REQUESTS} mixed requests from ${CLIENTS} clients with no 5xx and every answer right`, async () => {
    const report = await runLoad({ url: server.url, clients: CLIENTS, requests: REQUESTS });
    expect(Object.fromEntries(report.failed)).toEqual({});
    expect([...report.statuses.keys()].filter((status) => status >= 500)).toEqual([]);
    expect(Object.fromEntries(report.wrong)).toEqual({});
    // Every kind of the mix was sent.
    expect(new Set(report.timeline.map((t) => t.kind))).toEqual(
      new Set(['known', 'unknown', 'invalid', 'bulk', 'health', 'file-raw', 'file-multipart', 'not-found', 'wrong-method']),
    );
  });
});
