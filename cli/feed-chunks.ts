import { InputError } from './errors.js';
import { formatBytes } from './progress.js';

/** The feed formats that are a sequence of records, one per line (CSV: per row), and so can be split. */
export type LineFormat = 'jsonl' | 'csv' | 'plain';

/** One request's worth of a feed: whole records, with the CSV header in front of every chunk. */
export interface FeedChunk {
  /**
   * The request body: a view of the feed, or for CSV its header and rows put together on each read (so
   * the chunks of a large CSV file do not hold a second copy of it while they wait to be sent).
   */
  readonly body: Buffer;
  /**
   * Added to a line number the service reports for this chunk, it gives the line in the whole file. The
   * service counts lines from the start of the body it got, which for later chunks is not the file's start.
   */
  readonly lineOffset: number;
}

/**
 * Reads a feed's records one at a time into its own fields (no object per record, so a file of a
 * million rows costs no more memory than its bytes): `next()` moves to the next record and says whether
 * there was one; `start`/`end` are its bytes, line ending included, and `line` the file line it starts on.
 */
interface RecordReader {
  start: number;
  end: number;
  line: number;
  next(): boolean;
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
 * character is ever ASCII, so a split never cuts a character. Chunks are views of `body`, not copies.
 * @throws InputError when one record alone is larger than a chunk may be.
 */
export function splitFeed(body: Buffer, format: LineFormat, maxBytes: number): FeedChunk[] {
  if (body.length <= maxBytes) return [{ body, lineOffset: 0 }];
  const records = format === 'csv' ? csvRecords(body) : lineRecords(body);
  let header: Buffer = Buffer.alloc(0);
  let headerLines = 0;
  let more = records.next();
  if (format === 'csv') {
    // The header is the first row with a value in it, as the service reads it; blank lines before it go along.
    while (more && isBlank(body.subarray(records.start, records.end), true)) more = records.next();
    if (more) {
      header = body.subarray(0, records.end);
      more = records.next();
      headerLines = more ? records.line - 1 : 0;
    }
  }

  const chunks: FeedChunk[] = [];
  let chunkStart = records.start;
  let chunkLine = records.line;
  let chunkEnd = chunkStart;
  const close = () => {
    if (chunkEnd === chunkStart) return;
    const slice = body.subarray(chunkStart, chunkEnd);
    if (!isBlank(slice, format === 'csv')) {
      const lineOffset = chunkLine - 1 - headerLines;
      chunks.push(header.length > 0 ? withHeader(header, slice, lineOffset) : { body: slice, lineOffset });
    }
  };
  for (; more; more = records.next()) {
    const size = records.end - records.start;
    if (header.length + size > maxBytes) {
      const what = format === 'csv' ? 'the row starting on line' : 'line';
      const withHeader = header.length > 0 ? ' with the header row' : '';
      throw new InputError(
        `${what} ${records.line} is ${formatBytes(size)}${withHeader}, more than the ${formatBytes(maxBytes)} one request may carry`,
      );
    }
    if (header.length + (records.end - chunkStart) > maxBytes) {
      close();
      chunkStart = records.start;
      chunkLine = records.line;
    }
    chunkEnd = records.end;
  }
  close();
  return chunks;
}

/** A CSV chunk: the header row and the chunk's rows, joined only when the body is read. */
function withHeader(header: Buffer, rows: Buffer, lineOffset: number): FeedChunk {
  return {
    lineOffset,
    get body() {
      return Buffer.concat([header, rows]);
    },
  };
}

/** Lines, split at LF as the service splits them (a CR before it stays part of the line). */
function lineRecords(body: Buffer): RecordReader {
  const reader: RecordReader = {
    start: 0,
    end: 0,
    line: 0,
    next() {
      if (reader.end >= body.length) return false;
      reader.start = reader.end;
      reader.line += 1;
      const newline = body.indexOf(LF, reader.start);
      reader.end = newline === -1 ? body.length : newline + 1;
      return true;
    },
  };
  return reader;
}

/**
 * CSV rows, read the way the service's CSV parser reads them: a quote opens a quoted field only at the
 * start of a field; inside one, `""` is a quote and line breaks are data; outside, CRLF, LF or a lone CR
 * ends the row. Line numbers count line breaks as that parser does, so they match its reports. A row with
 * no quote and no lone CR (most rows of most feeds) is found by searching for its line feed.
 */
function csvRecords(body: Buffer): RecordReader {
  // Where the next quote and CR are, found once and searched again only when passed (-1: none left).
  let quoteAt = body.indexOf(QUOTE);
  let crAt = body.indexOf(CR);
  let line = 1;
  const reader: RecordReader = {
    start: 0,
    end: 0,
    line: 1,
    next() {
      const start = reader.end;
      if (start >= body.length) return false;
      reader.start = start;
      reader.line = line;
      if (quoteAt !== -1 && quoteAt < start) quoteAt = body.indexOf(QUOTE, start);
      if (crAt !== -1 && crAt < start) crAt = body.indexOf(CR, start);
      const newline = body.indexOf(LF, start);
      const rowEnd = newline === -1 ? body.length : newline;
      // No quote in the row, and no CR but the one of a CRLF ending it: the row ends at its line feed (or,
      // the last row without one, at the end of the file).
      const quoteFree = quoteAt === -1 || quoteAt >= rowEnd;
      const crFree = crAt === -1 || crAt >= rowEnd || (newline !== -1 && crAt === rowEnd - 1);
      if (quoteFree && crFree) {
        reader.end = newline === -1 ? body.length : newline + 1;
        if (newline !== -1) line += 1;
        return true;
      }
      reader.end = scanRow(start);
      return true;
    },
  };
  /** The end of the row at `start`, byte by byte, counting the line breaks it holds. */
  const scanRow = (start: number): number => {
    let quoted = false;
    let fieldStart = true;
    for (let i = start; i < body.length; i++) {
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
        line++;
        return i + 1;
      } else {
        fieldStart = false;
      }
    }
    return body.length;
  };
  return reader;
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
