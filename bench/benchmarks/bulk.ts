/**
 * Bulk lookup: 100,000 hashes through the CLI against the local server, against the same hashes looked
 * up one `GET /v1/hashes/{hash}` at a time. Hashes per second both ways.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MAX_BULK_HASHES } from '../../lambdas/core/limits.js';
import { findCli, parseJsonLines } from '../support/cli.js';
import { scratchDir } from '../support/data.js';
import { fetchJson, startServerProcess, LOOKUP_BENCH_ENV, type ServerProcess } from '../support/local-server.js';
import { run } from '../support/process.js';
import { formatNumber, formatRatio } from '../support/report.js';
import type { Benchmark } from '../support/context.js';

const HASHES = 100_000;
/** The per-hash loop looks up this many of the hashes and extrapolates the rate. */
const PER_HASH_SAMPLE = 5_000;
/** Requests in flight in the per-hash loop, as a script with a small worker pool would have. */
const PER_HASH_CONCURRENCY = 8;
/** The fallback's batches: the API's limit per request, two in flight. */
const BATCH = MAX_BULK_HASHES;
const BATCH_CONCURRENCY = 2;
const TARGET_RATIO = 20;

/**
 * 100,000 hashes, a third each MD5, SHA-1 and SHA-256, with the known-bad digests of the seed list
 * spread through them so the answers include matches.
 */
function hashList(projectRoot: string): { lines: string[]; known: ReadonlySet<string> } {
  const seed = readFileSync(join(projectRoot, 'data', 'known-bad.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .flatMap((line) => {
      const record = JSON.parse(line) as { md5?: string; sha1?: string; sha256?: string };
      return [record.sha256, record.sha1, record.md5].filter((h): h is string => typeof h === 'string');
    });
  const known = [...new Set(seed)].slice(0, 50);
  const lengths = [16, 20, 32];
  const lines = Array.from({ length: HASHES }, (_, i) => randomBytes(lengths[i % 3]!).toString('hex'));
  const stride = Math.floor(HASHES / known.length);
  known.forEach((hash, i) => {
    // Every other one falls on a line the per-hash sample takes, so both ways meet known-bad digests.
    lines[i * stride + (i % 2 === 0 ? 0 : 7)] = hash;
  });
  return { lines, known: new Set(known) };
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

interface BulkAnswer {
  readonly results: readonly { verdict?: string; error?: unknown }[];
  readonly summary: { total: number; malicious: number; unknown: number; invalid: number };
}

/** The fallback while the CLI is missing: `POST /v1/hashes/lookup` in batches of 10,000, two in flight. */
async function bulkOverHttp(server: ServerProcess, lines: readonly string[]): Promise<{ ms: number; malicious: number; answered: number }> {
  const batches = Array.from({ length: Math.ceil(lines.length / BATCH) }, (_, i) => lines.slice(i * BATCH, (i + 1) * BATCH));
  let malicious = 0;
  let answered = 0;
  const started = performance.now();
  await forEachLimited(batches, BATCH_CONCURRENCY, async (batch) => {
    const answer = await fetchJson<BulkAnswer>(`${server.url}/v1/hashes/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: batch.join('\n'),
    });
    if (answer.results.length !== batch.length || answer.summary.invalid !== 0) {
      throw new Error(`A batch of ${batch.length} hashes got ${answer.results.length} results, ${answer.summary.invalid} invalid`);
    }
    malicious += answer.summary.malicious;
    answered += answer.results.length;
  });
  return { ms: performance.now() - started, malicious, answered };
}

/** `hashcheck lookup -f FILE --json` against the server; counts its result lines. */
async function bulkThroughCli(cli: string, server: ServerProcess, file: string, projectRoot: string): Promise<{ ms: number; malicious: number | undefined; answered: number }> {
  const result = await run(cli, ['lookup', '-f', file, '--json'], {
    cwd: projectRoot,
    env: { ...process.env, HASHCHECK_URL: server.url },
    // 1: something known-bad was found, which this list has on purpose.
    okCodes: [0, 1],
  });
  const objects = parseJsonLines(result.stdout);
  const withVerdict = objects.filter((o) => typeof o['verdict'] === 'string');
  return {
    ms: result.ms,
    malicious: withVerdict.length > 0 ? withVerdict.filter((o) => o['verdict'] === 'malicious').length : undefined,
    answered: objects.length,
  };
}

export const bulkBenchmark: Benchmark = {
  name: 'bulk',
  title: 'bulk lookup of 100,000 hashes against one GET per hash (local server)',
  async run(context, result) {
    const scratch = await scratchDir('bulk');
    const server = await startServerProcess(context.projectRoot, LOOKUP_BENCH_ENV);
    try {
      const { lines, known } = hashList(context.projectRoot);
      const knownBad = known.size;
      const file = join(scratch.path, 'hashes.txt');
      writeFileSync(file, `${lines.join('\n')}\n`);

      // Warm-up: the first requests load the handler's lazy parts and open connections.
      await forEachLimited(lines.slice(0, 200), PER_HASH_CONCURRENCY, async (hash) => {
        await fetchJson(`${server.url}/v1/hashes/${hash}`);
      });
      await bulkOverHttp(server, lines.slice(0, 2_000));

      context.log(`bulk: one GET per hash, ${PER_HASH_SAMPLE} sampled, ${PER_HASH_CONCURRENCY} in flight`);
      const sample = lines.filter((_, i) => i % (HASHES / PER_HASH_SAMPLE) === 0);
      let sampleMalicious = 0;
      const started = performance.now();
      await forEachLimited(sample, PER_HASH_CONCURRENCY, async (hash) => {
        const answer = await fetchJson<{ verdict: string }>(`${server.url}/v1/hashes/${hash}`);
        if (answer.verdict === 'malicious') sampleMalicious += 1;
        else if (answer.verdict !== 'unknown') throw new Error(`GET /v1/hashes/${hash} answered ${JSON.stringify(answer)}`);
      });
      const perHashMs = performance.now() - started;
      const expectedSampleMalicious = sample.filter((h) => known.has(h)).length;
      if (sampleMalicious !== expectedSampleMalicious) {
        throw new Error(`The per-hash loop found ${sampleMalicious} known-bad hashes in its sample, which holds ${expectedSampleMalicious}`);
      }
      const perHash = result.row({
        label: 'one GET /v1/hashes/{hash} per hash',
        value: PER_HASH_SAMPLE / (perHashMs / 1000),
        unit: 'hashes/s',
        detail: `${PER_HASH_SAMPLE.toLocaleString('en-US')} of the 100,000 sampled, ${PER_HASH_CONCURRENCY} in flight; rate extrapolated (${formatNumber((HASHES / PER_HASH_SAMPLE) * (perHashMs / 1000), 0)} s for all)`,
      });

      const cli = findCli(context.projectRoot);
      let bulk: { ms: number; malicious: number | undefined; answered: number };
      let label: string;
      let detail: string;
      if (cli) {
        context.log('bulk: 100,000 hashes through hashcheck lookup -f FILE --json');
        bulk = await bulkThroughCli(cli, server, file, context.projectRoot);
        label = 'hashcheck lookup -f FILE --json (CLI)';
        detail = 'all 100,000, one CLI process from start to exit';
        result.note(`The CLI measured: ${cli}${process.env['HASHCHECK_BENCH_CLI'] ? ' (HASHCHECK_BENCH_CLI)' : ''}.`);
      } else {
        context.log('bulk: the CLI is not installed; POST /v1/hashes/lookup in batches of 10,000');
        bulk = await bulkOverHttp(server, lines);
        label = 'POST /v1/hashes/lookup, batches of 10,000 (no CLI)';
        detail = `all 100,000, ${BATCH_CONCURRENCY} batches in flight`;
        result.skip(
          'The hashcheck CLI is not installed (node_modules/.bin/hashcheck is missing), so the bulk row uses POST /v1/hashes/lookup from the suite itself; it switches to the CLI once package.json declares "bin" and npm install links it.',
        );
      }
      if (bulk.answered !== HASHES) throw new Error(`${label} answered ${bulk.answered} of ${HASHES} hashes`);
      if (bulk.malicious !== undefined && bulk.malicious !== knownBad) {
        throw new Error(`${label} found ${bulk.malicious} known-bad hashes; the list holds ${knownBad}`);
      }
      const bulkRow = result.compared({ label, value: HASHES / (bulk.ms / 1000), unit: 'hashes/s', detail }, perHash);
      result.target(`bulk lookup ≥ ${TARGET_RATIO} × the per-hash loop`, formatRatio(bulkRow.ratio!), bulkRow.ratio! >= TARGET_RATIO);
      result.note(
        `The list: 100,000 random MD5/SHA-1/SHA-256 digests with ${knownBad} known-bad digests of the seed list spread through them; the answers must find exactly those.`,
      );
    } finally {
      await server.stop();
      await scratch.dispose();
    }
  },
};
