/**
 * The few MIME header values the attachment reader needs: `Content-Type`, `Content-Disposition` and
 * `Content-Transfer-Encoding`, with RFC 2231 parameters and RFC 2047 encoded words, decoded with the
 * platform's `TextDecoder` (which knows the legacy charsets mail still uses).
 */

/** A structured header value: the lower-case value before the first `;`, and its parameters. */
export interface StructuredHeader {
  readonly value: string;
  /** Parameters by lower-case name, decoded; RFC 2231 forms win over plain ones. */
  readonly params: ReadonlyMap<string, string>;
}

/** windows-1252 at 0x80-0x9F, where it differs from ISO-8859-1 (undefined positions stay C1 controls). */
const WINDOWS_1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/**
 * Decodes bytes in a named charset; an unknown charset falls back to UTF-8 rather than failing the message.
 * windows-1252 (which the WHATWG labels `iso-8859-1` and `us-ascii` also mean, and which Outlook uses) is
 * decoded here: Node's decoder reads it as ISO-8859-1 and loses `€`, curly quotes and dashes.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? '').trim().toLowerCase() || 'utf-8';
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  if (decoder.encoding !== 'windows-1252') return decoder.decode(bytes);
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80]! : byte);
  return text;
}

/** Drops `(comments)`, which RFC 822 allows in structured headers, outside quoted strings. Copies slices, not characters. */
function stripComments(text: string): string {
  if (!text.includes('(')) return text;
  const kept: string[] = [];
  let from = 0;
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (depth > 0) {
      if (c === 0x5c) i++;
      else if (c === 0x28) depth++;
      else if (c === 0x29 && --depth === 0) from = i + 1;
    } else if (c === 0x28) {
      kept.push(text.slice(from, i));
      depth = 1;
    } else if (c === 0x22) quoted = true;
  }
  if (depth === 0) kept.push(text.slice(from));
  return kept.join('');
}

/** Splits on `;` outside quoted strings. */
function splitParams(text: string): string[] {
  const parts: string[] = [];
  let from = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quoted && c === 0x5c) i++;
    else if (c === 0x22) quoted = !quoted;
    else if (c === 0x3b && !quoted) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * The bytes of `text` with its escapes undone: `<escape>XX` (two hex digits) is a byte, and with
 * `underscoreIsSpace` (RFC 2047 `Q`) `_` is a space; everything else is the UTF-8 of its characters.
 * Built in one buffer, so a value of any length decodes in one pass.
 */
function unescapeBytes(text: string, escape: string, underscoreIsSpace = false): Buffer {
  const out = Buffer.allocUnsafe(text.length * 3);
  const escapeCode = escape.charCodeAt(0);
  let n = 0;
  let literal = 0;
  const flush = (end: number) => {
    if (end > literal) n += out.write(text.slice(literal, end), n, 'utf8');
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === escapeCode && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      flush(i);
      out[n++] = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      i += 2;
      literal = i + 1;
    } else if (underscoreIsSpace && code === 0x5f) {
      flush(i);
      out[n++] = 0x20;
      literal = i + 1;
    }
  }
  flush(text.length);
  return out.subarray(0, n);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`). White space between two
 * encoded words is dropped, as the RFC says, and adjacent words in one charset are decoded together so a
 * character split across words survives. Text that is not an encoded word is kept as it is.
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  let out = '';
  let last = 0;
  let run: { charset: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (run) out += decodeCharset(Buffer.concat(run.bytes), run.charset);
    run = undefined;
  };
  for (const match of text.matchAll(ENCODED_WORD)) {
    const between = text.slice(last, match.index);
    if (!(run && /^\s*$/.test(between))) {
      flush();
      out += between;
    }
    const charset = match[1]!.split('*')[0]!.toLowerCase();
    const payload = match[3]!;
    const bytes = match[2]!.toUpperCase() === 'B' ? Buffer.from(payload, 'base64') : unescapeBytes(payload, '=', true);
    if (run && run.charset !== charset) flush();
    run ??= { charset, bytes: [] };
    run.bytes.push(bytes);
    last = match.index + match[0].length;
  }
  flush();
  return out + text.slice(last);
}

/**
 * Parses a structured header value such as `multipart/mixed; boundary="b1"` or
 * `attachment; filename*=UTF-8''na%C3%AFve.exe`. RFC 2231 continuations (`name*0`, `name*1*`) are joined
 * and their charset applied; plain parameter values that carry RFC 2047 encoded words (which mailers
 * send although the RFC forbids it) are decoded too.
 */
export function parseStructuredHeader(raw: string): StructuredHeader {
  const [first = '', ...rest] = splitParams(stripComments(raw));
  const plain = new Map<string, string>();
  const extended = new Map<string, { index: number; encoded: boolean; text: string }[]>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1);
    const section = /^([^*]+)\*(?:(\d+)\*?)?$/.exec(key);
    if (section) {
      const name = section[1]!;
      const encoded = key.endsWith('*');
      const segments = extended.get(name) ?? [];
      segments.push({ index: section[2] === undefined ? 0 : Number(section[2]), encoded, text: unquote(value) });
      extended.set(name, segments);
    } else if (!plain.has(key)) plain.set(key, decodeEncodedWords(unquote(value)));
  }
  const params = new Map(plain);
  for (const [name, segments] of extended) {
    segments.sort((a, b) => a.index - b.index);
    let charset: string | undefined;
    const bytes: Buffer[] = [];
    for (const [i, segment] of segments.entries()) {
      let text = segment.text;
      if (segment.encoded && i === 0) {
        const match = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (match) {
          charset = match[1] || undefined;
          text = match[2]!;
        }
      }
      bytes.push(segment.encoded ? unescapeBytes(text, '%') : Buffer.from(text, 'utf8'));
    }
    params.set(name, decodeCharset(Buffer.concat(bytes), charset));
  }
  return { value: first.trim().toLowerCase(), params };
}
