import type { HashAlgorithm } from './hashes.js';

/**
 * The one reader of hash lists as people paste them and tools write them: the service's text/plain bulk
 * lookup, plain-list imports, `hashcheck lookup` and the web form all read lines here. Free of Node
 * imports, so the web form bundles it. Nothing is validated here: each digest is judged by `parseHash`.
 */

/** One digest a line holds, and the algorithm the line says it is when it says one. */
export interface LineDigest {
  readonly value: string;
  /** From a tag (`SHA256 (…) = …`) or a hashdeep column; undefined when only the length can tell. */
  readonly algorithm?: HashAlgorithm;
}

/** One entry of a hash list. */
export interface ChecksumLine {
  /** 1-based line number: line feeds are counted (CRLF once), as editors and `wc -l` count. */
  readonly line: number;
  /** The entry as given, without its line terminator, so answers can echo what the caller sent. */
  readonly input: string;
  /** What should be digests: one, or one per hash column of a hashdeep line (md5 and sha256 of one file). */
  readonly digests: readonly LineDigest[];
  /** The path the line names, unescaped. */
  readonly name?: string;
  /** Set when coreutils escaped the line: a backslash in its name is a character, not a folder separator. */
  readonly escaped?: true;
}

/** hashdeep's columns when a list has no `%%%% size,…` header: its default, `hashdeep -c md5,sha256`. */
const HASHDEEP_DEFAULT_COLUMNS: readonly string[] = ['size', 'md5', 'sha256', 'filename'];
const HASHDEEP_ALGORITHMS: Readonly<Record<string, HashAlgorithm>> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256' };
const TAG_ALGORITHMS: Readonly<Record<string, HashAlgorithm>> = {
  md5: 'md5',
  sha1: 'sha1',
  'sha-1': 'sha1',
  sha256: 'sha256',
  'sha-256': 'sha256',
  'sha2-256': 'sha256',
};

/**
 * Reads a hash list into its entries, one per line, in order. A line is:
 * - a bare hash;
 * - `sha256sum`/`sha1sum`/`md5sum` output: `<hash>  <path>` (text mode), `<hash> *<path>` (binary mode), or
 *   either with a leading `\` when coreutils escaped a path holding a backslash or line break (`\\`, `\n`,
 *   `\r`); any other white space between hash and path is taken too;
 * - tagged output: `SHA256 (<path>) = <hash>` (BSD, macOS, `sha256sum --tag`) and `SHA2-256(<path>)= <hash>`
 *   (`openssl dgst`);
 * - a hashdeep line, `<size>,<md5>,<sha256>,<path>`, in the columns its `%%%% size,…` header names.
 * Blank lines, `#` comments (hashdeep's `##` lines among them) and hashdeep's `%%%%` header lines are no
 * entry. Lines end at a line feed and at the other line terminators of Unicode (CR, vertical tab, form
 * feed, NEL, U+2028, U+2029), so one entry never holds two digests by accident; line numbers count line
 * feeds only. Spaces, tabs and the other Unicode spaces around an entry are dropped.
 *
 * Linear in the text whatever it holds: one pass, and no regular expression runs over a whole line.
 */
export function readChecksumLines(text: string): ChecksumLine[] {
  return Array.from(checksumLines(text));
}

/** The entries of {@link readChecksumLines} one at a time, for a caller that works through a long list in pieces. */
export function* checksumLines(text: string): Generator<ChecksumLine, void, undefined> {
  let columns = HASHDEEP_DEFAULT_COLUMNS;
  let line = 1;
  let start = 0;
  if (!OTHER_LINE_ENDS.test(text)) {
    // Lines that end only in LF or CRLF, as nearly every list does: found with indexOf, not a character at a time.
    while (start <= text.length) {
      const lf = text.indexOf('\n', start);
      const end = lf < 0 ? text.length : lf;
      const input = text.slice(start, end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end);
      const read = readLine(input, columns);
      if (read && 'columns' in read) columns = read.columns;
      else if (read) yield withPlace(line, input, read);
      if (lf < 0) return;
      line++;
      start = lf + 1;
    }
    return;
  }
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : LF;
    if (!endsLine(code)) continue;
    const input = text.slice(start, i);
    if (code === CR && text.charCodeAt(i + 1) === LF) i++;
    start = i + 1;
    const read = readLine(input, columns);
    if (read && 'columns' in read) columns = read.columns;
    else if (read) yield withPlace(line, input, read);
    if (i < text.length && text.charCodeAt(i) === LF) line++;
  }
}

/** An entry with its line and text, built by assignment: a feed of a million lines makes a million of these. */
function withPlace(line: number, input: string, read: LineContent): ChecksumLine {
  const entry: { -readonly [K in keyof ChecksumLine]: ChecksumLine[K] } = { line, input, digests: read.digests };
  if (read.name !== undefined) entry.name = read.name;
  if (read.escaped) entry.escaped = true;
  return entry;
}

const LF = 0x0a;
const CR = 0x0d;
/** Any line end but LF and CRLF: a CR alone, vertical tab, form feed, NEL, U+2028, U+2029. */
const OTHER_LINE_ENDS = /[\v\f\u0085\u2028\u2029]|\r(?!\n)/;

/** What ends a line: line feed, carriage return, vertical tab, form feed, NEL (U+0085), U+2028 and U+2029. */
export function endsLine(code: number): boolean {
  return code === LF || code === CR || code === 0x0b || code === 0x0c || code === 0x85 || code === 0x2028 || code === 0x2029;
}

/** Whether `text` from `start` to `end` is hex digits only, of either case. */
function isHexRun(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const letter = code | 0x20;
    if (!((code >= 0x30 && code <= 0x39) || (letter >= 0x61 && letter <= 0x66))) return false;
  }
  return true;
}

/** White space around an entry and between its hash and path: tab, space, the Unicode space separators, the byte-order mark. */
export function isSpace(code: number): boolean {
  return (
    code === 0x20 ||
    code === 0x09 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const isTagCharacter = (code: number) =>
  isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2d; /* - */

type LineContent = Omit<ChecksumLine, 'line' | 'input'>;

/** One line's content; undefined when it is no entry; the hashdeep columns from then on when it is a hashdeep header. */
function readLine(input: string, columns: readonly string[]): LineContent | { readonly columns: readonly string[] } | undefined {
  let start = 0;
  let end = input.length;
  while (start < end && isSpace(input.charCodeAt(start))) start++;
  while (end > start && isSpace(input.charCodeAt(end - 1))) end--;
  if (start === end || input[start] === '#') return undefined;
  // A bare hash, most lines of most lists: nothing else to read in it.
  if (isHexRun(input, start, end)) return { digests: [{ value: start === 0 && end === input.length ? input : input.slice(start, end) }] };
  if (input.startsWith('%%%%', start)) return { columns: readHashdeepHeader(input.slice(start + 4, end)) ?? columns };
  const escaped = input[start] === '\\';
  const from = escaped ? start + 1 : start;
  return (
    (escaped ? undefined : readHashdeepLine(input, from, end, columns)) ??
    readTaggedLine(input, from, end, escaped) ??
    readSumLine(input, from, end, escaped)
  );
}

/** `%%%% size,md5,sha256,filename`: the columns of the lines after it (`%%%% HASHDEEP-1.0` names none). */
function readHashdeepHeader(rest: string): readonly string[] | undefined {
  const names = rest.split(',').map((name) => name.trim().toLowerCase());
  return names.length >= 3 && names[0] === 'size' && names[names.length - 1] === 'filename' ? names : undefined;
}

/** `<size>,<hash>,…,<path>`: a line that starts with digits and a comma, with every column of the header. */
function readHashdeepLine(input: string, from: number, end: number, columns: readonly string[]): LineContent | undefined {
  let at = from;
  while (at < end && isDigit(input.charCodeAt(at))) at++;
  if (at === from || input[at] !== ',') return undefined;
  const values: string[] = [];
  let fieldStart = from;
  for (let column = 0; column < columns.length - 1; column++) {
    const comma = input.indexOf(',', fieldStart);
    if (comma < 0 || comma >= end) return undefined;
    values.push(input.slice(fieldStart, comma));
    fieldStart = comma + 1;
  }
  const hashColumns = columns.slice(1, -1).map((column, i) => ({ algorithm: HASHDEEP_ALGORITHMS[column], value: values[i + 1]! }));
  const known = hashColumns.filter((c) => c.algorithm !== undefined);
  // A list of other algorithms only (`hashdeep -c tiger`): its digests are answered as what they are, not dropped.
  const digests = (known.length > 0 ? known : hashColumns).map(({ value, algorithm }) => (algorithm ? { value, algorithm } : { value }));
  const name = input.slice(fieldStart, end);
  return name === '' ? { digests } : { digests, name };
}

/** `SHA256 (<path>) = <hash>` or `SHA2-256(<path>)= <hash>`: a tag, at most one space, the path in brackets, `=`, the hash. */
function readTaggedLine(input: string, from: number, end: number, escaped: boolean): LineContent | undefined {
  let at = from;
  while (at < end && isTagCharacter(input.charCodeAt(at))) at++;
  if (at === from) return undefined;
  const tag = input.slice(from, at).toLowerCase();
  if (input[at] === ' ') at++;
  if (input[at] !== '(') return undefined;
  const open = at;
  const equals = input.lastIndexOf('=', end - 1);
  if (equals <= open) return undefined;
  let close = equals - 1;
  while (close > open && isSpace(input.charCodeAt(close))) close--;
  if (input[close] !== ')') return undefined;
  let hashStart = equals + 1;
  while (hashStart < end && isSpace(input.charCodeAt(hashStart))) hashStart++;
  if (hashStart === end) return undefined;
  for (let i = hashStart; i < end; i++) if (isSpace(input.charCodeAt(i))) return undefined;
  const algorithm = Object.hasOwn(TAG_ALGORITHMS, tag) ? TAG_ALGORITHMS[tag] : undefined;
  const value = input.slice(hashStart, end);
  const name = input.slice(open + 1, close);
  return {
    digests: [algorithm ? { value, algorithm } : { value }],
    ...(name !== '' && { name: escaped ? unescapeName(name) : name }),
    ...(escaped && { escaped: true as const }),
  };
}

/** A bare hash, or `<hash>  <path>` / `<hash> *<path>` as coreutils writes them. */
function readSumLine(input: string, from: number, end: number, escaped: boolean): LineContent {
  let at = from;
  while (at < end && !isSpace(input.charCodeAt(at))) at++;
  const digests = [{ value: input.slice(from, at) }];
  if (at === end) return escaped ? { digests, escaped: true } : { digests };
  let nameStart: number;
  // Exactly what coreutils writes between hash and path: two spaces (text mode) or a space and `*` (binary).
  if (input[at] === ' ' && (input[at + 1] === ' ' || input[at + 1] === '*')) nameStart = at + 2;
  else {
    nameStart = at;
    while (nameStart < end && isSpace(input.charCodeAt(nameStart))) nameStart++;
    if (input[nameStart] === '*') nameStart++;
  }
  const name = input.slice(nameStart, end);
  return {
    digests,
    ...(name !== '' && { name: escaped ? unescapeName(name) : name }),
    ...(escaped && { escaped: true as const }),
  };
}

/** Undoes coreutils' escaping of a path: `\\` is a backslash, `\n` a line feed, `\r` a carriage return. */
function unescapeName(name: string): string {
  return name.replace(/\\([\\nr])/g, (_all, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}
