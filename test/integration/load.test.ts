import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLoad, mixedRequest, runLoad, type LoadRequest } from '../support/load.js';
import { pollUntil } from '../support/poll.js';
import { SERVER_ENTRIES, startServerProcess } from '../support/server-process.js';

/** Concurrent clients, as a busy mail relay or a few EDR scripts at once would be. */
const CLIENTS = 32;
/**
 * Requests of the measured run. A quiet two-core machine serves about 800 requests/s, so 20,000 would take
 * 25 s there, but 45-60 s while the rest of the suite runs beside it; 12,000 keeps the run near 30 s.
 */
const REQUESTS = 12_000;
/** Requests sent first and not measured, so JIT, connection pools and the heap reach their working size. */
const WARM_UP = 3_000;
/**
 * Growth over the measured run that still counts as flat: of the live heap after a full garbage
 * collection (a leak of more than 1.4 KiB per request fails it), and of the resident set, which also holds
 * what V8 and the allocator keep for reuse and keeps growing for a while after the warm-up on a busy
 * machine (by up to 65 MiB seen here).
 */
const HEAP_GROWTH_BOUND = 16 * 1024 * 1024;
const RSS_GROWTH_BOUND = 128 * 1024 * 1024;
/** The lookup deadline (HASHCHECK_LOOKUP_DEADLINE_MS default) plus slack: how late a 503 may still come after a fault ends. */
const FAULT_TAIL_MS = 3000 + 2000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const count5xx = (statuses: ReadonlyMap<number, number>) => [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
/** Kinds of request that read the store; the others must be answered whatever state the store is in. */
const STORE_KINDS = new Set(['known', 'unknown', 'bulk', 'file-raw', 'file-multipart']);

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-load-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the local server under load', () => {
  it(`answers ${REQUESTS} mixed requests from ${CLIENTS} clients with no 5xx, every answer right, and flat memory`, async () => {
    // The server as `npm start` runs it, in a process that can report its memory after a collection.
    const server = await startServerProcess(SERVER_ENTRIES.steerable, { HASHCHECK_DATA_DIR: join(dataDir, 'clean') });
    try {
      await runLoad({ url: server.url, clients: CLIENTS, requests: WARM_UP });
      const before = await server.memory();
      const report = await runLoad({ url: server.url, clients: CLIENTS, requests: REQUESTS });
      const after = await server.memory();
      console.log(
        `${describeLoad('load', report)}; server RSS ${mib(before.rss)} before, ${mib(after.rss)} after; ` +
          `heap after GC ${mib(before.heapUsed)} before, ${mib(after.heapUsed)} after`,
      );

      expect(Object.fromEntries(report.failed)).toEqual({});
      expect(count5xx(report.statuses)).toBe(0);
      expect(Object.fromEntries(report.wrong)).toEqual({});
      expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_GROWTH_BOUND);
      expect(after.rss - before.rss).toBeLessThan(RSS_GROWTH_BOUND);
    } finally {
      await server.stop();
    }
  }, 240_000);

  it('answers 503 upstream_unavailable only while the store is throttled, never a wrong verdict, and recovers after', async () => {
    const server = await startServerProcess(SERVER_ENTRIES.steerable, {
      HASHCHECK_DATA_DIR: join(dataDir, 'faults'),
      HASHCHECK_TEST_FAULT_PROXY: '1',
    });
    let faultFrom = Number.POSITIVE_INFINITY;
    let faultUntil = Number.POSITIVE_INFINITY;
    let started = 0;
    try {
      // During the fault, a store-backed request is right when it is answered as it should be, or 503.
      const make = (i: number): LoadRequest => {
        const r = mixedRequest(i);
        return {
          ...r,
          check: (status, body) =>
            r.check(status, body) ||
            (STORE_KINDS.has(r.kind) && status === 503 && (JSON.parse(body) as { error: { code: string } }).error.code === 'upstream_unavailable'),
        };
      };
      started = performance.now();
      const report = await runLoad({
        url: server.url,
        clients: CLIENTS,
        requests: 4_000,
        make,
        onProgress: async (answered) => {
          const now = performance.now() - started;
          if (answered === 1_000) {
            await server.setFault('throttle');
            faultFrom = performance.now() - started;
          } else if (now > faultFrom + 2_000 && faultUntil === Number.POSITIVE_INFINITY) {
            faultUntil = now;
            await server.setFault('pass');
          }
        },
      });
      const unavailable = report.timeline.filter((t) => t.status === 503);
      const outside = unavailable.filter((t) => t.at < faultFrom || t.at > faultUntil + FAULT_TAIL_MS);
      console.log(
        `${describeLoad('load with the store throttled', report)}; fault from ${(faultFrom / 1000).toFixed(1)} s to ` +
          `${(faultUntil / 1000).toFixed(1)} s: ${unavailable.length} answers 503, ${outside.length} outside the fault`,
      );
      // Recovery: once requests in flight during the fault have had their time, everything is answered again.
      await pollUntil(
        async () => (performance.now() - started > faultUntil + FAULT_TAIL_MS ? true : undefined),
        FAULT_TAIL_MS + 10_000,
        'the requests of the fault to settle',
      );
      const recovery = await runLoad({ url: server.url, clients: CLIENTS, requests: 1_000, make: mixedRequest });
      console.log(describeLoad('load after the store recovered', recovery));

      expect(Object.fromEntries(report.failed)).toEqual({});
      expect(Object.fromEntries(report.wrong)).toEqual({});
      expect(unavailable.length).toBeGreaterThan(0);
      expect(count5xx(report.statuses)).toBe(unavailable.length);
      expect(outside).toEqual([]);
      expect(unavailable.every((t) => STORE_KINDS.has(t.kind))).toBe(true);
      expect(count5xx(recovery.statuses)).toBe(0);
      expect(Object.fromEntries(recovery.failed)).toEqual({});
      expect(Object.fromEntries(recovery.wrong)).toEqual({});
    } finally {
      await server.stop();
    }
  }, 180_000);
});
