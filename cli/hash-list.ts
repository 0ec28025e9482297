import { checksumLines } from '../lambdas/core/checksum-lines.js';
import { parseCsv } from './csv.js';
import { InputError } from './errors.js';
import { formatCounted } from './progress.js';

/** One entry of a hash list: what should be a hash, where it came from, and what came with it. */
export interface ListEntry {
  /** The line of the input it is on (for hashes given as arguments, the argument's position). */
  readonly line: number;
  /** The line, CSV cell or argument as given. */
  readonly input: string;
  /** The part that should be a hash. */
  readonly candidate: string;
  /** The file name a checksum line names (`<hash>  <path>`, `SHA256 (<path>) = <hash>`). */
  readonly name?: string;
  /** For CSV input: the whole row, by column name, so a match can be traced to its host or path. */
  readonly row?: Readonly<Record<string, string>>;
  /** Why the entry cannot hold a hash whatever it says (a CSV row too short to have the column). */
  readonly problem?: string;
}

/** The entries of an input, and how many CSV rows had nothing in the hash column. */
export interface HashList {
  readonly entries: ListEntry[];
  readonly emptyCells: number;
  /** For CSV input: the names of the header's columns, in order, each once (the keys of every entry's `row`). */
  readonly columns?: readonly string[];
}

/**
 * Decodes an input file or standard input. A UTF-8 byte-order mark is dropped, and UTF-16 with a mark
 * is decoded: PowerShell's `>` writes UTF-16, and hash lists from Windows hosts often are.
 */
export function decodeInput(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
}

/**
 * Reads a plain hash list with the service's own reader (`lambdas/core/checksum-lines.ts`): bare hashes,
 * `sha256sum`/`md5sum`/`sha1sum` lines (`<hash>  <path>`, `<hash> *<path>`, a leading `\` when the path is
 * escaped), tagged lines (`SHA256 (<path>) = <hash>`) and hashdeep lines (`<size>,<md5>,<sha256>,<path>`,
 * one entry per digest). Blank lines, `#` comments and hashdeep's `%%%%` headers are skipped; line numbers
 * count line feeds, so they match what an editor shows.
 */
export function readChecksumLines(text: string): HashList {
  return { entries: Array.from(checksumEntries(text)), emptyCells: 0 };
}

/** The entries of {@link readChecksumLines} one at a time, read as they are asked for. */
export function* checksumEntries(text: string): Generator<ListEntry, void, undefined> {
  for (const { line, input, digests, name } of checksumLines(text)) {
    for (const { value } of digests) {
      const entry: { -readonly [K in keyof ListEntry]: ListEntry[K] } = { line, input, candidate: value };
      if (name !== undefined) entry.name = name;
      yield entry;
    }
  }
}

/**
 * Reads one column of a CSV export with a header row. The column is found by its name, exactly or else
 * ignoring case and surrounding spaces. Rows with an empty cell are counted and skipped; a row too short
 * to have the column is kept as an entry, so it is reported as invalid rather than lost.
 * @throws InputError when the header has no such column, or a quoted field is never closed.
 */
export function readCsvColumn(text: string, column: string): HashList {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new InputError(`the CSV input is empty: expected a header row naming the column '${column}'`);
  const names = header.fields.map((name) => name.trim());
  let index = header.fields.indexOf(column);
  if (index < 0) index = names.findIndex((name) => name.toLowerCase() === column.trim().toLowerCase());
  if (index < 0) {
    const shown = names.slice(0, 30).map((name) => `'${name}'`).join(', ');
    throw new InputError(`no column '${column}' in the CSV header (line ${header.line}); the columns are ${shown}`);
  }
  const entries: ListEntry[] = [];
  let emptyCells = 0;
  for (const record of rows) {
    const cell = record.fields[index];
    const row = Object.fromEntries(names.map((name, i) => [name, record.fields[i] ?? '']));
    if (cell === undefined) {
      const problem = `the row has ${formatCounted(record.fields.length, 'field')}; the column '${names[index]}' is field ${index + 1}`;
      entries.push({ line: record.line, input: record.fields.join(','), candidate: '', row, problem });
      continue;
    }
    if (cell.trim() === '') {
      emptyCells++;
      continue;
    }
    entries.push({ line: record.line, input: cell, candidate: cell, row });
  }
  return { entries, emptyCells, columns: [...new Set(names)] };
}

/** Hashes given on the command line, numbered by position. */
export function readArguments(values: readonly string[]): HashList {
  return { entries: values.map((value, i) => ({ line: i + 1, input: value, candidate: value })), emptyCells: 0 };
}
