/**
 * The benchmark suite: `npm run bench` runs every benchmark, `npm run bench -- NAME...` some of them.
 * Prints a summary on stdout (progress goes to stderr) and writes the figures as JSON into
 * `bench-results/`. Benchmarks report; they never fail on a figure. The exit code is 1 only when a
 * benchmark broke (wrong digests, a server that would not start), 2 on a usage error.
 *
 * Options: `--clean` deletes the cache of generated inputs at the end (see `support/data.ts`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bulkBenchmark } from './benchmarks/bulk.js';
import { coldstartBenchmark } from './benchmarks/coldstart.js';
import { digestBenchmark } from './benchmarks/digest.js';
import { importBenchmark } from './benchmarks/import.js';
import { loadBenchmark } from './benchmarks/load.js';
import { membersBenchmark } from './benchmarks/members.js';
import { memoryBenchmark } from './benchmarks/memory.js';
import { parsersBenchmark } from './benchmarks/parsers.js';
import { treeBenchmark } from './benchmarks/tree.js';
import type { Benchmark, BenchContext } from './support/context.js';
import { cacheDir, removeCache } from './support/data.js';
import { describeMachine } from './support/machine.js';
import { formatResult, formatTargets, ResultBuilder, type BenchmarkResult } from './support/report.js';

const BENCHMARKS: readonly Benchmark[] = [
  digestBenchmark,
  memoryBenchmark,
  bulkBenchmark,
  importBenchmark,
  coldstartBenchmark,
  treeBenchmark,
  parsersBenchmark,
  loadBenchmark,
  membersBenchmark,
];
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

function parseArguments(argv: readonly string[]): { selected: Benchmark[]; clean: boolean } {
  const names = argv.filter((a) => !a.startsWith('--'));
  const flags = argv.filter((a) => a.startsWith('--'));
  const unknownFlag = flags.find((f) => f !== '--clean');
  const unknownName = names.find((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknownFlag !== undefined || unknownName !== undefined) {
    console.error(`bench: unknown ${unknownFlag !== undefined ? `option ${unknownFlag}` : `benchmark '${unknownName}'`}`);
    console.error(`usage: npm run bench [-- [${BENCHMARKS.map((b) => b.name).join('|')}]... [--clean]]`);
    process.exit(2);
  }
  const selected = names.length === 0 ? [...BENCHMARKS] : BENCHMARKS.filter((b) => names.includes(b.name));
  return { selected, clean: flags.includes('--clean') };
}

const { selected, clean } = parseArguments(process.argv.slice(2));
const context: BenchContext = {
  projectRoot: PROJECT_ROOT,
  log: (line) => process.stderr.write(`[bench] ${line}\n`),
};

const machine = await describeMachine();
const startedAt = new Date();
console.log(`hashcheck benchmarks, ${startedAt.toISOString()}`);
console.log(
  `machine: ${machine.cpuModel}${machine.shaNi ? ' (SHA-NI)' : ''}, ${machine.cores} cores (nproc), ${machine.memoryGiB} GiB memory, node ${machine.node}, openssl ${machine.openssl}`,
);
console.log(`cache of generated inputs: ${cacheDir()}${clean ? ' (deleted at the end: --clean)' : ' (kept; --clean deletes it)'}`);
console.log('');

const results: BenchmarkResult[] = [];
for (const benchmark of selected) {
  context.log(`${benchmark.name}: ${benchmark.title}`);
  const builder = new ResultBuilder(benchmark.name, benchmark.title);
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  let error: string | undefined;
  try {
    await benchmark.run(context, builder);
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const result = builder.build((performance.now() - started) / 1000, [loadBefore, loadavg()[0]!], error);
  results.push(result);
  console.log(formatResult(result));
  console.log('');
}
console.log(formatTargets(results));

const resultsDir = join(PROJECT_ROOT, 'bench-results');
mkdirSync(resultsDir, { recursive: true });
const document = JSON.stringify({ startedAt: startedAt.toISOString(), machine, benchmarks: results }, null, 2);
const file = join(resultsDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${document}\n`);
writeFileSync(join(resultsDir, 'latest.json'), `${document}\n`);
console.log(`\nresults: ${file}`);

if (clean) removeCache();
process.exitCode = results.some((r) => r.error !== undefined) ? 1 : 0;
