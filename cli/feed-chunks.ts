import { InputError } from './errors.js';
import { formatBytes } from './progress.js';

/** The feed formats that are a sequence of records, one per line (CSV: per row), and so can be split. */
export type LineFormat = 'jsonl' | 'csv' | 'plain';

/** One request's worth of a feed: whole records, with the CSV header in front of every chunk. */
export interface FeedChunk {
  /** The request body. */
  readonly body: Buffer;
  /**
   * Added to a line number the service reports for this chunk, it gives the line in the whole file. The
   * service counts lines from the start of the body it got, which for later chunks is not the file's start.
   */
  readonly lineOffset: number;
}

/** One record: its bytes `[start, end)`, line ending included, and the file line it starts on. */
interface RecordSpan {
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/**
 * Splits a line-based feed (UTF-8) into chunks of at most `maxBytes`, each made of whole records, so that
 * no request ever carries half a record: lines for JSON Lines and plain lists, rows for CSV (a quoted field
 * may hold line breaks), and every CSV chunk starts with the file's header row, which names the columns.
 * Chunks of nothing but blank lines are dropped, since the service refuses an empty import.
 *
 * Works on bytes: the characters that end a record or a field are ASCII, and no byte of a multi-byte UTF-8
 * character is ever ASCII, so a split never cuts a character.
 * @throws InputError when one record alone is larger than a chunk may be.
 */
export function splitFeed(body: Buffer, format: LineFormat, maxBytes: number): FeedChunk[] {
  if (body.length <= maxBytes) return [{ body, lineOffset: 0 }];
  const records = format === 'csv' ? csvRecords(body) : lineRecords(body);
  let header: Buffer = Buffer.alloc(0);
  let headerLines = 0;
  let first = 0;
  if (format === 'csv') {
    // The header is the first row with a value in it, as the service reads it; blank lines before it go along.
    const index = records.findIndex((record) => !isBlank(body.subarray(record.start, record.end), true));
    if (index >= 0) {
      const next = records[index + 1];
      header = body.subarray(0, records[index]!.end);
      headerLines = next ? next.line - 1 : 0;
      first = index + 1;
    }
  }

  const chunks: FeedChunk[] = [];
  let start = first;
  let bytes = header.length;
  const close = (end: number) => {
    if (end === start) return;
    const slice = body.subarray(records[start]!.start, records[end - 1]!.end);
    if (!isBlank(slice, format === 'csv')) {
      chunks.push({ body: header.length > 0 ? Buffer.concat([header, slice]) : slice, lineOffset: records[start]!.line - 1 - headerLines });
    }
  };
  for (let i = first; i < records.length; i++) {
    const record = records[i]!;
    const size = record.end - record.start;
    if (header.length + size > maxBytes) {
      const what = format === 'csv' ? 'the row starting on line' : 'line';
      const withHeader = header.length > 0 ? ' with the header row' : '';
      throw new InputError(
        `${what} ${record.line} is ${formatBytes(size)}${withHeader}, more than the ${formatBytes(maxBytes)} one request may carry`,
      );
    }
    if (bytes + size > maxBytes) {
      close(i);
      start = i;
      bytes = header.length;
    }
    bytes += size;
  }
  close(records.length);
  return chunks;
}

/** Lines, split at LF as the service splits them (a CR before it stays part of the line). */
function lineRecords(body: Buffer): RecordSpan[] {
  const records: RecordSpan[] = [];
  let start = 0;
  let line = 1;
  while (start < body.length) {
    const newline = body.indexOf(LF, start);
    const end = newline === -1 ? body.length : newline + 1;
    records.push({ start, end, line });
    start = end;
    line++;
  }
  return records;
}

/**
 * CSV rows, read the way the service's CSV parser reads them: a quote opens a quoted field only at the
 * start of a field; inside one, `""` is a quote and line breaks are data; outside, CRLF, LF or a lone CR
 * ends the row. Line numbers count line breaks as that parser does, so they match its reports.
 */
function csvRecords(body: Buffer): RecordSpan[] {
  const records: RecordSpan[] = [];
  let quoted = false;
  let fieldStart = true;
  let line = 1;
  let start = 0;
  let startLine = 1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === QUOTE) {
        if (body[i + 1] === QUOTE) i++;
        else quoted = false;
      } else if (c === LF) line++;
      continue;
    }
    if (c === QUOTE && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else if (c === COMMA) {
      fieldStart = true;
    } else if (c === LF || c === CR) {
      if (c === CR && body[i + 1] === LF) i++;
      records.push({ start, end: i + 1, line: startLine });
      line++;
      start = i + 1;
      startLine = line;
      fieldStart = true;
    } else {
      fieldStart = false;
    }
  }
  if (start < body.length) records.push({ start, end: body.length, line: startLine });
  return records;
}

/**
 * Whether bytes hold no record, as the service skips them: lines of white space in a list; for CSV, rows
 * of empty fields (a field of spaces is a value to its parser).
 */
function isBlank(bytes: Buffer, csv = false): boolean {
  for (const byte of bytes) {
    const blank = byte === LF || byte === CR || (csv ? byte === COMMA || byte === QUOTE : byte === 0x20 || byte === 0x09);
    if (!blank) return false;
  }
  return true;
}
