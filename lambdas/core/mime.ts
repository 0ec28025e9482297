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

const EMPTY: Buffer = Buffer.alloc(0);
/** Longer lines are neither headers nor delimiters (RFC 5322 allows 998 characters); they pass as content in pieces. */
const MAX_LINE_BYTES = 64 * 1024;
/** Decoded content is handed on in blocks of about this size, so digesting does not run per 57-byte line. */
const BLOCK_BYTES = 64 * 1024;

interface Line {
  /** The bytes of the line without its line ending. */
  readonly content: Buffer;
  /** `\r\n`, `\n`, or empty at the end of the input or in the middle of an overlong line. */
  readonly eol: Buffer;
  /** Whether this is a complete line: it starts a line and ends one (or the input). Only such lines can be headers or delimiters. */
  readonly whole: boolean;
}

/** Splits a byte source into lines without holding more than one line (at most {@link MAX_LINE_BYTES}) back. */
class LineReader {
  private buffer: Buffer = EMPTY;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private finished = false;
  private midLine = false;
  private total = 0;
  private readonly pushedBack: Line[] = [];

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  async next(): Promise<Line | undefined> {
    const pushed = this.pushedBack.pop();
    if (pushed) return pushed;
    for (;;) {
      const lf = this.buffer.indexOf(0x0a);
      if (lf >= 0) {
        const end = lf > 0 && this.buffer[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = { content: this.buffer.subarray(0, end), eol: this.buffer.subarray(end, lf + 1), whole: !this.midLine };
        this.buffer = this.buffer.subarray(lf + 1);
        this.midLine = false;
        return line;
      }
      if (this.buffer.length > MAX_LINE_BYTES) {
        // A CR at the end may be the first half of this line's ending: keep it with the rest.
        const cut = this.buffer[this.buffer.length - 1] === 0x0d ? this.buffer.length - 1 : this.buffer.length;
        const piece = { content: this.buffer.subarray(0, cut), eol: EMPTY, whole: false };
        this.buffer = this.buffer.subarray(cut);
        this.midLine = true;
        return piece;
      }
      if (this.finished) {
        if (this.buffer.length === 0) return undefined;
        const line = { content: this.buffer, eol: EMPTY, whole: !this.midLine };
        this.buffer = EMPTY;
        this.midLine = false;
        return line;
      }
      const { value, done } = await this.iterator.next();
      if (done) {
        this.finished = true;
        continue;
      }
      this.total += value.byteLength;
      if (this.total > this.maxBytes) {
        throw new PayloadTooLargeError(`The message is larger than the limit of ${this.maxBytes} bytes.`, {
          details: { limitBytes: this.maxBytes },
        });
      }
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    }
  }

  unread(line: Line): void {
    this.pushedBack.push(line);
  }

  /** Reads whatever is left, so the source behind this reader is consumed to its end. */
  async drain(): Promise<void> {
    while ((await this.next()) !== undefined);
  }
}

/** A delimiter line of one of the open multiparts: `--boundary` or `--boundary--`, transport padding allowed. */
interface Delimiter {
  /** 0 for the innermost open multipart, 1 for its parent, and so on. */
  readonly depth: number;
  /** Whether it is the closing delimiter (`--boundary--`). */
  readonly close: boolean;
}

function matchDelimiter(line: Line, boundaries: readonly Buffer[]): Delimiter | undefined {
  const content = line.content;
  if (!line.whole || content.length < 3 || content[0] !== 0x2d || content[1] !== 0x2d) return undefined;
  for (const [depth, boundary] of boundaries.entries()) {
    if (content.length < 2 + boundary.length || !content.subarray(2, 2 + boundary.length).equals(boundary)) continue;
    let rest = content.subarray(2 + boundary.length);
    const close = rest.length >= 2 && rest[0] === 0x2d && rest[1] === 0x2d;
    if (close) rest = rest.subarray(2);
    if (rest.every((byte) => byte === 0x20 || byte === 0x09)) return { depth, close };
  }
  return undefined;
}

/** Turns encoded body lines into content bytes. */
interface BodyDecoder {
  /** The bytes of one line (or piece of a line); the line ending held back from the previous line comes first. */
  line(line: Line): Buffer[];
  /** What is left at the end; `keepLineEnd` keeps the last line ending, which otherwise belongs to the delimiter. */
  end(keepLineEnd: boolean): Buffer[];
}

/** 7bit, 8bit and binary: the bytes as they are, less the line ending in front of the delimiter. */
function rawDecoder(): BodyDecoder {
  let heldEol = EMPTY;
  return {
    line(line) {
      const out = [heldEol, line.content];
      heldEol = line.eol;
      return out;
    },
    end(keepLineEnd) {
      return keepLineEnd ? [heldEol] : [];
    },
  };
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
 * not followed by two hex digits is kept as it is, as mail clients do.
 */
function quotedPrintableDecoder(): BodyDecoder {
  let heldEol = EMPTY;
  let carry = EMPTY;
  const decode = (bytes: Buffer): Buffer => {
    const out = Buffer.allocUnsafe(bytes.length);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte === 0x3d && i + 2 < bytes.length && hexValue(bytes[i + 1]!) >= 0 && hexValue(bytes[i + 2]!) >= 0) {
        out[n++] = hexValue(bytes[i + 1]!) * 16 + hexValue(bytes[i + 2]!);
        i += 2;
      } else out[n++] = byte;
    }
    return out.subarray(0, n);
  };
  return {
    line(line) {
      let bytes = carry.length > 0 ? Buffer.concat([carry, line.content]) : line.content;
      carry = EMPTY;
      const out = [heldEol];
      heldEol = EMPTY;
      if (line.eol.length === 0 && !line.whole) {
        // A piece of an overlong line: an escape cut at its end is finished by the next piece.
        const equals = bytes.lastIndexOf(0x3d);
        if (equals >= 0 && equals >= bytes.length - 2) {
          carry = Buffer.from(bytes.subarray(equals));
          bytes = bytes.subarray(0, equals);
        }
        out.push(decode(bytes));
        return out;
      }
      let end = bytes.length;
      while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
      if (end > 0 && bytes[end - 1] === 0x3d) {
        out.push(decode(bytes.subarray(0, end - 1)));
      } else {
        out.push(decode(bytes.subarray(0, end)));
        heldEol = line.eol;
      }
      return out;
    },
    end(keepLineEnd) {
      const out = carry.length > 0 ? [carry] : [];
      if (keepLineEnd) out.push(heldEol);
      return out;
    },
  };
}

const BASE64_ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Base64 (RFC 2045 6.8): characters outside the alphabet (line breaks, transport padding) are skipped, as
 * mail clients skip them, and every 4-character group is decoded on its own, so encoders that pad each
 * line still decode in full. An unpadded tail of 2 or 3 characters is decoded; a single stray character
 * cannot carry a byte and is dropped.
 */
function base64Decoder(): BodyDecoder {
  let carry = '';
  const take = (final: boolean): Buffer[] => {
    const usable = final ? carry.length : carry.length - (carry.length % 4);
    const text = carry.slice(0, usable);
    carry = carry.slice(usable);
    if (text === '') return [];
    if (!text.includes('=')) return [Buffer.from(text, 'base64')];
    const out: Buffer[] = [];
    for (let i = 0; i < text.length; i += 4) out.push(Buffer.from(text.slice(i, i + 4), 'base64'));
    return out;
  };
  return {
    line(line) {
      for (const byte of line.content) if (BASE64_ALPHABET[byte]) carry += String.fromCharCode(byte);
      return take(false);
    },
    end() {
      return take(true);
    },
  };
}

function decoderFor(encoding: string, where: string): BodyDecoder {
  switch (encoding) {
    case '':
    case '7bit':
    case '8bit':
    case 'binary':
      return rawDecoder();
    case 'quoted-printable':
      return quotedPrintableDecoder();
    case 'base64':
      return base64Decoder();
    default:
      throw new InvalidRequestError(
        `${where} uses the transfer encoding '${encoding}', which is not base64, quoted-printable, 7bit, 8bit or binary: it cannot be decoded to be checked.`,
      );
  }
}

/** One entity's header fields, by lower-case name; the first occurrence counts. */
type Headers = ReadonlyMap<string, string>;

const HEADER_LINE = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

interface Context {
  readonly maxParts: number;
  readonly maxDepth: number;
  readonly maxHeaderBytes: number;
  parts: number;
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
async function readHeaders(reader: LineReader, boundaries: readonly Buffer[], context: Context, where: string, strict: boolean): Promise<Headers> {
  const fields: [string, string][] = [];
  let bytes = 0;
  for (;;) {
    const line = await reader.next();
    if (!line) break;
    if (!line.whole) throw new InvalidRequestError(`A header line of ${where} is longer than ${MAX_LINE_BYTES} bytes.`);
    bytes += line.content.length + line.eol.length;
    if (bytes > context.maxHeaderBytes) {
      throw new InvalidRequestError(`The header block of ${where} is larger than ${context.maxHeaderBytes} bytes.`);
    }
    if (line.content.length === 0) break;
    if (matchDelimiter(line, boundaries)) {
      reader.unread(line);
      break;
    }
    const text = line.content.toString('utf8');
    const last = fields[fields.length - 1];
    if ((text.startsWith(' ') || text.startsWith('\t')) && last) {
      last[1] += text;
    } else if (HEADER_LINE.test(text)) {
      const colon = text.indexOf(':');
      fields.push([text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1)]);
    } else if (strict && fields.length === 0) {
      throw new InvalidRequestError(`This is not a MIME message: ${where} does not start with a header line ("Name: value").`);
    } else {
      reader.unread(line);
      break;
    }
  }
  const headers = new Map<string, string>();
  for (const [name, value] of fields) if (!headers.has(name)) headers.set(name, value.replace(/\r?\n/g, '').trim());
  return headers;
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
  /** Boundaries of the open multiparts around it, innermost first. */
  readonly boundaries: readonly Buffer[];
  readonly depth: number;
  /** Whether it is the top entity of the message sent, whose body runs to the end of the input. */
  readonly outermost: boolean;
  /** In a `multipart/digest` a part without a type is a message (RFC 2046 5.1.5). */
  readonly defaultType: string;
}

/** The decoded body of a leaf, up to the next delimiter of an open multipart (left unread) or the end of the input. */
async function* leafContent(reader: LineReader, encoding: string, place: Place, ended: { value: boolean }): AsyncGenerator<Uint8Array> {
  const decoder = decoderFor(encoding, describe(place.path));
  let block: Buffer[] = [];
  let size = 0;
  const add = (buffers: Buffer[]) => {
    for (const buffer of buffers) {
      if (buffer.length === 0) continue;
      block.push(buffer);
      size += buffer.length;
    }
  };
  for (;;) {
    const line = await reader.next();
    if (!line) break;
    if (matchDelimiter(line, place.boundaries)) {
      reader.unread(line);
      break;
    }
    add(decoder.line(line));
    if (size >= BLOCK_BYTES) {
      yield Buffer.concat(block, size);
      block = [];
      size = 0;
    }
  }
  // The line ending before a delimiter belongs to the delimiter; only a message that is not multipart keeps its last one.
  add(decoder.end(place.outermost && place.boundaries.length === 0));
  if (size > 0) yield Buffer.concat(block, size);
  ended.value = true;
}

async function consume(body: AsyncIterable<Uint8Array>, ended: { value: boolean }, path: string): Promise<void> {
  for await (const _ of body);
  // A body abandoned half-way (its iterator returned early) leaves the reader inside the part.
  if (!ended.value) throw new Error(`The content of ${describe(path)} was not read to its end`);
}

async function* readEntity(reader: LineReader, headers: Headers, place: Place, context: Context): AsyncGenerator<MessageAttachment> {
  context.parts += 1;
  if (context.parts > context.maxParts) {
    throw new InvalidRequestError(`The message has more than ${context.maxParts} MIME parts.`);
  }
  if (place.depth > context.maxDepth) {
    throw new InvalidRequestError(`The message nests multiparts and attached messages more than ${context.maxDepth} deep.`);
  }
  const type = parseStructuredHeader(headers.get('content-type') ?? place.defaultType);
  const contentType = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(type.value) ? type.value : 'text/plain';

  if (contentType.startsWith('multipart/')) {
    yield* readMultipart(reader, contentType, type, place, context);
    return;
  }

  const own = place.messageRoot ? child(place.path, 1) : place.path;
  const encoding = parseStructuredHeader(headers.get('content-transfer-encoding') ?? '').value;
  const ended = { value: false };
  const body = leafContent(reader, encoding, { ...place, path: own }, ended);

  if (contentType === 'message/rfc822' || contentType === 'message/global') {
    // An attached message is read as a message of its own, whatever its transfer encoding.
    const inner = new LineReader(body);
    yield* readMessage(inner, own, place.depth + 1, context, false);
    await inner.drain();
    await consume(body, ended, own);
    return;
  }

  const disposition = headers.has('content-disposition') ? parseStructuredHeader(headers.get('content-disposition')!) : undefined;
  const fileName = cleanName(disposition?.params.get('filename') ?? type.params.get('name'));
  if (isAttachment(contentType, disposition, fileName)) yield { path: own, fileName, contentType, body };
  await consume(body, ended, own);
}

async function* readMultipart(
  reader: LineReader,
  contentType: string,
  type: StructuredHeader,
  place: Place,
  context: Context,
): AsyncGenerator<MessageAttachment> {
  const boundary = type.params.get('boundary')?.trimEnd();
  if (!boundary) {
    throw new InvalidRequestError(`The ${contentType} body of ${describe(place.path)} has no boundary parameter, so its parts cannot be told apart.`);
  }
  const boundaries = [Buffer.from(boundary, 'utf8'), ...place.boundaries];
  const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';

  // The preamble, up to the first delimiter.
  for (;;) {
    const line = await reader.next();
    if (!line) throw truncated(place.path);
    const delimiter = matchDelimiter(line, boundaries);
    if (!delimiter) continue;
    if (delimiter.depth > 0) {
      reader.unread(line);
      return;
    }
    if (delimiter.close) return skipEpilogue(reader, place.boundaries);
    break;
  }

  for (let n = 1; ; n++) {
    const where = describe(child(place.path, n));
    const headers = await readHeaders(reader, boundaries, context, where, false);
    yield* readEntity(
      reader,
      headers,
      { path: child(place.path, n), messageRoot: false, boundaries, depth: place.depth + 1, outermost: false, defaultType: childDefault },
      context,
    );
    const line = await reader.next();
    if (!line) throw truncated(place.path);
    const delimiter = matchDelimiter(line, boundaries);
    if (!delimiter) throw new Error(`Part ${child(place.path, n)} ended before a delimiter`);
    if (delimiter.depth > 0) {
      // An enclosing multipart's delimiter ends this one too, as mail clients read it.
      reader.unread(line);
      return;
    }
    if (delimiter.close) return skipEpilogue(reader, place.boundaries);
  }
}

/** The epilogue after a closing delimiter, up to an enclosing multipart's delimiter (left unread) or the end. */
async function skipEpilogue(reader: LineReader, boundaries: readonly Buffer[]): Promise<void> {
  for (;;) {
    const line = await reader.next();
    if (!line) return;
    if (matchDelimiter(line, boundaries)) {
      reader.unread(line);
      return;
    }
  }
}

async function* readMessage(reader: LineReader, path: string, depth: number, context: Context, outermost: boolean): AsyncGenerator<MessageAttachment> {
  const first = await reader.next();
  if (!first) {
    if (outermost) throw new InvalidRequestError('The message is empty.');
    return;
  }
  // A message saved from an mbox file starts with its "From " envelope line.
  if (!(outermost && first.whole && first.content.subarray(0, 5).toString('latin1') === 'From ')) reader.unread(first);
  const where = outermost ? 'the message' : `the message attached as part ${path}`;
  const headers = await readHeaders(reader, [], context, where, outermost);
  if (outermost && headers.size === 0) {
    throw new InvalidRequestError('This is not a MIME message: it has no header fields before its body.');
  }
  yield* readEntity(reader, headers, { path, messageRoot: true, boundaries: [], depth, outermost, defaultType: 'text/plain' }, context);
}

/**
 * Reads a MIME message (RFC 5322, RFC 2045-2049) as a stream and yields its attachments one by one,
 * decoded: base64 and quoted-printable are undone, and messages attached as `message/rfc822` (in any
 * transfer encoding) are opened and their attachments yielded in turn, with part numbers below theirs.
 * Message text (`text/plain` and `text/html` parts without a file name that are not marked as
 * attachments) is read past; so are the attached messages themselves, whose parts are what is checked.
 *
 * Memory stays at one line plus one block of content, whatever the size of the message. Each
 * attachment's body must be read to its end before the next one is asked for.
 *
 * @throws InvalidRequestError for what cannot be read with certainty: a message that does not start
 *   with headers, a multipart without a boundary or cut off before its closing delimiter, an unknown
 *   transfer encoding, or a message past the part, depth or header-size limits.
 * @throws PayloadTooLargeError when the message holds more than `maxBytes`.
 */
export async function* readAttachments(source: AsyncIterable<Uint8Array>, limits: MimeLimits): AsyncGenerator<MessageAttachment> {
  const context: Context = {
    maxParts: limits.maxParts ?? 1000,
    maxDepth: limits.maxDepth ?? 32,
    maxHeaderBytes: limits.maxHeaderBytes ?? 256 * 1024,
    parts: 0,
  };
  yield* readMessage(new LineReader(source, limits.maxBytes), '', 0, context, true);
}
