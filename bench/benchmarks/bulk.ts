/**
 * Bulk lookup at the scale of a real feed: `hashcheck lookup -f` of 1,000,000 SHA-256 hashes against a
 * list of 1,000,000 records, `--json` into a file, against awk joining the same two files in memory.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { findCli } from '../support/cli.js';
import { scratchDir } from '../support/data.js';
import { LOOKUP_BENCH_ENV, startServerProcess } from '../support/local-server.js';
import { copyOfMillionData, MILLION, millionFiles } from '../support/million-list.js';
import { run } from '../support/process.js';
import { formatNumber } from '../support/report.js';
import type { Benchmark } from '../support/context.js';

const TARGET_TIMES = 2;
/** Interleaved rounds of awk and the CLI; the best of each is compared. */
const ROUNDS = 2;
const AWK_JOIN = 'NR==FNR{a[$1];next} ($1 in a)';

/** Counts the result lines of a `--json` output and those that say malicious; any other line is an error. */
async function countResults(file: string): Promise<{ answered: number; malicious: number }> {
  let answered = 0;
  let malicious = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const result = JSON.parse(line) as { verdict?: string; error?: unknown };
    if (result.verdict === 'malicious') malicious += 1;
    else if (result.verdict !== 'unknown') throw new Error(`hashcheck lookup answered a line without a verdict: ${line.slice(0, 300)}`);
    answered += 1;
  }
  return { answered, malicious };
}

async function countLines(file: string): Promise<number> {
  const { stdout } = await run('wc', ['-l', file]);
  return Number(stdout.trim().split(/\s+/)[0]);
}

export const bulkBenchmark: Benchmark = {
  name: 'bulk',
  title: 'hashcheck lookup -f of 1,000,000 SHA-256 hashes against a 1,000,000-record list, against awk',
  async run(context, result) {
    const cli = findCli(context.projectRoot);
    if (!cli) throw new Error('The hashcheck CLI (package.json "bin") is missing: bulk measures it');
    const files = await millionFiles(context.log);
    const data = await copyOfMillionData(context);
    const scratch = await scratchDir('bulk');
    const server = await startServerProcess(context.projectRoot, LOOKUP_BENCH_ENV, { dataDir: data.path });
    try {
      const awkOut = join(scratch.path, 'awk.txt');
      const cliOut = join(scratch.path, 'verdicts.jsonl');
      // Warm-up: the page cache holds both files, the server's first answers load its lazy parts.
      await run('cat', [files.list, files.queries], { stdout: 'ignore' });
      await run(cli, ['lookup', files.middle, '--json'], { cwd: context.projectRoot, env: { ...process.env, HASHCHECK_URL: server.url }, okCodes: [1] });

      const awkRuns: number[] = [];
      const cliRuns: number[] = [];
      let expected = -1;
      for (let round = 1; round <= ROUNDS; round++) {
        context.log(`bulk: round ${round} of ${ROUNDS}: awk, then hashcheck lookup -f (1,000,000 hashes)`);
        const awk = await run('awk', [AWK_JOIN, files.list, files.queries], { stdout: { file: awkOut } });
        const matches = await countLines(awkOut);
        if (expected !== -1 && matches !== expected) throw new Error(`awk found ${matches} matches, then ${expected}`);
        expected = matches;
        awkRuns.push(awk.ms);

        const lookup = await run(cli, ['lookup', '-f', files.queries, '--json', '--quiet'], {
          cwd: context.projectRoot,
          env: { ...process.env, HASHCHECK_URL: server.url },
          stdout: { file: cliOut },
          // 1: something known-bad was found, which half the queries are.
          okCodes: [1],
        });
        const counted = await countResults(cliOut);
        if (counted.answered !== MILLION) throw new Error(`hashcheck lookup -f answered ${counted.answered} of ${MILLION} hashes`);
        if (counted.malicious !== matches) throw new Error(`hashcheck lookup -f found ${counted.malicious} known-bad hashes; awk finds ${matches} on the list`);
        cliRuns.push(lookup.ms);
      }
      const awkBest = Math.min(...awkRuns);
      const cliBest = Math.min(...cliRuns);
      const runsOf = (runs: number[]) => runs.map((ms) => formatNumber(ms / 1000, 2)).join(', ');
      const awkRow = result.row({
        label: "awk 'NR==FNR{a[$1];next} ($1 in a)' list queries",
        value: awkBest / 1000,
        unit: 's',
        detail: `best of ${ROUNDS} (${runsOf(awkRuns)} s); ${expected.toLocaleString('en-US')} matches; ${(await run('awk', ['-W', 'version'], { okCodes: [0, 1, 2] })).stdout.split('\n')[0] || 'awk'}`,
      });
      const cliRow = result.compared(
        {
          label: 'hashcheck lookup -f queries --json > file',
          value: cliBest / 1000,
          unit: 's',
          detail: `best of ${ROUNDS} (${runsOf(cliRuns)} s), ${formatNumber(MILLION / (cliBest / 1000), 0)} hashes/s; peak RSS of the server ${formatNumber(server.peakRss() / 1e6, 0)} MB`,
        },
        awkRow,
        true,
      );
      const times = 1 / cliRow.ratio!;
      result.target(
        `hashcheck lookup -f of 1,000,000 hashes within ${TARGET_TIMES} × awk's time`,
        `${formatNumber(times, 2)} × (${formatNumber(cliRow.value, 2)} s against ${formatNumber(awkRow.value, 2)} s)`,
        times <= TARGET_TIMES,
      );
      result.note(`The CLI measured: ${cli}${process.env['HASHCHECK_BENCH_CLI'] ? ' (HASHCHECK_BENCH_CLI)' : ''}, against the local server as npm start runs it, on a copy of a data folder holding the 1,000,000-record list.`);
      result.note('The queries: 500,000 digests of the list shuffled among 500,000 that are not on it; the CLI must answer all 1,000,000 and find as many malicious as awk finds lines.');
    } finally {
      await server.stop();
      await data.dispose();
      await scratch.dispose();
    }
  },
};
