/**
 * Import of a million records: `hashcheck import` of a 1,000,000-line SHA-256 list, and of a CSV of a
 * million rows with three digests each, into a fresh local server, against `sort -u` of the same file.
 * Then the exports of that list: `sha256.txt` whole, again with `If-None-Match` (304), HEAD; and a lookup of
 * the record on the list's middle line.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scratchDir } from '../support/data.js';
import { fetchJson, startServerProcess, type ServerProcess } from '../support/local-server.js';
import { BENCH_ADMIN_KEY, importThroughCli, MILLION, millionFiles } from '../support/million-list.js';
import { run } from '../support/process.js';
import { formatNumber, formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

const TARGET_RATIO = 10;
/** Rounds of `sort -u` per file (it takes a second or two; its median is the reference). */
const SORT_ROUNDS = 3;

/** `sort -u FILE -o OUT` in the C locale (byte order, the faster and stricter reference), median of the rounds. */
async function sortUnique(file: string, out: string): Promise<{ ms: number; runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < SORT_ROUNDS; i++) {
    runs.push((await run('sort', ['-u', file, '-o', out], { env: { ...process.env, LC_ALL: 'C' } })).ms);
  }
  return { ms: median(runs), runs };
}

/** The digests of an export (its `#` comment lines left out), sorted. */
function exportDigests(body: string): string[] {
  return body
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .sort();
}

const digestOf = (lines: readonly string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');

async function fetchExport(server: ServerProcess, init?: RequestInit): Promise<{ status: number; headers: Headers; body: string; ms: number }> {
  const started = performance.now();
  // Identity: the plain file's bytes and length (fetch would otherwise ask for gzip and inflate it unseen).
  const headers = { 'accept-encoding': 'identity', ...(init?.headers as Record<string, string> | undefined) };
  const response = await fetch(`${server.url}/v1/exports/sha256.txt`, { ...init, headers });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
}

/** The exports and a lookup of the 1,000,000-record list; every answer checked. */
async function checkExports(context: BenchContext, server: ServerProcess, seedDigests: readonly string[], sortedList: string, middle: string, result: Parameters<Benchmark['run']>[1]): Promise<void> {
  context.log('import: GET /v1/exports/sha256.txt of the 1,000,000-record list');
  const whole = await fetchExport(server);
  if (whole.status !== 200) throw new Error(`GET /v1/exports/sha256.txt answered ${whole.status}: ${whole.body.slice(0, 300)}`);
  const lines = whole.body.split('\n').filter((line) => line !== '');
  const header = lines.filter((line) => line.startsWith('#')).length;
  const digests = exportDigests(whole.body);
  const expected = [...new Set([...readFileSync(sortedList, 'latin1').split('\n').filter(Boolean), ...seedDigests])].sort();
  if (digests.length !== expected.length || digestOf(digests) !== digestOf(expected)) {
    throw new Error(`sha256.txt holds ${digests.length} digests; the list and the seed list hold ${expected.length} (or other ones)`);
  }
  const etag = whole.headers.get('etag');
  if (!etag) throw new Error('GET /v1/exports/sha256.txt answered without an ETag');
  result.row({
    label: 'GET sha256.txt, first (written for this version)',
    value: whole.ms,
    unit: 'ms',
    detail: `${lines.length.toLocaleString('en-US')} lines: ${digests.length.toLocaleString('en-US')} digests (${MILLION.toLocaleString('en-US')} of the list, ${seedDigests.length} of the seed list) + ${header} header lines; ${formatNumber(whole.body.length / 1e6)} MB`,
  });

  const again = await fetchExport(server);
  if (again.status !== 200 || again.body.length !== whole.body.length || again.headers.get('etag') !== etag) {
    throw new Error(`A second GET of sha256.txt answered ${again.status} with ${again.body.length} bytes and ETag ${again.headers.get('etag')}`);
  }
  result.row({ label: 'GET sha256.txt, again (already written)', value: again.ms, unit: 'ms' });

  const conditional = await fetchExport(server, { headers: { 'if-none-match': etag } });
  if (conditional.status !== 304 || conditional.body !== '') {
    throw new Error(`GET sha256.txt with If-None-Match: ${etag} answered ${conditional.status} with ${conditional.body.length} bytes, not 304`);
  }
  result.row({ label: 'GET sha256.txt with If-None-Match → 304', value: conditional.ms, unit: 'ms' });

  const head = await fetchExport(server, { method: 'HEAD' });
  const length = Number(head.headers.get('content-length'));
  if (head.status !== 200 || head.headers.get('etag') !== etag || length !== Buffer.byteLength(whole.body)) {
    throw new Error(`HEAD sha256.txt answered ${head.status}, ETag ${head.headers.get('etag')}, content-length ${length}`);
  }
  result.row({ label: 'HEAD sha256.txt', value: head.ms, unit: 'ms', detail: `ETag ${etag}, content-length ${length.toLocaleString('en-US')}` });
  result.target('sha256.txt of the 1,000,000-record list whole, 304 on If-None-Match, HEAD with its ETag', `${digests.length.toLocaleString('en-US')} digests + ${header} header lines; 304; HEAD 200`, true);

  const lookedUp = await fetchJson<{ verdict: string }>(`${server.url}/v1/hashes/${middle}`);
  if (lookedUp.verdict !== 'malicious') throw new Error(`GET /v1/hashes/${middle} (the list's middle line) answered ${JSON.stringify(lookedUp)}`);
  result.target('a record from the middle of the list is malicious', `GET /v1/hashes/${middle.slice(0, 12)}… → malicious`, true);
}

export const importBenchmark: Benchmark = {
  name: 'import',
  title: 'hashcheck import of 1,000,000 records (a SHA-256 list and a three-digest CSV) against sort -u; the exports of the list',
  async run(context, result) {
    const files = await millionFiles(context.log);
    const scratch = await scratchDir('import');
    try {
      const sorted = join(scratch.path, 'sorted.txt');
      const discard = join(scratch.path, 'sorted.csv');
      const inputs = [
        { label: 'SHA-256 list, 1,000,000 lines', file: files.list, format: 'plain' as const, sortedOut: sorted },
        { label: 'CSV, 1,000,000 rows of sha256,sha1,md5', file: files.csv, format: 'csv' as const, sortedOut: discard },
      ];
      for (const input of inputs) {
        context.log(`import: sort -u of the ${input.label}`);
        const reference = await sortUnique(input.file, input.sortedOut);
        const sortRow = result.row({
          label: `sort -u, ${input.label}`,
          value: reference.ms / 1000,
          unit: 's',
          detail: `LC_ALL=C, median of ${SORT_ROUNDS} (${reference.runs.map((ms) => formatNumber(ms / 1000, 2)).join(', ')} s)`,
        });
        context.log(`import: hashcheck import of the ${input.label} into a fresh server`);
        const server = await startServerProcess(context.projectRoot, { HASHCHECK_ADMIN_KEY: BENCH_ADMIN_KEY });
        try {
          const seedExport = input.format === 'plain' ? exportDigests((await fetchExport(server)).body) : [];
          const loadBefore = loadavg()[0]!;
          const imported = await importThroughCli(context, server.url, input.file, input.format);
          const row = result.compared(
            {
              label: `hashcheck import, ${input.label}`,
              value: imported.ms / 1000,
              unit: 's',
              detail: `${formatNumber(MILLION / (imported.ms / 1000), 0)} records/s, ${imported.report.requests} requests, all ${MILLION.toLocaleString('en-US')} added; one run (load ${formatNumber(loadBefore)}); peak RSS of the server ${formatNumber(server.peakRss() / 1e6, 0)} MB`,
            },
            sortRow,
            true,
          );
          const times = 1 / row.ratio!;
          result.target(`import of the ${input.label} within ${TARGET_RATIO} × sort -u`, `${formatNumber(times)} × (${formatNumber(row.value)} s against ${formatNumber(sortRow.value, 2)} s)`, times <= TARGET_RATIO);
          if (input.format === 'plain') await checkExports(context, server, seedExport, sorted, files.middle, result);
        } finally {
          await server.stop();
        }
      }
      result.note(`Times against times: the ratio column is sort -u's time over the import's (${formatRatio(1 / TARGET_RATIO)} is the target's edge).`);
      result.note('Each import goes into a fresh server holding only the seed list; every report must count all 1,000,000 records added. The export must hold exactly the list plus the seed list\'s SHA-256 digests.');
    } finally {
      await scratch.dispose();
    }
  },
};
