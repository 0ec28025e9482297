/**
 * Load: the local server as `npm start` runs it, under the mix of requests a busy deployment sees (lookups,
 * bulk lists, inline files, health checks, wrong paths and methods) from 32 concurrent clients. Requests
 * per second and latency; every answer checked; the server's memory after garbage collection before and
 * after the measured run; then every read of the store failing for two seconds in the middle of a run: 503 only
 * while it lasts, never a wrong verdict, and everything answered again after.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeLoad, mixedRequest, runLoad, type LoadReport, type LoadRequest } from '../../test/support/load.js';
import { SERVER_ENTRIES, startServerProcess } from '../../test/support/server-process.js';
import { scratchDir } from '../support/data.js';
import { formatNumber } from '../support/report.js';
import type { Benchmark } from '../support/context.js';

/** Concurrent clients, as a busy mail relay or a few EDR scripts at once would be. */
const CLIENTS = 32;
/** Requests of the measured run (a quiet two-core machine serves about 800 per second). */
const REQUESTS = 20_000;
/** Requests sent first and not measured, so JIT, connection pools and the heap reach their working size. */
const WARM_UP = 3_000;
/**
 * Growth over the measured run that still counts as flat: of the live heap after a full garbage
 * collection (a leak of more than 0.8 KiB per request shows), and of the resident set, which also holds
 * what V8 and the allocator keep for reuse and keeps growing for a while after the warm-up on a busy
 * machine (by up to 65 MiB seen here).
 */
const HEAP_GROWTH_BOUND = 16 * 1024 * 1024;
const RSS_GROWTH_BOUND = 128 * 1024 * 1024;
/** The lookup deadline the server runs with (HASHCHECK_LOOKUP_DEADLINE_MS's default). */
const DEADLINE_MS = 3000;
/** How late a 503 may still come after the fault ends: the lookup deadline plus slack. */
const FAULT_TAIL_MS = DEADLINE_MS + 2000;
/** How long the store's reads fail, starting at the 1,000th answer of a 4,000-request run. */
const FAULT_MS = 2000;

const mib = (bytes: number) => bytes / 1024 / 1024;
const count5xx = (statuses: ReadonlyMap<number, number>) => [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
/** Kinds of request that read the store; the others must be answered whatever state the store is in. */
const STORE_KINDS = new Set(['known', 'unknown', 'bulk', 'file-raw', 'file-multipart']);

/** A run that got a wrong answer or none at all is a broken service, not a slow one. */
function requireRight(label: string, report: LoadReport): void {
  const problems = [
    ...[...report.wrong].map(([kind, { count, example }]) => `${count} wrong ${kind} answers, e.g. ${example}`),
    ...[...report.failed].map(([message, count]) => `${count} requests without an answer: ${message}`),
  ];
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}

export const loadBenchmark: Benchmark = {
  name: 'load',
  title: `the local server under ${CLIENTS} concurrent clients: throughput, latency, memory, a failing store`,
  async run(context, result) {
    const data = await scratchDir('load');
    try {
      context.log(`load: ${WARM_UP} requests to warm up, then ${REQUESTS} measured`);
      const server = await startServerProcess(SERVER_ENTRIES.steerable, { HASHCHECK_DATA_DIR: join(data.path, 'clean'), POWERTOOLS_LOG_LEVEL: 'ERROR' });
      try {
        requireRight('warm-up', await runLoad({ url: server.url, clients: CLIENTS, requests: WARM_UP }));
        const before = await server.memory();
        const report = await runLoad({ url: server.url, clients: CLIENTS, requests: REQUESTS });
        const after = await server.memory();
        context.log(describeLoad('load', report));
        requireRight('measured run', report);
        const throughput = result.row({ label: 'mixed requests', value: report.perSecond, unit: 'req/s', detail: `${REQUESTS} requests, ${CLIENTS} clients, keep-alive` });
        result.row({ label: 'latency p50', value: report.p50Ms, unit: 'ms', detail: `p99 ${formatNumber(report.p99Ms)} ms, max ${formatNumber(report.maxMs, 0)} ms` });
        const heapGrowth = after.heapUsed - before.heapUsed;
        const rssGrowth = after.rss - before.rss;
        result.row({ label: 'heap growth after GC', value: mib(heapGrowth), unit: 'MiB', detail: `${formatNumber(mib(before.heapUsed))} MiB before, ${formatNumber(mib(after.heapUsed))} MiB after` });
        result.row({ label: 'RSS growth', value: mib(rssGrowth), unit: 'MiB', detail: `${formatNumber(mib(before.rss))} MiB before, ${formatNumber(mib(after.rss))} MiB after` });
        const fiveXx = count5xx(report.statuses);
        result.target('no 5xx answer under load', `${fiveXx} of ${REQUESTS}`, fiveXx === 0);
        result.target(`heap after GC grows < ${mib(HEAP_GROWTH_BOUND)} MiB over the run`, `${formatNumber(mib(heapGrowth))} MiB`, heapGrowth < HEAP_GROWTH_BOUND);
        result.target(`RSS grows < ${mib(RSS_GROWTH_BOUND)} MiB over the run`, `${formatNumber(mib(rssGrowth))} MiB`, rssGrowth < RSS_GROWTH_BOUND);
        result.note(`Every answer is checked (verdicts, summaries, error codes); ${formatNumber(throughput.value, 0)} req/s on this run.`);
      } finally {
        await server.stop();
      }

      context.log(`load: the store's reads failing for ${FAULT_MS / 1000} s in the middle of a run`);
      const faulty = await startServerProcess(SERVER_ENTRIES.steerable, {
        HASHCHECK_DATA_DIR: join(data.path, 'faults'),
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      });
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
        let faultFrom = Number.POSITIVE_INFINITY;
        let faultUntil = Number.POSITIVE_INFINITY;
        const started = performance.now();
        const report = await runLoad({
          url: faulty.url,
          clients: CLIENTS,
          requests: 4_000,
          make,
          onProgress: async (answered) => {
            const now = performance.now() - started;
            if (answered === 1_000) {
              await faulty.setFault('unavailable');
              faultFrom = performance.now() - started;
            } else if (now > faultFrom + FAULT_MS && faultUntil === Number.POSITIVE_INFINITY) {
              faultUntil = now;
              await faulty.setFault('pass');
            }
          },
        });
        context.log(describeLoad('load with the store failing', report));
        requireRight('run with the store failing', report);
        const unavailable = report.timeline.filter((t) => t.status === 503);
        const outside = unavailable.filter((t) => t.at < faultFrom || t.at > faultUntil + FAULT_TAIL_MS);
        const other5xx = count5xx(report.statuses) - unavailable.length;
        const storeFree503 = unavailable.filter((t) => !STORE_KINDS.has(t.kind)).length;
        result.row({ label: 'answers 503 during the fault', value: unavailable.length, unit: 'answers', detail: `of 4,000; fault from ${formatNumber(faultFrom / 1000)} s to ${formatNumber(faultUntil / 1000)} s` });
        result.target('503 upstream_unavailable while the store fails', `${unavailable.length} answers`, unavailable.length > 0);
        result.target(`no 503 before the fault or later than ${FAULT_TAIL_MS / 1000} s after it`, `${outside.length} outside`, outside.length === 0);
        result.target('no other 5xx, and no 503 for requests that do not read the store', `${other5xx} other 5xx, ${storeFree503} store-free 503`, other5xx === 0 && storeFree503 === 0);

        // Recovery: once requests in flight during the fault have had their time, everything is answered again.
        const settled = faultUntil + FAULT_TAIL_MS - (performance.now() - started);
        if (settled > 0) await new Promise((resolve) => setTimeout(resolve, settled));
        const recovery = await runLoad({ url: faulty.url, clients: CLIENTS, requests: 1_000 });
        context.log(describeLoad('load after the store recovered', recovery));
        requireRight('run after the store recovered', recovery);
        const recovered5xx = count5xx(recovery.statuses);
        result.target('no 5xx once the store is back', `${recovered5xx} of 1,000`, recovered5xx === 0);
      } finally {
        await faulty.stop();
      }
    } finally {
      await data.dispose();
    }
  },
};
