import { parseCsv } from './csv.js';
import { InputError } from './errors.js';

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

/** `SHA256 (path) = hash`: the `--tag` output of coreutils and the default of BSD and macOS tools. */
const TAGGED = /^(?:MD5|SHA-?1|SHA-?256)\s*\((.*)\)\s*=\s*(\S+)$/i;

/**
 * Reads a plain hash list, one entry per line: a bare hash, a `sha256sum`/`md5sum`/`sha1sum` line
 * (`<hash>  <path>`, `<hash> *<path>` in binary mode, a leading `\` when the path is escaped), or a tagged
 * line (`SHA256 (<path>) = <hash>`). Blank lines and lines starting with `#` are skipped; line numbers
 * count every line, so they match what an editor shows.
 */
export function readChecksumLines(text: string): HashList {
  const entries: ListEntry[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const input = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = input.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    entries.push({ line: index + 1, input, ...splitChecksumLine(trimmed) });
  }
  return { entries, emptyCells: 0 };
}

function splitChecksumLine(line: string): { candidate: string; name?: string } {
  const tagged = TAGGED.exec(line);
  if (tagged) return { candidate: tagged[2]!, name: tagged[1]! };
  // coreutils starts a line with `\` when the file name holds a backslash or a line break, escaped.
  const escaped = line.startsWith('\\');
  const rest = escaped ? line.slice(1) : line;
  const split = /^(\S+)(.*)$/.exec(rest)!;
  const candidate = split[1]!;
  const tail = split[2]!;
  if (tail === '') return { candidate };
  // `<hash> <mode><name>`: the mode is a space (text) or `*` (binary).
  const name = tail.startsWith(' *') || tail.startsWith('  ') ? tail.slice(2) : tail.trim();
  if (name === '') return { candidate };
  return { candidate, name: escaped ? unescapeName(name) : name };
}

function unescapeName(name: string): string {
  return name.replace(/\\(.)/g, (_match, char: string) => (char === 'n' ? '\n' : char === 'r' ? '\r' : char));
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
      const fields = record.fields.length === 1 ? '1 field' : `${record.fields.length} fields`;
      const problem = `the row has ${fields}; the column '${names[index]}' is field ${index + 1}`;
      entries.push({ line: record.line, input: record.fields.join(','), candidate: '', row, problem });
      continue;
    }
    if (cell.trim() === '') {
      emptyCells++;
      continue;
    }
    entries.push({ line: record.line, input: cell, candidate: cell, row });
  }
  return { entries, emptyCells };
}

/** Hashes given on the command line, numbered by position. */
export function readArguments(values: readonly string[]): HashList {
  return { entries: values.map((value, i) => ({ line: i + 1, input: value, candidate: value })), emptyCells: 0 };
}
