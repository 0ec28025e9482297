import { readFile } from 'node:fs/promises';
import { InvalidHashError } from '../lambdas/core/errors.js';
import { parseHashList, type HashInput } from '../lambdas/core/hashes.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import type { BulkSummary, HashVerdict } from '../lambdas/core/lookup.js';
import { lookUpInOrder } from './bulk-lookup.js';
import { EXIT_KNOWN_BAD, EXIT_NOTHING_KNOWN_BAD, InputError, UsageError, oneLine } from './errors.js';
import { decodeInput, readArguments, readChecksumLines, readCsvColumn, type HashList, type ListEntry } from './hash-list.js';
import { lookupCsvHeader, lookupLines, writeLookupRows, type LookupRow, type OutputFormat } from './output.js';
import { formatCount, formatCounted } from './progress.js';
import type { ServiceClient } from './service-client.js';
import type { CliEnvironment, OutputWriter, Reporter } from './terminal.js';
import { describeErrno } from './walk.js';

/** What `hashcheck lookup` was asked to do. */
export interface LookupOptions {
  /** Hashes given as arguments; when there are none the list comes from `file` or standard input. */
  readonly hashes: readonly string[];
  /** A list file; `-` is standard input. */
  readonly file?: string;
  /** Read the input as CSV and take the hashes from this column. */
  readonly column?: string;
  /** Any line that is not a hash makes the run fail (exit status 2) before anything is looked up. */
  readonly strict: boolean;
  readonly badOnly: boolean;
  readonly format: OutputFormat;
  readonly concurrency: number;
}

/** What `hashcheck lookup` works with. */
export interface LookupDeps {
  readonly client: ServiceClient;
  readonly reporter: Reporter;
  readonly out: OutputWriter;
  readonly environment: CliEnvironment;
  readonly colour: boolean;
}

/** Invalid lines listed when none of the input is a hash: the cause is the input's format, not its lines. */
const INVALID_SHOWN_WHEN_ALL_BAD = 10;

/**
 * Looks a hash list up: every entry in input order, in batches of up to 10,000 with bounded parallelism,
 * each answered with the service's own verdicts (`POST /v1/hashes/lookup`). Lines that are not hashes are
 * reported with their line numbers: in the results, or on standard error with `--bad-only`. Results are
 * written as they are answered; should the service fail part way, the command stops with exit status 2
 * after the results answered so far, and no hash after them is reported at all.
 *
 * @returns 1 when any hash is known-bad, else 0.
 * @throws CliError (exit status 2) when the input cannot be read, holds no hash at all, or the service
 *   fails to answer for every hash.
 */
export async function runLookup(options: LookupOptions, deps: LookupDeps): Promise<number> {
  const { reporter } = deps;
  const list = await readList(options, deps.environment);
  // An empty input is an export or a pipe that went wrong, not a clean result: a script must not read it as 0.
  if (list.entries.length === 0) {
    const source = options.file === undefined || options.file === '-' ? 'standard input' : options.file;
    const skipped = list.emptyCells > 0 ? ` (${formatCounted(list.emptyCells, 'row')} with an empty '${options.column}' cell)` : '';
    throw new InputError(`no hashes in ${source}${skipped}: nothing was looked up`);
  }
  const inputs: HashInput[] = parseHashList(list.entries.map((entry) => entry.candidate)).map((item, i) => {
    const problem = list.entries[i]!.problem;
    return problem === undefined ? item : { input: item.input, error: new InvalidHashError(problem) };
  });
  const invalid = inputs.flatMap((item, i) => ('error' in item ? [{ entry: list.entries[i]!, message: item.error.message }] : []));

  const reportInvalid = (limit = Infinity) => {
    for (const { entry, message } of invalid.slice(0, limit)) {
      reporter.warn(`${place(options, entry.line)}: not a hash: ${message} (${oneLine(JSON.stringify(entry.input), 80)})`);
    }
    if (invalid.length > limit) {
      reporter.warn(`… and ${formatCounted(invalid.length - limit, 'more line that is not a hash', 'more lines that are not hashes')}`);
    }
  };
  if (invalid.length === inputs.length) {
    reportInvalid(INVALID_SHOWN_WHEN_ALL_BAD);
    const none = inputs.length === 1 ? 'the only entry is not a hash' : `none of the ${formatCount(inputs.length)} entries is a hash`;
    throw new InputError(`${none}${formatHint(options, invalid[0]!.entry.input)}`);
  }
  if (options.strict && invalid.length > 0) {
    reportInvalid();
    const which = `${formatCount(invalid.length)} of ${formatCounted(inputs.length, 'entry', 'entries')}`;
    throw new InputError(`${which} ${invalid.length === 1 ? 'is not a hash' : 'are not hashes'} (--strict); nothing was looked up`);
  }

  const style = { colour: deps.colour, ...(list.columns && { rowColumns: list.columns }) };
  const summary = await lookUpAndWrite(list.entries, inputs, options, deps, style);
  // With --bad-only the invalid lines are not in the results, so they are listed here instead.
  if (options.badOnly) reportInvalid();

  const { malicious, unknown } = summary;
  const skipped = list.emptyCells > 0 ? `; ${formatCounted(list.emptyCells, 'row')} with an empty '${options.column}' cell skipped` : '';
  reporter.note(
    `checked ${formatCounted(malicious + unknown, 'hash', 'hashes')}: ${formatCount(malicious)} malicious, ${formatCount(unknown)} unknown` +
      (invalid.length > 0 ? `; ${formatCounted(invalid.length, 'line is not a hash', 'lines are not hashes')}` : '') +
      skipped +
      formatHint(options, invalid[0]?.entry.input),
  );
  return malicious > 0 ? EXIT_KNOWN_BAD : EXIT_NOTHING_KNOWN_BAD;
}

/**
 * Looks the valid inputs up, each distinct hash once, and writes the results in input order as the
 * batches are answered: JSON and CSV a batch at a time, so a feed of a million hashes is never held as a
 * million results; a table once every row is in, since its columns are as wide as their widest cell.
 * @returns the counts of the answered results.
 */
async function lookUpAndWrite(
  entries: readonly ListEntry[],
  inputs: readonly HashInput[],
  options: LookupOptions,
  deps: LookupDeps,
  style: Parameters<typeof writeLookupRows>[3],
): Promise<BulkSummary> {
  // Each distinct hash gets a slot, numbered in the order it first appears; `slotOf[i]` is input i's (-1: not a hash).
  const slots = new Map<HashHex, number>();
  const distinct: HashHex[] = [];
  const slotOf = new Int32Array(inputs.length).fill(-1);
  for (let i = 0; i < inputs.length; i++) {
    const item = inputs[i]!;
    if (!('parsed' in item)) continue;
    let slot = slots.get(item.parsed.hash);
    if (slot === undefined) {
      slot = distinct.push(item.parsed.hash) - 1;
      slots.set(item.parsed.hash, slot);
    }
    slotOf[i] = slot;
  }
  slots.clear();
  // The last input that needs a slot's verdict: after it is written, the verdict is let go.
  const lastUse = new Int32Array(distinct.length);
  for (let i = 0; i < inputs.length; i++) if (slotOf[i]! >= 0) lastUse[slotOf[i]!] = i;

  const summary: BulkSummary = { total: inputs.length, malicious: 0, unknown: 0, invalid: 0 };
  const verdicts = new Array<HashVerdict | undefined>(distinct.length);
  const table: LookupRow[] = [];
  const format = options.format;
  if (format === 'csv') await deps.out.line(lookupCsvHeader(style));
  let written = 0;
  // Writes the inputs whose verdicts are in, in order, up to the first one still asked.
  const writeAnswered = async (answeredSlots: number) => {
    const rows: LookupRow[] = [];
    for (; written < inputs.length; written++) {
      const item = inputs[written]!;
      const entry = entries[written]!;
      let row: LookupRow;
      if ('error' in item) {
        summary.invalid += 1;
        row = { entry, result: { input: item.input, error: { code: item.error.code, message: item.error.message } } };
      } else {
        const slot = slotOf[written]!;
        if (slot >= answeredSlots) break;
        const verdict = verdicts[slot]!;
        if (lastUse[slot] === written) verdicts[slot] = undefined;
        summary[verdict.verdict] += 1;
        row = { entry, result: verdict };
      }
      if (options.badOnly && !('verdict' in row.result && row.result.verdict === 'malicious')) continue;
      if (format === 'table') table.push(row);
      else rows.push(row);
    }
    if (format !== 'table' && rows.length > 0) await deps.out.line(lookupLines(rows, format, style));
  };
  await lookUpInOrder(deps.client, distinct, { concurrency: options.concurrency }, async (answered, first) => {
    for (let i = 0; i < answered.length; i++) verdicts[first + i] = answered[i];
    await writeAnswered(first + answered.length);
  });
  // Lines that are not hashes after the last hash.
  await writeAnswered(distinct.length);
  if (format === 'table') await writeLookupRows(table, 'table', deps.out, style);
  await deps.out.flush();
  return summary;
}

async function readList(options: LookupOptions, environment: CliEnvironment): Promise<HashList> {
  if (options.hashes.length > 0) {
    if (options.file !== undefined) throw new UsageError('give hashes as arguments or with -f FILE, not both');
    if (options.column !== undefined) throw new UsageError('--column reads CSV from -f FILE or standard input, not from arguments');
    return readArguments(options.hashes);
  }
  let bytes: Uint8Array;
  if (options.file === undefined || options.file === '-') {
    if (environment.stdin.isTTY && options.file === undefined) {
      throw new UsageError('no hashes: give them as arguments, with -f FILE, or on standard input (see hashcheck lookup --help)');
    }
    bytes = await readStream(environment.stdin);
  } else {
    try {
      bytes = await readFile(options.file);
    } catch (error) {
      throw new InputError(`cannot read ${options.file}: ${describeErrno(error)}`, { cause: error });
    }
  }
  const text = decodeInput(bytes);
  return options.column === undefined ? readChecksumLines(text) : readCsvColumn(text, options.column);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Where an entry is, in the words a user would look for it: a line, or an argument. */
function place(options: LookupOptions, line: number): string {
  return options.hashes.length > 0 ? `argument ${line}` : `line ${line}`;
}

/** A hint when lines that are not hashes look like CSV read without `--column`. */
function formatHint(options: LookupOptions, firstInvalid: string | undefined): string {
  if (options.column !== undefined || firstInvalid === undefined || !/[,;\t]/.test(firstInvalid)) return '';
  return '; the input looks like CSV: name the hash column with --column NAME';
}
