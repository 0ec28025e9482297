import { basename } from 'node:path';
import type { BulkResult, HashVerdict } from '../lambdas/core/lookup.js';
import type { RecordView } from '../lambdas/core/records.js';
import type { FileVerdict } from '../lambdas/core/scan.js';
import { formatCsvField } from './csv.js';
import type { ListEntry } from './hash-list.js';
import { formatBytes } from './progress.js';
import type { OutputWriter } from './terminal.js';

/** How results are printed: a table for people, JSON Lines or CSV for scripts. */
export type OutputFormat = 'table' | 'json' | 'csv';

/** One answered entry of a hash list: its verdict, or why it is not a hash. */
export interface LookupRow {
  readonly entry: ListEntry;
  readonly result: HashVerdict | Extract<BulkResult, { error: unknown }>;
}

/** One judged file; `path` is where it is on this machine. */
export interface ScanRow {
  readonly path: string;
  readonly file: FileVerdict;
}

interface Style {
  /** Colour the verdict on a terminal. */
  readonly colour: boolean;
}

interface LookupStyle extends Style {
  /** The columns of a CSV input, in order: CSV output repeats them as `row.<name>`, as JSON carries `row`. */
  readonly rowColumns?: readonly string[];
}

/**
 * Prints the results of a hash list. JSON: one object per line, `{line, input, hash, algorithm, verdict,
 * match, name?, row?}`, or `{line, input, verdict: "invalid", error}` for a line that is not a hash. CSV:
 * the same fields, then the input row's own columns as `row.<name>` for CSV input. JSON and CSV can be
 * written a piece at a time ({@link lookupLines}); a table is laid out from all its rows.
 */
export async function writeLookupRows(rows: readonly LookupRow[], format: OutputFormat, out: OutputWriter, style: LookupStyle): Promise<void> {
  if (format !== 'table') {
    if (format === 'csv') await out.line(lookupCsvHeader(style));
    if (rows.length > 0) await out.line(lookupLines(rows, format, style));
  } else if (rows.length > 0) {
    const withNames = rows.some((row) => row.entry.name !== undefined);
    const header = ['LINE', 'VERDICT', 'HASH', ...(withNames ? ['NAME'] : []), 'MATCH'];
    const cells = rows.map(({ entry, result }) => {
      const invalid = 'error' in result;
      return [
        String(entry.line),
        invalid ? 'invalid' : result.verdict,
        invalid ? entry.input.trim() : result.hash,
        ...(withNames ? [entry.name ?? ''] : []),
        invalid ? result.error.message : result.match ? describeMatch(result.match) : '',
      ];
    });
    for (const line of renderTable(header, cells, 1, style)) await out.line(line);
  }
  await out.flush();
}

/** The header line of CSV lookup results: the result's columns, then the input row's as `row.<name>`. */
export function lookupCsvHeader(style: LookupStyle): string {
  const rowColumns = style.rowColumns ?? [];
  return [...LOOKUP_CSV_COLUMNS, ...rowColumns.map((name) => formatCsvField(`row.${name}`, { text: true }))].join(',');
}

/** Rows as JSON Lines or CSV lines (without the CSV header), joined by line feeds, none after the last. */
export function lookupLines(rows: readonly LookupRow[], format: 'json' | 'csv', style: LookupStyle): string {
  let text = '';
  if (format === 'json') {
    for (let i = 0; i < rows.length; i++) text += (i === 0 ? '' : '\n') + lookupJsonLine(rows[i]!);
  } else {
    const rowColumns = style.rowColumns ?? [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const cells = rowColumns.map((name) => formatCsvField(row.entry.row?.[name] ?? '', { text: true }));
      text += (i === 0 ? '' : '\n') + [lookupCsv(row), ...cells].join(',');
    }
  }
  return text;
}

/** Printable ASCII but `"` and the backslash: a string JSON writes as it is, between quotes. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A string as JSON; the common case (a hash, a plain line) without a call to JSON.stringify. */
function jsonString(text: string): string {
  return PLAIN_JSON_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}

/**
 * One result as a JSON line, in the documented field order, put together as text: a feed of a million
 * hashes makes a million of these. Only the hash, algorithm and verdict go in without JSON.stringify,
 * and the answer's schema has already checked them to be hex digits and names.
 */
function lookupJsonLine({ entry, result }: LookupRow): string {
  let line = `{"line":${entry.line},"input":${jsonString(entry.input)}`;
  if ('error' in result) line += `,"verdict":"invalid","error":${JSON.stringify(result.error.message)}`;
  else {
    const match = result.match === null ? 'null' : JSON.stringify(result.match);
    line += `,"hash":"${result.hash}","algorithm":"${result.algorithm}","verdict":"${result.verdict}","match":${match}`;
  }
  if (entry.name !== undefined) line += `,"name":${jsonString(entry.name)}`;
  if (entry.row) line += `,"row":${JSON.stringify(entry.row)}`;
  return `${line}}`;
}

const LOOKUP_CSV_COLUMNS = ['line', 'input', 'hash', 'algorithm', 'verdict', 'name', ...matchColumns(), 'error'];

function lookupCsv({ entry, result }: LookupRow): string {
  const invalid = 'error' in result;
  return [
    formatCsvField(entry.line),
    formatCsvField(entry.input, { text: true }),
    formatCsvField(invalid ? '' : result.hash),
    formatCsvField(invalid ? '' : result.algorithm),
    formatCsvField(invalid ? 'invalid' : result.verdict),
    formatCsvField(entry.name, { text: true }),
    ...matchCells(invalid || !result.match ? [] : [result.match]),
    formatCsvField(invalid ? result.error.message : ''),
  ].join(',');
}

/**
 * Prints judged files. JSON: one object per line, `{path, size, md5, sha1, sha256, verdict, matches, inside?}`,
 * `inside` being the API's own (`POST /v1/files`) when the file was looked into. The table and CSV name a
 * known-bad member by its path chain from the file, `setup.zip → bin/ffmpeg.dll`.
 */
export async function writeScanRows(rows: readonly ScanRow[], format: OutputFormat, out: OutputWriter, style: Style): Promise<void> {
  if (format === 'json') {
    for (const { path, file } of rows) {
      const { size, md5, sha1, sha256, verdict, matches, inside } = file;
      await out.line(JSON.stringify({ path, size, md5, sha1, sha256, verdict, matches, ...(inside && { inside }) }));
    }
  } else if (format === 'csv') {
    await out.line(['path', 'size', 'md5', 'sha1', 'sha256', 'verdict', ...matchColumns()].join(','));
    for (const { path, file } of rows) {
      const cells = [formatCsvField(path, { text: true }), formatCsvField(file.size), file.md5, file.sha1, file.sha256, file.verdict];
      await out.line([...cells, ...matchCells(allMatches(path, file))].join(','));
    }
  } else if (rows.length > 0) {
    const cells = rows.map(({ path, file }) => [
      file.verdict,
      formatBytes(file.size),
      path,
      allMatches(path, file).map(describeMatch).join('; '),
    ]);
    for (const line of renderTable(['VERDICT', 'SIZE', 'PATH', 'MATCH'], cells, 0, style)) await out.line(line);
  }
  await out.flush();
}

/** The file's own matches, then its members', each member's named `setup.zip → bin/ffmpeg.dll: ffmpeg.dll`. */
function allMatches(path: string, file: FileVerdict): RecordView[] {
  const members = (file.inside?.matches ?? []).flatMap((member) => {
    const chain = [basename(path), ...member.path].join(' → ');
    return member.matches.map((match) => ({ ...match, fileName: `${chain}: ${match.fileName}` }));
  });
  return [...file.matches, ...members];
}

function matchColumns(): string[] {
  return ['match_file_name', 'match_kind', 'match_platform', 'match_version', 'match_campaign', 'match_confidence'];
}

/** The match columns of a CSV row; several matches (rare: one file, several records) share a cell, `; `-separated. */
function matchCells(matches: readonly RecordView[]): string[] {
  const join = (pick: (match: RecordView) => string) => matches.map(pick).join('; ');
  return [
    formatCsvField(join((m) => m.fileName), { text: true }),
    formatCsvField(join((m) => m.kind)),
    formatCsvField(join((m) => m.platform), { text: true }),
    formatCsvField(join((m) => m.version), { text: true }),
    formatCsvField(join((m) => m.campaign), { text: true }),
    formatCsvField(join((m) => m.confidence), { text: true }),
  ];
}

/**
 * `3cxdesktopapp-18.12.407.msi (installer, windows, 18.12.407; 3CX DesktopApp supply-chain compromise (2023-03))`;
 * a record a scan derived says so and names the member it was found bad through:
 * `3CXDesktopApp.dmg (container, derived: contains … → libffmpeg.dylib, macos, …)`.
 */
export function describeMatch(match: RecordView): string {
  const derived = match.derived ? `, derived: contains ${match.derived.member.path.join(' → ')}` : '';
  return `${match.fileName} (${match.kind}${derived}, ${match.platform}, ${match.version}; ${match.campaign})`;
}

/**
 * Lays rows out in aligned columns. Cells are made printable first: a file name or an input line may
 * carry terminal escape sequences, and printing them raw would let a hostile name rewrite the screen.
 * The verdict column (`verdictColumn`) is shown in red for `malicious` when colour is wanted.
 */
export function renderTable(header: readonly string[], rows: readonly string[][], verdictColumn: number, style: Style): string[] {
  const printable = rows.map((row) => row.map(printableCell));
  const widths = header.map((title, column) => Math.max(title.length, ...printable.map((row) => row[column]!.length)));
  const layout = (row: readonly string[], paint: boolean) =>
    row
      .map((cell, column) => {
        const padded = column === row.length - 1 ? cell : cell.padEnd(widths[column]!);
        return paint && column === verdictColumn && cell === 'malicious' ? `\u001b[1;31m${padded}\u001b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  return [layout(header, false), ...printable.map((row) => layout(row, style.colour))];
}

/** Control characters become visible escapes (`\x1b`), so a cell can never drive the terminal. */
export function printableCell(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
