import { readFile } from 'node:fs/promises';
import { InvalidHashError } from '../lambdas/core/errors.js';
import { parseHash, type HashHex } from '../lambdas/core/hashes.js';
import type { BulkSummary } from '../lambdas/core/lookup.js';
import { askBatch, inOrder, listWindows, readBatchAnswer, type BatchAnswer, type ListWindow } from './bulk-lookup.js';
import { MAX_BULK_HASHES } from '../lambdas/core/limits.js';
import { EXIT_KNOWN_BAD, EXIT_NOTHING_KNOWN_BAD, InputError, UsageError, oneLine } from './errors.js';
import { checksumEntries, decodeInput, readArguments, readCsvColumn, type HashList, type ListEntry } from './hash-list.js';
import { lookupCsvHeader, lookupLines, writeLookupRows, type LookupRow, type OutputFormat } from './output.js';
import { formatCount, formatCounted, formatLookupProgress, type LookupProgress } from './progress.js';
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

/**
 * Hashes asked per request. A service on this machine is asked 2,000 at a time: each answer is read,
 * written and let go in one piece, small enough to die young in this process's memory, where 10,000 would
 * be copied about before they are written (a million-hash lookup took a quarter longer). Any other is asked
 * the most a request takes (MAX_BULK_HASHES): deployed, requests are what the usage plans count and each
 * one crosses the network.
 */
const LOCAL_LOOKUP_BATCH = 2_000;

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
  const style = { colour: deps.colour, ...(list.columns && { rowColumns: list.columns }) };
  const invalid: { entry: ListEntry; message: string }[] = [];
  const reportInvalid = (limit = Infinity) => {
    for (const { entry, message } of invalid.slice(0, limit)) {
      reporter.warn(`${place(options, entry.line)}: not a hash: ${message} (${oneLine(JSON.stringify(entry.input), 80)})`);
    }
    if (invalid.length > limit) {
      reporter.warn(`… and ${formatCounted(invalid.length - limit, 'more line that is not a hash', 'more lines that are not hashes')}`);
    }
  };
  const noHashAtAll = (entries: number): InputError => {
    // An empty input is an export or a pipe that went wrong, not a clean result: a script must not read it as 0.
    if (entries === 0) {
      const source = options.file === undefined || options.file === '-' ? 'standard input' : options.file;
      const skipped = list.emptyCells > 0 ? ` (${formatCounted(list.emptyCells, 'row')} with an empty '${options.column}' cell)` : '';
      return new InputError(`no hashes in ${source}${skipped}: nothing was looked up`);
    }
    reportInvalid(INVALID_SHOWN_WHEN_ALL_BAD);
    const none = entries === 1 ? 'the only entry is not a hash' : `none of the ${formatCount(entries)} entries is a hash`;
    return new InputError(`${none}${formatHint(options, invalid[0]!.entry.input)}`);
  };
  const check = (entry: ListEntry): HashHex | InvalidHashError => {
    let checked: HashHex | InvalidHashError;
    if (entry.problem !== undefined) checked = new InvalidHashError(entry.problem);
    else {
      try {
        checked = parseHash(entry.candidate).hash;
      } catch (error) {
        if (!(error instanceof InvalidHashError)) throw error;
        checked = error;
      }
    }
    if (typeof checked !== 'string') invalid.push({ entry, message: checked.message });
    return checked;
  };

  if (options.strict) {
    // Every entry is checked before anything is looked up: one that is not a hash stops the run.
    let entries = 0;
    for (const entry of list.entries()) {
      entries += 1;
      check(entry);
    }
    if (invalid.length === entries) throw noHashAtAll(entries);
    if (invalid.length > 0) {
      reportInvalid();
      const which = `${formatCount(invalid.length)} of ${formatCounted(entries, 'entry', 'entries')}`;
      throw new InputError(`${which} ${invalid.length === 1 ? 'is not a hash' : 'are not hashes'} (--strict); nothing was looked up`);
    }
  }

  const windows = listWindows(list.entries(), check, deps.client.onThisMachine ? LOCAL_LOOKUP_BATCH : MAX_BULK_HASHES);
  // Nothing is written, nor asked, before the input shows a hash: a list holding none is an input error.
  const ahead: ListWindow[] = [];
  let entries = 0;
  for (let next = windows.next(); ; next = windows.next()) {
    if (next.done) throw noHashAtAll(entries);
    ahead.push(next.value);
    entries += next.value.entries.length;
    if (next.value.distinct.length > 0) break;
  }
  const summary = await lookUpAndWrite(concat(ahead, windows), list.lines, options, deps, style);
  // With --bad-only the invalid lines are not in the results, so they are listed here instead.
  if (options.badOnly) reportInvalid();

  const { malicious, unknown } = summary;
  const skipped = list.emptyCells > 0 ? `; ${formatCounted(list.emptyCells, 'row')} with an empty '${options.column}' cell skipped` : '';
  reporter.note(
    `checked ${formatCounted(malicious + unknown, 'hash', 'hashes')}: ${formatCount(malicious)} malicious, ${formatCount(unknown)} unknown` +
      (summary.invalid > 0 ? `; ${formatCounted(summary.invalid, 'line is not a hash', 'lines are not hashes')}` : '') +
      skipped +
      formatHint(options, invalid[0]?.entry.input),
  );
  return malicious > 0 ? EXIT_KNOWN_BAD : EXIT_NOTHING_KNOWN_BAD;
}

function* concat<T>(first: readonly T[], rest: Iterator<T>): Generator<T, void, undefined> {
  yield* first;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}

/**
 * Looks the list up a window at a time, `concurrency` requests in flight, and writes the results in input
 * order as the windows are answered: JSON and CSV a window at a time, so a feed of a million hashes is
 * never held as a million results; a table once every row is in, since its columns are as wide as their
 * widest cell.
 * @returns the counts of the results.
 */
async function lookUpAndWrite(
  windows: Iterator<ListWindow>,
  totalLines: number,
  options: LookupOptions,
  deps: LookupDeps,
  style: Parameters<typeof writeLookupRows>[3],
): Promise<BulkSummary> {
  const summary: BulkSummary = { total: 0, malicious: 0, unknown: 0, invalid: 0 };
  const table: LookupRow[] = [];
  const format = options.format;
  if (format === 'csv') await deps.out.line(lookupCsvHeader(style));
  let linesDone = 0;
  const write = async (window: ListWindow, answer: BatchAnswer) => {
    const verdicts = readBatchAnswer(answer);
    const rows: LookupRow[] = [];
    for (let i = 0; i < window.entries.length; i++) {
      const slot = window.slotOf[i]!;
      let result: LookupRow['result'];
      if (slot < 0) {
        const { code, message } = window.invalid.get(i)!;
        summary.invalid += 1;
        result = { input: window.entries[i]!.candidate, error: { code, message } };
      } else {
        result = verdicts[slot]!;
        summary[result.verdict] += 1;
      }
      if (options.badOnly && !('verdict' in result && result.verdict === 'malicious')) continue;
      const row = { entry: window.entries[i]!, result };
      if (format === 'table') table.push(row);
      else rows.push(row);
    }
    summary.total += window.entries.length;
    linesDone = window.entries[window.entries.length - 1]!.line;
    if (format !== 'table' && rows.length > 0) await deps.out.line(lookupLines(rows, format, style));
  };
  const started = Date.now();
  const progress = (): LookupProgress => ({
    lines: linesDone,
    totalLines,
    hashes: summary.malicious + summary.unknown,
    malicious: summary.malicious,
    elapsedMs: Date.now() - started,
  });
  deps.reporter.startProgressLine((width) => formatLookupProgress(progress(), width));
  try {
    await inOrder(windows, options.concurrency, (window, signal) => askBatch(deps.client, window.distinct, signal), write);
  } finally {
    deps.reporter.stopProgress();
  }
  if (format === 'table') await writeLookupRows(table, 'table', deps.out, style);
  await deps.out.flush();
  return summary;
}

/** A hash list whose entries can be read more than once (`--strict` checks them all first). */
interface ListSource extends Omit<HashList, 'entries'> {
  entries(): Iterable<ListEntry>;
  /** The lines (or arguments) of the input, for the progress line. */
  readonly lines: number;
}

async function readList(options: LookupOptions, environment: CliEnvironment): Promise<ListSource> {
  if (options.hashes.length > 0) {
    if (options.file !== undefined) throw new UsageError('give hashes as arguments or with -f FILE, not both');
    if (options.column !== undefined) throw new UsageError('--column reads CSV from -f FILE or standard input, not from arguments');
    return replayable(readArguments(options.hashes));
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
  if (options.column !== undefined) return replayable(readCsvColumn(text, options.column));
  return { entries: () => checksumEntries(text), emptyCells: 0, lines: countLines(text) };
}

function replayable({ entries, ...rest }: HashList): ListSource {
  return { ...rest, entries: () => entries, lines: entries.length === 0 ? 0 : entries[entries.length - 1]!.line };
}

/** Lines as an editor counts them: line feeds, and one more for text after the last. */
function countLines(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return text.length > 0 && !text.endsWith('\n') ? lines + 1 : lines;
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
