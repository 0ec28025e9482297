import { InvalidRequestError, PayloadTooLargeError } from './errors.js';
import { parseStructuredHeader, type StructuredHeader } from './mime-headers.js';

/** Limits of one message read. Each one turns a hostile message into a clear error instead of work without end. */
export interface MimeLimits {
  /** Bytes the whole message may hold. */
  readonly maxBytes: number;
  /** MIME entities (attachments, text parts, multiparts, embedded messages) in one message. @default 1000 */
  readonly maxParts?: number;
  /** How deep multiparts and embedded messages may nest. @default 32 */
  readonly maxDepth?: number;
  /** Bytes of the header block of one entity. @default 256 KiB */
  readonly maxHeaderBytes?: number;
}

/** One attachment as it streams out of a message. */
export interface MessageAttachment {
  /**
   * The IMAP part number (RFC 3501) of the attachment: `2` is the second part of the message, `3.2` the
   * second part of a message attached as part 3, `1` the body of a message that is not multipart.
   */
  readonly path: string;
  /** The file name the message gives, decoded, or `null`. */
  readonly fileName: string | null;
  /** The lower-case media type, e.g. `application/pdf`. */
  readonly contentType: string;
  /** The decoded content (base64 and quoted-printable undone). Read it to the end before the next attachment. */
  readonly body: AsyncIterable<Uint8Array>;
}

/** Longer lines cannot be header lines (RFC 5322 allows 998 characters); in a body they are content like any other. */
const MAX_LINE_BYTES = 64 * 1024;
/** Decoded content is handed on in blocks of about this size, as a file source would yield it. */
const BLOCK_BYTES = 64 * 1024;
/**
 * Work allowed per byte received. One unit is one byte looked at by the line and delimiter scans (each
 * byte of the message once, whatever the nesting) or one line examined on its own (a header line, a
 * line that starts like a delimiter); decoding a part costs in proportion to the bytes scanned for it.
 * A flat message costs about 1 unit per byte; what is left pays for attached messages sent base64- or
 * quoted-printable-encoded, whose decoded bytes are scanned again.
 */
const WORK_PER_BYTE = 2.5;
/** Work every message may spend whatever its size, so a small message is never refused for its overheads. */
const WORK_SLACK = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const NEWLINE_DASHES = Buffer.from('\n--', 'latin1');

/** How much reading one message costs, for callers that want to see it (tests, benchmarks). */
export interface MimeWork {
  /** Bytes of the message received. */
  inputBytes: number;
  /** Work units spent: bytes scanned for lines and delimiters, plus one per line examined on its own. */
  units: number;
  /** The most units the message may spend before it is refused. */
  budget: number;
}

interface Context {
  readonly maxParts: number;
  readonly maxDepth: number;
  readonly maxHeaderBytes: number;
  parts: number;
  readonly work: MimeWork;
}

function spend(context: Context, units: number): void {
  context.work.units += units;
  if (context.work.units > context.work.budget) {
    throw new InvalidRequestError(
      `The message takes too much work to read for its size (more than ${WORK_PER_BYTE} times a flat message of ${context.work.inputBytes} bytes): it re-encodes attached messages inside one another or repeats delimiter-like lines. Send the innermost message on its own, decoded.`,
    );
  }
}

/** A position in one buffer: the message received, or the decoded content of an encoded attached message. */
interface Cursor {
  readonly buf: Buffer;
  pos: number;
}

/** Where a line ends: `contentEnd` before its line ending, `next` after it (the start of the next line). */
function lineAt(buf: Buffer, start: number): { contentEnd: number; next: number } {
  const lf = buf.indexOf(LF, start);
  if (lf < 0) return { contentEnd: buf.length, next: buf.length };
  return { contentEnd: lf > start && buf[lf - 1] === CR ? lf - 1 : lf, next: lf + 1 };
}

/** `end` less one line ending (`\r\n` or `\n`) if the bytes before it are one. */
function withoutLineEnd(buf: Buffer, start: number, end: number): number {
  if (end > start && buf[end - 1] === LF) return end - 1 > start && buf[end - 2] === CR ? end - 2 : end - 1;
  return end;
}

/** A delimiter line found: of an open multipart of this message (`depth` 0 is the innermost), or a fence. */
interface Delimiter {
  /** Where its line starts. */
  readonly start: number;
  /** Where the line after it starts. */
  readonly next: number;
  /**
   * A delimiter of a multipart around the attached message being read: for that message it is the end of
   * its input, and the message around it reads the line.
   */
  readonly fence: boolean;
  readonly depth: number;
  /** Whether it is a closing delimiter (`--boundary--`). */
  readonly close: boolean;
}

interface BoundaryEntry {
  readonly bytes: Buffer;
  /** Lower wins when one line matches several boundaries. */
  readonly rank: number;
  readonly fence: boolean;
  readonly depth: number;
}

/**
 * The delimiters a line may be at one place of a message: fences (the boundaries of multiparts around an
 * attached message, outermost message first, which end it as the end of its input would) and the
 * boundaries of the open multiparts of the message itself, innermost first. A line is matched with one
 * lookup by length and a byte comparison, whatever the number of boundaries.
 */
class Delimiters {
  private readonly byLength = new Map<number, BoundaryEntry[]>();
  readonly empty: boolean;

  constructor(fences: readonly Buffer[], own: readonly Buffer[]) {
    const entries = [
      ...fences.map((bytes, i) => ({ bytes, rank: i, fence: true, depth: 0 })),
      ...own.map((bytes, i) => ({ bytes, rank: fences.length + i, fence: false, depth: i })),
    ];
    for (const entry of entries) {
      const list = this.byLength.get(entry.bytes.length) ?? [];
      list.push(entry);
      this.byLength.set(entry.bytes.length, list);
    }
    this.empty = entries.length === 0;
  }

  /** The delimiter the line `[start, contentEnd)` is, if any: `--boundary` or `--boundary--`, then transport padding. */
  match(buf: Buffer, start: number, contentEnd: number): Omit<Delimiter, 'start' | 'next'> | undefined {
    if (this.empty || contentEnd - start < 3 || buf[start] !== DASH || buf[start + 1] !== DASH) return undefined;
    let end = contentEnd;
    while (end > start + 2 && (buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
    let best = this.find(buf, start + 2, end);
    const closeLength = end - start - 4;
    const bestClose = closeLength > 0 && buf[end - 1] === DASH && buf[end - 2] === DASH ? this.find(buf, start + 2, end - 2) : undefined;
    let close = false;
    if (bestClose && (!best || bestClose.rank < best.rank)) {
      best = bestClose;
      close = true;
    }
    return best && { fence: best.fence, depth: best.depth, close };
  }

  private find(buf: Buffer, from: number, to: number): BoundaryEntry | undefined {
    for (const entry of this.byLength.get(to - from) ?? []) if (entry.bytes.compare(buf, from, to) === 0) return entry;
    return undefined;
  }
}

/** The delimiter line at `start`, if the line there is one. */
function delimiterAt(cursor: Cursor, start: number, delimiters: Delimiters, context: Context): Delimiter | undefined {
  const { buf } = cursor;
  if (delimiters.empty || buf[start] !== DASH || buf[start + 1] !== DASH) return undefined;
  const { contentEnd, next } = lineAt(buf, start);
  spend(context, next - start + 1);
  const found = delimiters.match(buf, start, contentEnd);
  return found && { ...found, start, next };
}

/**
 * The first delimiter line at or after `from` (a line start), found by searching for `\n--` rather than
 * line by line, so a body costs its bytes however short its lines are.
 */
function nextDelimiter(cursor: Cursor, from: number, delimiters: Delimiters, context: Context): Delimiter | undefined {
  const { buf } = cursor;
  if (delimiters.empty) {
    spend(context, buf.length - from);
    return undefined;
  }
  let start = from;
  for (;;) {
    const found = delimiterAt(cursor, start, delimiters, context);
    if (found) return found;
    const candidate = buf.indexOf(NEWLINE_DASHES, start);
    if (candidate < 0) {
      spend(context, buf.length - start);
      return undefined;
    }
    spend(context, candidate + 1 - start);
    start = candidate + 1;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Quoted-printable (RFC 2045 6.7): `=XX` is a byte, `=` at the end of a line is a soft break, trailing
 * white space added in transport is dropped. A hard line break keeps the ending the message used. An `=`
 * not followed by two hex digits is kept as it is, as mail clients do. One pass over the bytes.
 */
function decodeQuotedPrintable(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  let i = start;
  while (i < end) {
    const byte = buf[i]!;
    if (byte === 0x20 || byte === 0x09) {
      // White space at the end of a line is transport padding.
      let j = i;
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      if (j === end || buf[j] === LF || (buf[j] === CR && j + 1 < end && buf[j + 1] === LF)) {
        i = j;
        continue;
      }
      for (; i < j; i++) out[n++] = buf[i]!;
      continue;
    }
    if (byte === 0x3d) {
      if (i + 2 < end && hexValue(buf[i + 1]!) >= 0 && hexValue(buf[i + 2]!) >= 0) {
        out[n++] = hexValue(buf[i + 1]!) * 16 + hexValue(buf[i + 2]!);
        i += 3;
        continue;
      }
      let j = i + 1;
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      if (j === end || buf[j] === LF) {
        i = j + 1;
        continue;
      }
      if (buf[j] === CR && j + 1 < end && buf[j + 1] === LF) {
        i = j + 2;
        continue;
      }
    }
    out[n++] = byte;
    i++;
  }
  return out.subarray(0, n);
}

/** Base64 alphabet values, 64 for `=`, -1 for white space, -2 for anything else. */
const BASE64_VALUE = new Int8Array(256).fill(-2);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) BASE64_VALUE[c.charCodeAt(0)] = i;
BASE64_VALUE[0x3d] = 64;
for (const c of [0x20, 0x09, 0x0d, 0x0a]) BASE64_VALUE[c] = -1;

function notBase64(where: string, reason: string): InvalidRequestError {
  return new InvalidRequestError(
    `The base64 content of ${where} is not base64 (${reason}): it cannot be decoded with certainty, so the message gets no verdict. Send the attachment itself.`,
  );
}

/**
 * Base64 (RFC 2045 6.8): line breaks and transport padding are skipped, and every 4-character group is
 * decoded on its own, so encoders that pad each line still decode in full. An unpadded tail of 2 or 3
 * characters is decoded; a single stray character cannot carry a byte and is dropped. Content holding
 * anything else (characters outside the alphabet, `=` where no padding can be) is not base64: mail
 * clients would each make something different of it, so it is refused rather than checked.
 */
function decodeBase64(buf: Buffer, start: number, end: number, where: string): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 3) / 4) + 3);
  let n = 0;
  const group = [0, 0, 0, 0];
  let g = 0;
  for (let i = start; i < end; i++) {
    const value = BASE64_VALUE[buf[i]!]!;
    if (value === -1) continue;
    if (value === -2) {
      throw notBase64(where, `byte 0x${buf[i]!.toString(16).padStart(2, '0')} at offset ${i - start} of its body is outside the base64 alphabet`);
    }
    group[g++] = value;
    if (g < 4) continue;
    g = 0;
    const [a, b, c, d] = group as [number, number, number, number];
    if (a === 64 || b === 64 || (c === 64 && d !== 64)) throw notBase64(where, `padding in the middle of a 4-character group at offset ${i - start}`);
    out[n++] = (a << 2) | (b >> 4);
    if (c !== 64) out[n++] = ((b & 15) << 4) | (c >> 2);
    if (d !== 64) out[n++] = ((c & 3) << 6) | d;
  }
  if (g >= 2) {
    const [a, b, c] = group as [number, number, number, number];
    if (a === 64 || b === 64) throw notBase64(where, 'padding in the middle of its last group');
    out[n++] = (a << 2) | (b >> 4);
    if (g === 3 && c !== 64) out[n++] = ((b & 15) << 4) | (c >> 2);
  }
  return out.subarray(0, n);
}

const IDENTITY_ENCODINGS = new Set(['', '7bit', '8bit', 'binary']);

function checkEncoding(encoding: string, where: string): void {
  if (IDENTITY_ENCODINGS.has(encoding) || encoding === 'quoted-printable' || encoding === 'base64') return;
  throw new InvalidRequestError(
    `${where} uses the transfer encoding '${encoding}', which is not base64, quoted-printable, 7bit, 8bit or binary: it cannot be decoded to be checked.`,
  );
}

/** The content of `[start, end)` with its transfer encoding undone; 7bit, 8bit and binary are the bytes as they are. */
function decodeBody(encoding: string, buf: Buffer, start: number, end: number, where: string): Buffer {
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(buf, start, end);
  if (encoding === 'base64') return decodeBase64(buf, start, end, where);
  return buf.subarray(start, end);
}

async function* blocksOf(content: Buffer): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < content.length; offset += BLOCK_BYTES) yield content.subarray(offset, offset + BLOCK_BYTES);
}

/** The header fields the reader uses, by lower-case name (the first occurrence counts), and how many fields there were. */
interface Headers {
  readonly fields: ReadonlyMap<string, string>;
  readonly count: number;
}

const USED_FIELDS = new Set(['content-type', 'content-disposition', 'content-transfer-encoding']);
const USED_LENGTHS = new Set([...USED_FIELDS].map((name) => name.length));

function isFieldNameByte(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== 0x3a;
}

function describe(path: string): string {
  return path === '' ? 'the message' : `part ${path}`;
}

function truncated(path: string): InvalidRequestError {
  return new InvalidRequestError(
    `The message is truncated or malformed: the multipart body of ${describe(path)} ends without its closing boundary, so its last part may be incomplete.`,
  );
}

/**
 * Reads a header block up to the blank line that ends it. A delimiter of an open multipart ends it too
 * (a part with no body). A line that is neither a header nor a continuation starts the body, as in
 * Python's parser; `strict` (the top of a message) rejects it instead, since a message starts with headers.
 */
function readHeaders(cursor: Cursor, delimiters: Delimiters, context: Context, where: string, strict: boolean): Headers {
  const { buf } = cursor;
  const fields = new Map<string, string>();
  let count = 0;
  /** The field continuation lines add to, when it is one the reader uses and its first occurrence. */
  let open: string | undefined;
  let bytes = 0;
  while (cursor.pos < buf.length) {
    const start = cursor.pos;
    const { contentEnd, next } = lineAt(buf, start);
    if (contentEnd - start > MAX_LINE_BYTES) throw new InvalidRequestError(`A header line of ${where} is longer than ${MAX_LINE_BYTES} bytes.`);
    bytes += next - start;
    if (bytes > context.maxHeaderBytes) {
      throw new InvalidRequestError(`The header block of ${where} is larger than ${context.maxHeaderBytes} bytes.`);
    }
    spend(context, next - start + 1);
    if (contentEnd === start) {
      cursor.pos = next;
      break;
    }
    if (delimiters.match(buf, start, contentEnd)) break;
    const first = buf[start]!;
    if ((first === 0x20 || first === 0x09) && count > 0) {
      if (open !== undefined) fields.set(open, fields.get(open)! + buf.toString('utf8', start, contentEnd));
      cursor.pos = next;
      continue;
    }
    let nameEnd = start;
    while (nameEnd < contentEnd && isFieldNameByte(buf[nameEnd]!)) nameEnd++;
    let colon = nameEnd;
    while (colon < contentEnd && (buf[colon] === 0x20 || buf[colon] === 0x09)) colon++;
    if (nameEnd > start && colon < contentEnd && buf[colon] === 0x3a) {
      count++;
      open = undefined;
      if (USED_LENGTHS.has(nameEnd - start)) {
        const name = buf.toString('latin1', start, nameEnd).toLowerCase();
        if (USED_FIELDS.has(name) && !fields.has(name)) {
          fields.set(name, buf.toString('utf8', colon + 1, contentEnd));
          open = name;
        }
      }
      cursor.pos = next;
    } else if (strict && count === 0) {
      throw new InvalidRequestError(`This is not a MIME message: ${where} does not start with a header line ("Name: value").`);
    } else break;
  }
  for (const [name, value] of fields) fields.set(name, value.trim());
  return { fields, count };
}

function cleanName(name: string | undefined): string | null {
  if (name === undefined) return null;
  // Shown back to the caller only; control characters could forge lines in a terminal or a log.
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return cleaned === '' ? null : cleaned;
}

/** Parts a gateway would call attachments: named, marked as attachments, or anything but message text. */
function isAttachment(contentType: string, disposition: StructuredHeader | undefined, fileName: string | null): boolean {
  if (fileName !== null || disposition?.value === 'attachment') return true;
  return contentType !== 'text/plain' && contentType !== 'text/html';
}

function child(path: string, n: number): string {
  return path === '' ? String(n) : `${path}.${n}`;
}

interface Place {
  /** The entity's part number; for a message's top entity, the number of the message itself (empty at the top). */
  readonly path: string;
  /** Whether this is the top entity of a message (its part number is then `path.1` unless it is multipart). */
  readonly messageRoot: boolean;
  /** Boundaries of the multiparts around the message this entity is in, which end that message (see {@link Delimiters}). */
  readonly fences: readonly Buffer[];
  /** Boundaries of the open multiparts of its own message around it, innermost first. */
  readonly boundaries: readonly Buffer[];
  readonly depth: number;
  /** In a `multipart/digest` a part without a type is a message (RFC 2046 5.1.5). */
  readonly defaultType: string;
}

function* readEntity(cursor: Cursor, headers: Headers, place: Place, context: Context): Generator<MessageAttachment> {
  context.parts += 1;
  if (context.parts > context.maxParts) {
    throw new InvalidRequestError(`The message has more than ${context.maxParts} MIME parts.`);
  }
  if (place.depth > context.maxDepth) {
    throw new InvalidRequestError(`The message nests multiparts and attached messages more than ${context.maxDepth} deep.`);
  }
  const type = parseStructuredHeader(headers.fields.get('content-type') ?? place.defaultType);
  const contentType = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(type.value) ? type.value : 'text/plain';

  if (contentType.startsWith('multipart/')) {
    yield* readMultipart(cursor, contentType, type, place, context);
    return;
  }

  const own = place.messageRoot ? child(place.path, 1) : place.path;
  const encoding = parseStructuredHeader(headers.fields.get('content-transfer-encoding') ?? '').value;
  checkEncoding(encoding, describe(own));
  const delimiters = new Delimiters(place.fences, place.boundaries);
  const attached = contentType === 'message/rfc822' || contentType === 'message/global';

  if (attached && IDENTITY_ENCODINGS.has(encoding)) {
    // An attached message sent as it is is read in place: its lines are the lines read here, and the
    // delimiters around it end it, so no byte is read twice however deep messages nest.
    yield* readMessage(cursor, [...place.fences, ...place.boundaries], own, place.depth + 1, context, false);
    const end = nextDelimiter(cursor, cursor.pos, delimiters, context);
    cursor.pos = end ? end.start : cursor.buf.length;
    return;
  }

  const { buf } = cursor;
  const start = cursor.pos;
  const found = nextDelimiter(cursor, start, delimiters, context);
  cursor.pos = found ? found.start : buf.length;
  // The line ending before a delimiter belongs to the delimiter; the body of a message that is not
  // multipart keeps its last one at the end of its input, as Python's email package reads it.
  const keepLineEnd = place.messageRoot && place.boundaries.length === 0;
  const end = found || !keepLineEnd ? withoutLineEnd(buf, start, cursor.pos) : cursor.pos;
  const content = decodeBody(encoding, buf, start, end, describe(own));

  if (attached) {
    // An attached message sent encoded is decoded, then read as a message of its own.
    yield* readMessage({ buf: content, pos: 0 }, [], own, place.depth + 1, context, false);
    return;
  }

  const disposition = headers.fields.has('content-disposition') ? parseStructuredHeader(headers.fields.get('content-disposition')!) : undefined;
  const fileName = cleanName(disposition?.params.get('filename') ?? type.params.get('name'));
  if (isAttachment(contentType, disposition, fileName)) yield { path: own, fileName, contentType, body: blocksOf(content) };
}

function* readMultipart(cursor: Cursor, contentType: string, type: StructuredHeader, place: Place, context: Context): Generator<MessageAttachment> {
  const boundary = type.params.get('boundary')?.trimEnd();
  if (!boundary) {
    throw new InvalidRequestError(`The ${contentType} body of ${describe(place.path)} has no boundary parameter, so its parts cannot be told apart.`);
  }
  const boundaries = [Buffer.from(boundary, 'utf8'), ...place.boundaries];
  const delimiters = new Delimiters(place.fences, boundaries);
  const outer = new Delimiters(place.fences, place.boundaries);
  const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';

  // The preamble, up to the first delimiter.
  const first = nextDelimiter(cursor, cursor.pos, delimiters, context);
  if (!first || first.fence) throw truncated(place.path);
  cursor.pos = first.start;
  if (first.depth > 0) return;
  cursor.pos = first.next;
  if (first.close) return skipEpilogue(cursor, outer, context);

  for (let n = 1; ; n++) {
    const where = describe(child(place.path, n));
    const headers = readHeaders(cursor, delimiters, context, where, false);
    yield* readEntity(
      cursor,
      headers,
      { path: child(place.path, n), messageRoot: false, fences: place.fences, boundaries, depth: place.depth + 1, defaultType: childDefault },
      context,
    );
    if (cursor.pos >= cursor.buf.length) throw truncated(place.path);
    const delimiter = delimiterAt(cursor, cursor.pos, delimiters, context);
    if (!delimiter) throw new Error(`Part ${child(place.path, n)} ended before a delimiter`);
    if (delimiter.fence) throw truncated(place.path);
    // An enclosing multipart's delimiter ends this one too, as mail clients read it.
    if (delimiter.depth > 0) return;
    cursor.pos = delimiter.next;
    if (delimiter.close) return skipEpilogue(cursor, outer, context);
  }
}

/** The epilogue after a closing delimiter, up to an enclosing delimiter (left unread) or the end. */
function skipEpilogue(cursor: Cursor, outer: Delimiters, context: Context): void {
  const found = nextDelimiter(cursor, cursor.pos, outer, context);
  cursor.pos = found ? found.start : cursor.buf.length;
}

function* readMessage(cursor: Cursor, fences: readonly Buffer[], path: string, depth: number, context: Context, outermost: boolean): Generator<MessageAttachment> {
  const { buf } = cursor;
  const delimiters = new Delimiters(fences, []);
  if (cursor.pos >= buf.length || delimiterAt(cursor, cursor.pos, delimiters, context)) {
    if (outermost) throw new InvalidRequestError('The message is empty.');
    return;
  }
  // A message saved from an mbox file starts with its "From " envelope line.
  if (outermost && buf.toString('latin1', cursor.pos, cursor.pos + 5) === 'From ') cursor.pos = lineAt(buf, cursor.pos).next;
  const where = outermost ? 'the message' : `the message attached as part ${path}`;
  const headers = readHeaders(cursor, delimiters, context, where, outermost);
  if (outermost && headers.count === 0) {
    throw new InvalidRequestError('This is not a MIME message: it has no header fields before its body.');
  }
  yield* readEntity(cursor, headers, { path, messageRoot: true, fences, boundaries: [], depth, defaultType: 'text/plain' }, context);
}

async function collect(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new PayloadTooLargeError(`The message is larger than the limit of ${maxBytes} bytes.`, { details: { limitBytes: maxBytes } });
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks, total);
}

/**
 * Reads a MIME message (RFC 5322, RFC 2045-2049) and yields its attachments one by one, decoded: base64
 * and quoted-printable are undone, and messages attached as `message/rfc822` (in any transfer encoding)
 * are opened and their attachments yielded in turn, with part numbers below theirs. Message text
 * (`text/plain` and `text/html` parts without a file name that are not marked as attachments) is read
 * past; so are the attached messages themselves, whose parts are what is checked.
 *
 * The message is held once (it is at most `maxBytes`) and read in one forward pass: a part's lines are
 * found by searching for its delimiters, an attached message sent as it is is read in place, and only
 * the decoded bytes of an encoded attached message are read again. A work budget
 * ({@link MimeWork}) bounds what any message may cost to a small multiple of a flat message of its size.
 *
 * @param work when given, filled in with the cost of the read, as it goes.
 * @throws InvalidRequestError for what cannot be read with certainty: a message that does not start
 *   with headers, a multipart without a boundary or cut off before its closing delimiter, an unknown
 *   transfer encoding, base64 content that is not base64, or a message past the part, depth,
 *   header-size or work limits.
 * @throws PayloadTooLargeError when the message holds more than `maxBytes`.
 */
export async function* readAttachments(source: AsyncIterable<Uint8Array>, limits: MimeLimits, work?: MimeWork): AsyncGenerator<MessageAttachment> {
  const message = await collect(source, limits.maxBytes);
  const meter = work ?? { inputBytes: 0, units: 0, budget: 0 };
  meter.inputBytes = message.length;
  meter.units = 0;
  meter.budget = WORK_PER_BYTE * message.length + WORK_SLACK;
  const context: Context = {
    maxParts: limits.maxParts ?? 1000,
    maxDepth: limits.maxDepth ?? 32,
    maxHeaderBytes: limits.maxHeaderBytes ?? 256 * 1024,
    parts: 0,
    work: meter,
  };
  yield* readMessage({ buf: message, pos: 0 }, [], '', 0, context, true);
}
