import { parseCsv } from '../lambdas/core/csv.js';
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
  /**
   * For a chunk whose lines are not one run of the file's (a list sent in the order of its digests): the
   * file's line number of each line of the body, in order. Read through {@link fileLine}.
   */
  readonly lines?: Uint32Array;
}

/** The line of the file that line `line` (1-based) of a chunk's body came from. */
export function fileLine(chunk: FeedChunk, line: number): number {
  return chunk.lines?.[line - 1] ?? line + chunk.lineOffset;
}

/**
 * The requests a line-based feed is sent in: a plain list of bare digests, or a CSV of simple rows, larger
 * than one request in the order of its digests (see {@link splitDigestList}, {@link splitCsvByDigest}),
 * anything else as {@link splitFeed} splits it.
 */
export function splitImport(body: Buffer, format: LineFormat, maxBytes: number): FeedChunk[] {
  const ordered = format === 'plain' ? splitDigestList(body, maxBytes) : format === 'csv' ? splitCsvByDigest(body, maxBytes) : undefined;
  return ordered ?? splitFeed(body, format, maxBytes);
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

/** The value of each hex digit by its byte, -1 for any other byte. */
const HEX_VALUES = Int8Array.from({ length: 256 }, (_, byte) => {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
});
/** Digests that begin alike beyond this many are not compared one with another: such a list keeps the file's order. */
const MOST_ALIKE = 32;

/**
 * A plain list that is nothing but bare digests (MD5, SHA-1 or SHA-256 in hex, one a line, blank lines
 * between them taken), each once, split into requests of at most `maxBytes` in the order of the digests
 * instead of the file's: the service keeps its list in that order, so each request then changes one part
 * of it rather than pages all over it, which makes a large import several times faster. Nothing else
 * changes: every line is read by the service as the one digest it is, none depends on another, and the
 * line numbers the service reports are mapped back to the file's ({@link fileLine}). The digests are
 * ordered by their first 32 bits in linear time (two counting passes), then the few that begin alike by
 * the rest of them.
 *
 * Undefined for a list that fits one request, holds any other line (a path, a tag, a comment, spaces), or
 * names a digest twice (a repeated digest is reported by the line it repeats, which only the file's order
 * keeps): it is sent in the file's order.
 */
export function splitDigestList(body: Buffer, maxBytes: number): FeedChunk[] | undefined {
  if (body.length <= maxBytes || body.length >= 2 ** 32) return undefined;
  // Each digest line holds at least 32 bytes and a line feed.
  const most = Math.floor(body.length / 33) + 1;
  const starts = new Uint32Array(most);
  const sizes = new Uint8Array(most);
  const lines = new Uint32Array(most);
  const keys = new Uint32Array(most);
  let count = 0;
  for (let start = 0, line = 1; start < body.length; line++) {
    let end = body.indexOf(LF, start);
    if (end === -1) end = body.length;
    // CRLF ends a line as LF does.
    const stop = end > start && body[end - 1] === CR ? end - 1 : end;
    const size = stop - start;
    if (size > 0) {
      if (size !== 32 && size !== 40 && size !== 64) return undefined;
      let key = 0;
      for (let i = start; i < stop; i++) {
        const value = HEX_VALUES[body[i]!]!;
        if (value < 0) return undefined;
        if (i < start + 8) key = key * 16 + value;
      }
      starts[count] = start;
      sizes[count] = size;
      lines[count] = line;
      keys[count] = key;
      count += 1;
    }
    start = end + 1;
  }
  if (count === 0) return undefined;

  const order = sortByKey(keys, count);
  // Digests that begin alike are put in order by the rest of them, and a digest named twice, which begins
  // as its twin does, is found among them.
  for (let runStart = 0; runStart < count; ) {
    let runEnd = runStart + 1;
    while (runEnd < count && keys[order[runEnd]!] === keys[order[runStart]!]) runEnd++;
    if (runEnd - runStart > MOST_ALIKE) return undefined;
    for (let a = runStart + 1; a < runEnd; a++) {
      const index = order[a]!;
      let b = a;
      for (; b > runStart; b--) {
        const comparison = compareDigests(body, starts, sizes, order[b - 1]!, index);
        if (comparison === 0) return undefined;
        if (comparison < 0) break;
        order[b] = order[b - 1]!;
      }
      order[b] = index;
    }
    runStart = runEnd;
  }

  const fileLines = new Uint32Array(count);
  for (let k = 0; k < count; k++) fileLines[k] = lines[order[k]!]!;
  const chunks: FeedChunk[] = [];
  let from = 0;
  let bytes = 0;
  for (let k = 0; k <= count; k++) {
    const size = k < count ? sizes[order[k]!]! + 1 : 0;
    if (k === count || bytes + size > maxBytes) {
      chunks.push(digestChunk(body, starts, sizes, order.subarray(from, k), fileLines.subarray(from, k), bytes));
      from = k;
      bytes = 0;
    }
    bytes += size;
  }
  return chunks;
}

/** The indices 0 … count - 1 ordered by `keys`, stable: two counting passes of 16 bits. */
function sortByKey(keys: Uint32Array, count: number): Uint32Array {
  let from = new Uint32Array(count);
  let to = new Uint32Array(count);
  for (let i = 0; i < count; i++) from[i] = i;
  for (const shift of [0, 16]) {
    const starts = new Uint32Array(65_537);
    for (let i = 0; i < count; i++) starts[((keys[i]! >>> shift) & 0xffff) + 1]! += 1;
    for (let bucket = 1; bucket <= 65_536; bucket++) starts[bucket]! += starts[bucket - 1]!;
    for (let i = 0; i < count; i++) {
      const index = from[i]!;
      to[starts[(keys[index]! >>> shift) & 0xffff]!++] = index;
    }
    [from, to] = [to, from];
  }
  return from;
}

/**
 * How two digest lines compare as the service orders their keys (byte by byte, the shorter first when one
 * begins the other), in either case: negative, zero for the same digest, or positive.
 */
function compareDigests(body: Buffer, starts: Uint32Array, sizes: Uint8Array, a: number, b: number): number {
  const at = starts[a]!;
  const bt = starts[b]!;
  const common = Math.min(sizes[a]!, sizes[b]!);
  for (let i = 0; i < common; i++) {
    // Setting bit 5 makes A-F a-f and leaves the digits as they are.
    const difference = (body[at + i]! | 0x20) - (body[bt + i]! | 0x20);
    if (difference !== 0) return difference;
  }
  return sizes[a]! - sizes[b]!;
}

/** A chunk of digest lines, put together from the file's bytes only when its body is read. */
function digestChunk(body: Buffer, starts: Uint32Array, sizes: Uint8Array, indices: Uint32Array, lines: Uint32Array, bytes: number): FeedChunk {
  return {
    lineOffset: 0,
    lines,
    get body() {
      const out = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const index of indices) {
        at += body.copy(out, at, starts[index]!, starts[index]! + sizes[index]!);
        out[at++] = LF;
      }
      return out;
    },
  };
}

/** The digest columns a CSV header names, as the service reads them, strongest first. */
const DIGEST_COLUMNS = ['sha256', 'sha1', 'md5'] as const;

/**
 * For each column of a CSV header, the rank of the digest it holds (0 for SHA-256, 1 SHA-1, 2 MD5) or -1,
 * the names read as the service reads them; undefined when it names no digest, or one twice.
 */
function digestColumnsOf(header: string): number[] | undefined {
  const fields = parseCsv(header)[0]?.fields ?? [];
  const ranks = fields.map((name) => DIGEST_COLUMNS.indexOf(name.trim().toLowerCase().replace(/\s+/g, '_') as (typeof DIGEST_COLUMNS)[number]));
  const named = ranks.filter((rank) => rank >= 0);
  return named.length > 0 && new Set(named).size === named.length ? ranks : undefined;
}

/** Growable typed arrays for the rows and digests of a large CSV. */
class Column<T extends Uint32Array | Uint8Array> {
  length = 0;
  constructor(
    public items: T,
    private readonly make: (size: number) => T,
  ) {}

  push(value: number): void {
    if (this.length === this.items.length) {
      const grown = this.make(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length++] = value;
  }
}
const uint32s = (size: number) => new Column(new Uint32Array(size), (n) => new Uint32Array(n));

/**
 * A CSV whose rows are simple (no quotes, each ended by LF or CRLF) and whose digests are each named once,
 * split into requests of at most `maxBytes` (the header in front of each) in the order of each row's
 * strongest digest, the key its record is stored under, rather than the file's: each request then writes
 * one part of the service's list, as {@link splitDigestList} does for a plain list. Every row is sent whole
 * and read as it would be in the file's order; the line numbers the service reports are mapped back to
 * the file's ({@link fileLine}).
 *
 * Undefined, so the file's order is kept, for a CSV that fits one request, names no digest column or one
 * twice, has a row with a quote or a lone CR, a row with no digest, a digest that is not hex, or a digest
 * named twice in any column (a repeat is reported by the line it repeats, which only the file's order
 * keeps).
 */
export function splitCsvByDigest(body: Buffer, maxBytes: number): FeedChunk[] | undefined {
  if (body.length <= maxBytes || body.length >= 2 ** 32) return undefined;
  const reader = csvRecords(body);
  let more = reader.next();
  while (more && isBlank(body.subarray(reader.start, reader.end), true)) more = reader.next();
  if (!more) return undefined;
  const header = body.subarray(0, reader.end);
  const ranks = digestColumnsOf(body.toString('utf8', reader.start, reader.end));
  if (!ranks) return undefined;
  more = reader.next();
  // Lines the header takes (blank lines before it included): a chunk's rows come after them.
  const headerLines = reader.line - 1;

  // Each row's bytes (line end left out), file line, and the digest it is stored under; each digest's bytes.
  const rowStarts = uint32s(1024);
  const rowEnds = uint32s(1024);
  const rowLines = uint32s(1024);
  const rowPrimaries = uint32s(1024);
  const digestStarts = uint32s(4096);
  const digestSizes = new Column(new Uint8Array(4096), (n) => new Uint8Array(n));
  const digestKeys = uint32s(4096);
  for (; more; more = reader.next()) {
    let end = reader.end;
    if (body[end - 1] === LF) end--;
    if (end > reader.start && body[end - 1] === CR) end--;
    let primary = -1;
    let primaryRank: number = DIGEST_COLUMNS.length;
    let valued = false;
    for (let field = 0, at = reader.start; at <= end; field++) {
      let stop = body.indexOf(COMMA, at);
      if (stop === -1 || stop > end) stop = end;
      let from = at;
      let to = stop;
      at = stop + 1;
      if (to > from) valued = true;
      const rank = ranks[field] ?? -1;
      if (rank < 0) {
        for (let i = from; i < to; i++) if (body[i] === QUOTE || body[i] === CR) return undefined;
        continue;
      }
      while (from < to && (body[from] === 0x20 || body[from] === 0x09)) from++;
      while (to > from && (body[to - 1] === 0x20 || body[to - 1] === 0x09)) to--;
      if (to === from) continue;
      if (to - from < 8 || to - from > 255) return undefined;
      let key = 0;
      for (let i = from; i < to; i++) {
        const value = HEX_VALUES[body[i]!]!;
        if (value < 0) return undefined;
        if (i < from + 8) key = key * 16 + value;
      }
      if (rank < primaryRank) {
        primaryRank = rank;
        primary = digestStarts.length;
      }
      digestStarts.push(from);
      digestSizes.push(to - from);
      digestKeys.push(key);
    }
    // A row of empty fields is no row to the service; a row with values but no digest is one it rejects.
    if (!valued) continue;
    if (primary < 0) return undefined;
    rowStarts.push(reader.start);
    rowEnds.push(end);
    rowLines.push(reader.line);
    rowPrimaries.push(primary);
  }
  const rows = rowStarts.length;
  if (rows === 0) return undefined;
  const starts = digestStarts.items;
  const sizes = digestSizes.items;

  // No digest named twice, in any column: only digests that begin alike are compared.
  const digests = digestStarts.length;
  const byDigest = sortByKey(digestKeys.items, digests);
  for (let runStart = 0; runStart < digests; ) {
    let runEnd = runStart + 1;
    while (runEnd < digests && digestKeys.items[byDigest[runEnd]!] === digestKeys.items[byDigest[runStart]!]) runEnd++;
    if (runEnd - runStart > MOST_ALIKE) return undefined;
    for (let a = runStart; a < runEnd; a++) {
      for (let b = a + 1; b < runEnd; b++) if (compareDigests(body, starts, sizes, byDigest[a]!, byDigest[b]!) === 0) return undefined;
    }
    runStart = runEnd;
  }

  // Rows in the order of the digest each is stored under: by its first 32 bits, then the rest.
  const primaries = rowPrimaries.items;
  const rowKeys = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) rowKeys[r] = digestKeys.items[primaries[r]!]!;
  const order = sortByKey(rowKeys, rows);
  for (let runStart = 0; runStart < rows; ) {
    let runEnd = runStart + 1;
    while (runEnd < rows && rowKeys[order[runEnd]!] === rowKeys[order[runStart]!]) runEnd++;
    for (let a = runStart + 1; a < runEnd; a++) {
      const row = order[a]!;
      let b = a;
      for (; b > runStart && compareDigests(body, starts, sizes, primaries[order[b - 1]!]!, primaries[row]!) > 0; b--) order[b] = order[b - 1]!;
      order[b] = row;
    }
    runStart = runEnd;
  }

  const chunks: FeedChunk[] = [];
  const rowStartsAll = rowStarts.items;
  const rowEndsAll = rowEnds.items;
  let from = 0;
  let bytes = header.length;
  for (let k = 0; k <= rows; k++) {
    const size = k < rows ? rowEndsAll[order[k]!]! - rowStartsAll[order[k]!]! + 1 : 0;
    if (k < rows && header.length + size > maxBytes) return undefined;
    if (k === rows || bytes + size > maxBytes) {
      const indices = order.subarray(from, k);
      const lines = new Uint32Array(headerLines + indices.length);
      for (let line = 0; line < headerLines; line++) lines[line] = line + 1;
      for (const [i, row] of indices.entries()) lines[headerLines + i] = rowLines.items[row]!;
      chunks.push(csvChunk(body, header, rowStartsAll, rowEndsAll, indices, lines, bytes));
      from = k;
      bytes = header.length;
    }
    bytes += size;
  }
  return chunks;
}

/** A chunk of CSV rows behind the header, put together from the file's bytes only when its body is read. */
function csvChunk(body: Buffer, header: Buffer, starts: Uint32Array, ends: Uint32Array, indices: Uint32Array, lines: Uint32Array, bytes: number): FeedChunk {
  return {
    lineOffset: 0,
    lines,
    get body() {
      const out = Buffer.allocUnsafe(bytes);
      let at = header.copy(out, 0);
      for (const index of indices) {
        at += body.copy(out, at, starts[index]!, ends[index]!);
        out[at++] = LF;
      }
      return out;
    },
  };
}
