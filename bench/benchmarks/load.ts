/**
 * Per-hash lookups first: `GET /v1/hashes/{hash}` from 32 connections with wrk, against the server as
 * `npm start` runs it and against the server before the embedded store (d0ec676), in the same run; then
 * the same server on a 1,000,000-record list, and its mixed load with a CPU hog beside it (load average
 * four times the cores): no 503 for valid work.
 *
 * Then load: the local server, under the mix of requests a busy deployment sees (lookups,
 * bulk lists, inline files, health checks, wrong paths and methods) from 32 concurrent clients. Requests
 * per second and latency; every answer checked; the server's memory after garbage collection before and
 * after the measured run; then every read of the store failing for two seconds in the middle of a run: 503 only
 * while it lasts, never a wrong verdict, and everything answered again after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeLoad, mixedRequest, runLoad, type LoadReport, type LoadRequest } from '../../test/support/load.js';
import { SERVER_ENTRIES, startServerProcess } from '../../test/support/server-process.js';
import { scratchDir } from '../support/data.js';
import { fetchJson, startServerProcess as startBuiltServer } from '../support/local-server.js';
import { copyOfMillionData, millionFiles } from '../support/million-list.js';
import { OLD_SERVER_COMMIT, startOldServer } from '../support/old-server.js';
import { stopChild } from '../support/process.js';
import { formatNumber, type ResultBuilder, type Row } from '../support/report.js';
import { ensureWrk, prepareWrk, runWrk, type WrkReport } from '../support/wrk.js';
import type { Benchmark, BenchContext } from '../support/context.js';

/** Per-hash lookups: wrk's connections and threads, seconds per round, rounds per server (best kept). */
const PER_HASH_CONNECTIONS = 32;
const WRK_THREADS = 2;
const WRK_SECONDS = 10;
const PER_HASH_ROUNDS = 2;
/** The per-hash target: this many times the old server's rate, and at least this many requests per second. */
const PER_HASH_TIMES_OLD = 10;
const PER_HASH_FLOOR = 3000;
/**
 * The CPU hog: the load average per core it must bring, the spinning processes it adds beyond that (the
 * 1-minute average only nears its target slowly: from a quiet machine, 4 per core alone take minutes to
 * show 4), and how long the average may take to get there.
 */
const HOG_PER_CORE = 4;
const HOG_EXTRA = 2;
const HOG_RAMP_MS = 240_000;
/** Under the hog: requests of the mixed run, and 10,000-hash bulk lookups after it. */
const HOG_REQUESTS = 6_000;
const HOG_BULK_LOOKUPS = 4;

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
/** Requests of the run with a failing store: enough for the fault to fall inside it on a fast server. */
const FAULT_RUN_REQUESTS = 10_000;
/** How long the store's reads fail, starting at the 1,000th answer of that run. */
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

/** The SHA-256 digests of the seed list (answering malicious) and as many random ones (unknown). */
function perHashHashes(projectRoot: string): { known: string[]; unknown: string[] } {
  const known = readFileSync(join(projectRoot, 'data', 'known-bad.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => (JSON.parse(line) as { sha256?: string }).sha256)
    .filter((h): h is string => typeof h === 'string');
  const unknown = Array.from({ length: 4_000 }, () => randomBytes(32).toString('hex'));
  return { known, unknown };
}

/** 3,000 per-hash GETs from 32 clients that wait for every answer: JIT, connections and caches warm. */
async function warmUp(url: string, known: readonly string[], unknown: readonly string[]): Promise<void> {
  const report = await runLoad({
    url,
    clients: PER_HASH_CONNECTIONS,
    requests: WARM_UP,
    make: (i) => {
      const isKnown = i % 2 === 0;
      const hash = isKnown ? known[i % known.length]! : unknown[i % unknown.length]!;
      return { kind: isKnown ? 'known' : 'unknown', method: 'GET', path: `/v1/hashes/${hash}`, check: (status, body) => status === 200 && body.includes(isKnown ? '"verdict":"malicious"' : '"verdict":"unknown"') };
    },
  });
  requireRight(`warm-up of ${url}`, report);
}

function requireRightWrk(label: string, report: WrkReport): void {
  if (report.wrong > 0 || report.socketErrors > 0 || report.malicious === 0) {
    throw new Error(`${label}: ${report.wrong} wrong answers (e.g. ${report.example}), ${report.socketErrors} socket errors, ${report.malicious} malicious of ${report.requests}`);
  }
}

/**
 * Per-hash `GET /v1/hashes/{hash}` with wrk: today's server and the server of {@link OLD_SERVER_COMMIT},
 * both on the seed list, in interleaved rounds; then today's server on the 1,000,000-record list.
 */
async function perHash(context: BenchContext, result: ResultBuilder, dir: string): Promise<void> {
  if (!ensureWrk(context.log)) {
    result.skip('wrk is not installed: the per-hash rows need it (sudo apt-get install -y wrk).');
    result.target(`per-hash GET ≥ max(${PER_HASH_TIMES_OLD} × the old server, ${PER_HASH_FLOOR} req/s)`, 'wrk missing', undefined);
    return;
  }
  const { known, unknown } = perHashHashes(context.projectRoot);
  const logRound = (name: string, round: number, report: WrkReport) =>
    context.log(`load: per-hash, ${name}, round ${round}: ${formatNumber(report.perSecond, 0)} req/s, p50 ${formatNumber(report.p50Ms)} ms, p99 ${formatNumber(report.p99Ms)} ms (load ${formatNumber(loadavg()[0]!)})`);
  const seedOnly = prepareWrk(dir, known, unknown);
  const options = { connections: PER_HASH_CONNECTIONS, threads: WRK_THREADS, seconds: WRK_SECONDS };
  context.log(`load: per-hash GET with wrk, ${PER_HASH_CONNECTIONS} connections: today's server and the server of ${OLD_SERVER_COMMIT}`);
  const today = await startBuiltServer(context.projectRoot);
  const runs = { today: [] as WrkReport[], old: [] as WrkReport[] };
  try {
    await warmUp(today.url, known, unknown);
    for (let round = 1; round <= PER_HASH_ROUNDS; round++) {
      // The old server ends on the first connection wrk cuts with a request in flight (a crash of its
      // HTTP edge fixed since): a fresh one for each round, warmed up by a client that lets answers finish.
      const old = await startOldServer(context.projectRoot);
      try {
        await warmUp(old.url, known, unknown);
        const report = await runWrk(old.url, seedOnly, options);
        logRound('old', round, report);
        requireRightWrk(`per-hash GET, ${OLD_SERVER_COMMIT}`, report);
        runs.old.push(report);
      } finally {
        await old.stop();
      }
      const report = await runWrk(today.url, seedOnly, options);
      logRound('today', round, report);
      requireRightWrk("per-hash GET, today's server", report);
      runs.today.push(report);
    }
  } finally {
    await today.stop();
  }
  const best = (reports: WrkReport[]) => reports.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const describe = (reports: WrkReport[]) => {
    const top = best(reports);
    return `best of ${reports.length} × ${WRK_SECONDS} s (${reports.map((r) => formatNumber(r.perSecond, 0)).join(', ')}); p50 ${formatNumber(top.p50Ms)} ms, p99 ${formatNumber(top.p99Ms)} ms`;
  };
  const oldRow: Row = result.row({ label: `per-hash GET, old server (${OLD_SERVER_COMMIT}, dynalite), seed list`, value: best(runs.old).perSecond, unit: 'req/s', detail: describe(runs.old) });
  const todayRow = result.compared({ label: 'per-hash GET, npm start server, seed list', value: best(runs.today).perSecond, unit: 'req/s', detail: describe(runs.today) }, oldRow);

  context.log('load: per-hash GET with wrk on the 1,000,000-record list');
  const files = await millionFiles(context.log);
  const middleOfList = readFileSync(files.list, 'latin1').slice(0, 65 * 4_000).split('\n').filter(Boolean);
  const millionHashes = prepareWrk(dir, [...known, ...middleOfList], unknown);
  const data = await copyOfMillionData(context);
  const million = await startBuiltServer(context.projectRoot, {}, { dataDir: data.path });
  let millionRow: Row;
  try {
    await warmUp(million.url, known, unknown);
    const report = await runWrk(million.url, millionHashes, options);
    requireRightWrk('per-hash GET, 1,000,000-record list', report);
    millionRow = result.compared(
      { label: 'per-hash GET, npm start server, 1,000,000 records', value: report.perSecond, unit: 'req/s', detail: `one round of ${WRK_SECONDS} s; p50 ${formatNumber(report.p50Ms)} ms, p99 ${formatNumber(report.p99Ms)} ms; half the hashes on the list` },
      oldRow,
    );
  } finally {
    await million.stop();
    await data.dispose();
  }
  const needed = Math.max(PER_HASH_TIMES_OLD * oldRow.value, PER_HASH_FLOOR);
  result.target(
    `per-hash GET with ${PER_HASH_CONNECTIONS} clients ≥ max(${PER_HASH_TIMES_OLD} × the old server, ${PER_HASH_FLOOR} req/s) = ${formatNumber(needed, 0)} req/s`,
    `${formatNumber(todayRow.value, 0)} req/s, ${formatNumber(todayRow.ratio!)} × the old server's ${formatNumber(oldRow.value, 0)}; ${formatNumber(millionRow.value, 0)} req/s on 1,000,000 records`,
    todayRow.value >= needed,
  );
  result.note(
    `Per-hash rows: wrk ${WRK_THREADS} threads, ${PER_HASH_CONNECTIONS} keep-alive connections, every answer checked by its Lua script (a 200 whose verdict is malicious exactly for the listed hashes); the old server is ${OLD_SERVER_COMMIT} (git archive into a temporary folder, run as its npm start did: tsx bin/local-server.ts), started afresh for each round because it ends on the first connection wrk cuts with a request in flight; the two alternate round by round and are warmed up with 3,000 requests; wrk shares the 2 cores with the server.`,
  );
}

/** `count` processes spinning on the CPU (a shell loop each), until they are killed. */
function startHog(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
}

/**
 * The server as npm start runs it, on the 1,000,000-record list, with spinning processes beside it once
 * the load average reached {@link HOG_PER_CORE} per core: the mixed load, then bulk lookups of
 * 10,000 hashes; every answer right, none 503.
 */
async function underHog(context: BenchContext, result: ResultBuilder): Promise<void> {
  const cores = cpus().length;
  const data = await copyOfMillionData(context);
  const server = await startBuiltServer(context.projectRoot, {}, { dataDir: data.path });
  const files = await millionFiles(context.log);
  const queries = readFileSync(files.queries, 'latin1').slice(0, 65 * 10_000).split('\n').filter(Boolean);
  const hog = startHog(HOG_PER_CORE * cores + HOG_EXTRA);
  try {
    context.log(`load: ${hog.length} spinning processes; waiting for the load average to reach ${HOG_PER_CORE * cores}`);
    const started = performance.now();
    while (loadavg()[0]! < HOG_PER_CORE * cores && performance.now() - started < HOG_RAMP_MS) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const loadAtStart = loadavg()[0]!;
    const report = await runLoad({ url: server.url, clients: CLIENTS, requests: HOG_REQUESTS });
    context.log(describeLoad('load beside the CPU hog', report));
    requireRight('mixed load beside the CPU hog', report);
    let bulkMalicious = 0;
    const bulkStarted = performance.now();
    for (let i = 0; i < HOG_BULK_LOOKUPS; i++) {
      const answer = await fetchJson<{ summary: { total: number; malicious: number; invalid: number } }>(`${server.url}/v1/hashes/lookup`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: queries.join('\n'),
      });
      if (answer.summary.total !== queries.length || answer.summary.invalid !== 0) throw new Error(`A 10,000-hash lookup beside the hog answered ${JSON.stringify(answer.summary)}`);
      bulkMalicious = answer.summary.malicious;
    }
    const bulkSeconds = (performance.now() - bulkStarted) / 1000;
    const loadAtEnd = loadavg()[0]!;
    const fiveXx = count5xx(report.statuses);
    result.row({
      label: `mixed requests beside a CPU hog (${hog.length} spinners)`,
      value: report.perSecond,
      unit: 'req/s',
      detail: `${HOG_REQUESTS} requests, ${CLIENTS} clients, 1,000,000-record list; p50 ${formatNumber(report.p50Ms)} ms, p99 ${formatNumber(report.p99Ms)} ms; load average ${formatNumber(loadAtStart)} → ${formatNumber(loadAtEnd)}`,
    });
    result.row({
      label: '10,000-hash POST /v1/hashes/lookup beside the hog',
      value: (bulkSeconds / HOG_BULK_LOOKUPS) * 1000,
      unit: 'ms',
      detail: `mean of ${HOG_BULK_LOOKUPS}, each 200 with all 10,000 answered (${bulkMalicious} on the list)`,
    });
    result.target(
      `no 503 for valid work with the load average at ${HOG_PER_CORE} × the ${cores} cores`,
      `${fiveXx} 5xx of ${HOG_REQUESTS}, ${HOG_BULK_LOOKUPS} bulk lookups of 10,000 answered; load average ${formatNumber(loadAtStart)} → ${formatNumber(loadAtEnd)}`,
      // A load average that never got there leaves the target unmeasured, whatever the answers were.
      fiveXx > 0 ? false : loadAtStart >= HOG_PER_CORE * cores ? true : undefined,
    );
  } finally {
    for (const spinner of hog) await stopChild(spinner, 1000);
    await server.stop();
    await data.dispose();
  }
}

export const loadBenchmark: Benchmark = {
  name: 'load',
  title: `per-hash GET against the server before the embedded store; the local server under ${CLIENTS} concurrent clients: throughput, latency, memory, a CPU hog, a failing store`,
  async run(context, result) {
    const data = await scratchDir('load');
    try {
      await perHash(context, result, data.path);
      context.log(`load: beside a CPU hog (a load average of ${HOG_PER_CORE} per core)`);
      await underHog(context, result);

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
        // The fault ends on a timer, not on an answer: a server fast enough to finish the run within the
        // fault's two seconds still sees it end, and the run waits for that.
        let faultEnded: Promise<void> = Promise.resolve();
        const started = performance.now();
        const report = await runLoad({
          url: faulty.url,
          clients: CLIENTS,
          requests: FAULT_RUN_REQUESTS,
          make,
          onProgress: async (answered) => {
            if (answered !== 1_000) return;
            await faulty.setFault('unavailable');
            faultFrom = performance.now() - started;
            faultEnded = new Promise<void>((resolve) => setTimeout(resolve, FAULT_MS)).then(async () => {
              await faulty.setFault('pass');
              faultUntil = performance.now() - started;
            });
          },
        });
        await faultEnded;
        context.log(describeLoad('load with the store failing', report));
        requireRight('run with the store failing', report);
        const unavailable = report.timeline.filter((t) => t.status === 503);
        const outside = unavailable.filter((t) => t.at < faultFrom || t.at > faultUntil + FAULT_TAIL_MS);
        const other5xx = count5xx(report.statuses) - unavailable.length;
        const storeFree503 = unavailable.filter((t) => !STORE_KINDS.has(t.kind)).length;
        result.row({ label: 'answers 503 during the fault', value: unavailable.length, unit: 'answers', detail: `of ${FAULT_RUN_REQUESTS.toLocaleString('en-US')}; fault from ${formatNumber(faultFrom / 1000)} s to ${formatNumber(faultUntil / 1000)} s` });
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
