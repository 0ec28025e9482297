/**
 * A known-bad list of a million records, as people load (a MalwareBazaar full export, a vendor feed): the
 * files, generated once into the cache, and a data folder of the local server holding the list, imported
 * once per suite run and copied for each server that needs it (a copy of a stopped server's folder is the
 * documented backup).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { findCli } from './cli.js';
import type { BenchContext } from './context.js';
import { cacheDir, scratchDir } from './data.js';
import { startServerProcess } from './local-server.js';
import { run } from './process.js';

export const MILLION = 1_000_000;
/** The admin key the benchmarks' servers run with, so `hashcheck import` may write. */
export const BENCH_ADMIN_KEY = 'hashcheck-bench-admin-key';
/** Provenance for the plain list, which carries none of its own. */
export const IMPORT_PROVENANCE = ['--campaign', 'bench-million', '--source', 'hashcheck benchmark'] as const;

export interface MillionFiles {
  /** 1,000,000 distinct SHA-256 digests, one per line. */
  readonly list: string;
  /** A CSV of 1,000,000 rows `sha256,sha1,md5` (another million records), with its header. */
  readonly csv: string;
  /** 1,000,000 SHA-256 digests: 500,000 of the list, shuffled among 500,000 that are not on it. */
  readonly queries: string;
  /** The digest on the list's middle line. */
  readonly middle: string;
}

const SPEC = { records: MILLION, queriesOnList: MILLION / 2, version: 1 };

/** Writes `lines` in pieces of 10,000 lines. */
async function writeLines(path: string, lines: (i: number) => string, count: number, header?: string): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    if (header !== undefined) await handle.write(`${header}\n`);
    for (let from = 0; from < count; from += 10_000) {
      const piece: string[] = [];
      for (let i = from; i < Math.min(count, from + 10_000); i++) piece.push(lines(i));
      await handle.write(`${piece.join('\n')}\n`);
    }
  } finally {
    await handle.close();
  }
  renameSync(partial, path);
}

/** Random hex digests of `bytes` bytes, all distinct. */
function distinctDigests(count: number, bytes: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < count) {
    const pool = randomBytes(bytes * 4096);
    for (let at = 0; at < pool.length && out.length < count; at += bytes) {
      const hex = pool.toString('hex', at, at + bytes);
      if (seen.has(hex) || avoid.has(hex)) continue;
      seen.add(hex);
      out.push(hex);
    }
  }
  return out;
}

/** The list, the CSV and the queries, generated on first use (about 15 s) and kept in the cache. */
export async function millionFiles(log: (line: string) => void): Promise<MillionFiles> {
  const dir = cacheDir();
  const files = {
    list: join(dir, 'million-sha256.txt'),
    csv: join(dir, 'million-three-digests.csv'),
    queries: join(dir, 'million-queries.txt'),
  };
  const marker = join(dir, 'million.complete.json');
  const complete = existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(SPEC) && Object.values(files).every((f) => existsSync(f));
  if (!complete) {
    log('generating the 1,000,000-record list, its CSV and 1,000,000 queries in the cache');
    rmSync(marker, { force: true });
    const list = distinctDigests(MILLION, 32);
    await writeLines(files.list, (i) => list[i]!, MILLION);
    const onList = new Set(list);
    const csvSha256 = distinctDigests(MILLION, 32, onList);
    const csvSha1 = distinctDigests(MILLION, 20);
    const csvMd5 = distinctDigests(MILLION, 16);
    await writeLines(files.csv, (i) => `${csvSha256[i]},${csvSha1[i]},${csvMd5[i]}`, MILLION, 'sha256,sha1,md5');
    // Half the queries from the list (every other line of it), half not on it, shuffled.
    const queries = [...list.filter((_, i) => i % 2 === 0), ...distinctDigests(SPEC.queriesOnList, 32, onList)];
    for (let i = queries.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [queries[i], queries[j]] = [queries[j]!, queries[i]!];
    }
    await writeLines(files.queries, (i) => queries[i]!, queries.length);
    writeFileSync(marker, JSON.stringify(SPEC));
  }
  return { ...files, middle: middleLine(files.list) };
}

function middleLine(list: string): string {
  // Every line is 64 hex digits and a newline.
  const text = readFileSync(list, 'latin1');
  const at = (MILLION / 2) * 65;
  return text.slice(at, at + 64);
}

export interface ImportReport {
  readonly format: string;
  readonly total: number;
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: readonly unknown[];
  readonly requests: number;
}

/**
 * `hashcheck import FILE --json` against `url`, timed from spawn to exit; a report that does not count
 * every record as added is an error.
 */
export async function importThroughCli(
  context: BenchContext,
  url: string,
  file: string,
  format: 'plain' | 'csv',
): Promise<{ ms: number; report: ImportReport }> {
  const cli = findCli(context.projectRoot);
  if (!cli) throw new Error('The hashcheck CLI (package.json "bin") is missing: the import benchmarks need it');
  const result = await run(
    cli,
    ['import', file, '--format', format, ...IMPORT_PROVENANCE, '--json', '--quiet', '--timeout', '600'],
    { cwd: context.projectRoot, env: { ...process.env, HASHCHECK_URL: url, HASHCHECK_ADMIN_KEY: BENCH_ADMIN_KEY } },
  );
  const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as ImportReport;
  if (report.total !== MILLION || report.added !== MILLION || report.rejected.length !== 0) {
    throw new Error(`hashcheck import of ${file} reported ${JSON.stringify({ ...report, rejected: report.rejected.slice(0, 3) })}; expected ${MILLION} added`);
  }
  return { ms: result.ms, report };
}

let prepared: Promise<string> | undefined;
const preparedFolders: string[] = [];
process.once('exit', () => {
  for (const folder of preparedFolders) rmSync(folder, { recursive: true, force: true });
});

/**
 * A stopped local server's data folder holding the seed list and the 1,000,000-record list, imported
 * once per suite run; removed when the suite ends. Use {@link copyOfMillionData} to run a server on it.
 */
function millionDataTemplate(context: BenchContext): Promise<string> {
  prepared ??= (async () => {
    const files = await millionFiles(context.log);
    const scratch = await scratchDir('million');
    preparedFolders.push(scratch.path);
    const dataDir = join(scratch.path, 'data');
    context.log('importing the 1,000,000-record list into a data folder the benchmarks copy');
    const server = await startServerProcess(context.projectRoot, { HASHCHECK_ADMIN_KEY: BENCH_ADMIN_KEY }, { dataDir });
    try {
      await importThroughCli(context, server.url, files.list, 'plain');
    } finally {
      await server.stop();
    }
    return dataDir;
  })();
  return prepared;
}

/** A copy of the prepared data folder (modes kept), removed by `dispose`. */
export async function copyOfMillionData(context: BenchContext): Promise<{ path: string; dispose(): Promise<void> }> {
  const template = await millionDataTemplate(context);
  const scratch = await scratchDir('million-copy');
  const path = join(scratch.path, 'data');
  await run('cp', ['-a', template, path]);
  return { path, dispose: scratch.dispose };
}
