import { endsLine, isSpace as isLineSpace, readChecksumLines } from './checksum-lines.js';
import { parseCsv } from './csv.js';
import { InvalidRequestError } from './errors.js';
import { ALGORITHM_BY_LENGTH, parseHash, type HashAlgorithm, type HashHex } from './hashes.js';
import type { KnownRecord } from './records.js';
import { describeIssues, recordInputSchema, type ImportFormat, type RejectedInput } from './schemas.js';

/** The feed formats an import takes; detected from the content unless the caller names one. */
export { IMPORT_FORMATS, type ImportFormat, type RejectedInput } from './schemas.js';

export { parseCsv, type CsvRow } from './csv.js';

/** Provenance for formats that do not carry it (plain lists), or overrides for those that do. */
export interface ImportDefaults {
  readonly campaign?: string;
  readonly source?: string;
  readonly kind?: string;
  readonly platform?: string;
  readonly confidence?: string;
}

export interface ParsedImport {
  format: ImportFormat;
  records: KnownRecord[];
  rejected: RejectedInput[];
}

/** Candidate fields of one record before validation. */
type Draft = Record<string, unknown> & { md5?: string; sha1?: string; sha256?: string };
/** One input of a feed: its fields, or the reason it has none. */
type DraftRow = { line: number | null; input: string; draft: Draft | string };

const ALGORITHM_NAMES: Readonly<Record<string, HashAlgorithm>> = {
  md5: 'md5',
  'sha-1': 'sha1',
  sha1: 'sha1',
  'sha-256': 'sha256',
  sha256: 'sha256',
};

/** The algorithm a feed's name for it means; `constructor` and other inherited names mean none. */
function algorithmNamed(name: string): HashAlgorithm | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(ALGORITHM_NAMES, key) ? ALGORITHM_NAMES[key] : undefined;
}

/**
 * A JSON scalar as text, or undefined for anything else. Never `String()` on a feed's value: an array
 * nested a million deep, which fits in 4 MiB, overflows the stack when it is turned into text.
 */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** White space in a STIX pattern: the spaces of a hash list and the line terminators. */
function isSpace(code: number): boolean {
  return isLineSpace(code) || endsLine(code);
}

/** Tells the format from the content: a STIX bundle, a MISP event, JSON Lines, a CSV with a header, or a plain list. */
export function detectFormat(text: string): ImportFormat {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const json = JSON.parse(trimmed) as Record<string, unknown> | unknown[];
      if (!Array.isArray(json) && json['type'] === 'bundle') return 'stix';
      if (Array.isArray(json) || 'Event' in json || 'response' in json) return 'misp';
    } catch {
      // Several JSON objects, one per line: the project's own record format.
    }
    return 'jsonl';
  }
  const end = trimmed.indexOf('\n');
  const firstLine = (end < 0 ? trimmed : trimmed.slice(0, end)).toLowerCase();
  // hashdeep output: its `%%%% size,md5,sha256,filename` header line names hash columns too.
  if (firstLine.startsWith('%%%%')) return 'plain';
  if (firstLine.includes(',') && /\b(sha256|sha1|md5)\b/.test(firstLine)) return 'csv';
  return 'plain';
}

/**
 * Parses a feed into validated records. Every input is checked before anything is written; inputs that
 * cannot become a whole record are returned as `rejected` with a reason, never as half a record. A digest
 * claimed by two inputs is rejected the second time.
 * @throws InvalidRequestError when the feed as a whole is unusable (not JSON where JSON is expected, a
 *   plain list without the campaign and source it needs).
 */
export function parseImport(text: string, options: { format?: ImportFormat; defaults?: ImportDefaults } = {}): ParsedImport {
  const format = options.format ?? detectFormat(text);
  if (options.format === undefined && format === 'jsonl') refuseBrokenJson(text);
  const defaults = options.defaults ?? {};
  if (format === 'plain') requireProvenance(defaults);
  // The fields every input that carries only digests (and a list's file name) takes from the defaults,
  // checked once for the whole feed rather than once per input.
  const common = format === 'jsonl' ? undefined : commonFields(defaults);
  if (format === 'plain' && common) {
    const bare = bareDigestRecords(text, common);
    if (bare) return { format, ...bare };
  }
  const drafts: DraftRow[] =
    format === 'jsonl'
      ? jsonLinesDrafts(text)
      : format === 'csv'
        ? csvDrafts(text)
        : format === 'plain'
          ? plainDrafts(text)
          : format === 'stix'
            ? stixDrafts(parseJson(text, 'STIX bundle'), defaults)
            : mispDrafts(parseJson(text, 'MISP event'), defaults);

  const records: KnownRecord[] = [];
  const rejected: RejectedInput[] = [];
  const seen = new Map<string, number | string>();
  for (const { line, input, draft } of drafts) {
    if (typeof draft === 'string') {
      rejected.push({ line, input, reason: draft });
      continue;
    }
    let record = common && digestsOnly(draft, common);
    if (!record) {
      const result = recordInputSchema.safeParse(applyDefaults(draft, defaults));
      if (!result.success) {
        rejected.push({ line, input, reason: describeIssues(result.error, 'record') });
        continue;
      }
      record = result.data;
    }
    const clash = firstSeen(seen, record);
    if (clash !== undefined) {
      const where = seen.get(clash)!;
      rejected.push({ line, input, reason: `digest ${clash} already appears in ${typeof where === 'number' ? `line ${where}` : where}` });
      continue;
    }
    const where = line ?? input;
    if (record.sha256) seen.set(record.sha256, where);
    if (record.sha1) seen.set(record.sha1, where);
    if (record.md5) seen.set(record.md5, where);
    records.push(record);
  }
  return { format, records, rejected };
}

/** The first of a record's digests (strongest first) that an earlier input of the feed claimed. */
function firstSeen(seen: ReadonlyMap<string, unknown>, record: KnownRecord): string | undefined {
  if (record.sha256 && seen.has(record.sha256)) return record.sha256;
  if (record.sha1 && seen.has(record.sha1)) return record.sha1;
  if (record.md5 && seen.has(record.md5)) return record.md5;
  return undefined;
}

/** The fields of a record other than its digests that an input carrying nothing but digests gets from the defaults. */
type CommonFields = Omit<KnownRecord, 'sha256' | 'sha1' | 'md5' | 'size' | 'addedAt' | 'derived' | 'revoked'>;
const COMMON_KEYS = ['campaign', 'confidence', 'fileName', 'kind', 'platform', 'sources', 'stage', 'version'].join();
/** A digest the schema takes, to check the defaults with. */
const PROBE_DIGEST = '0'.repeat(64);

/**
 * The record fields an input with nothing but digests takes from the import's defaults, checked with the
 * record schema once for the whole feed. Undefined when the defaults do not make a valid record (a plain
 * list whose campaign is too long, a CSV with neither a campaign column nor a campaign parameter): then
 * every input is checked on its own, and rejected with the schema's reason.
 */
function commonFields(defaults: ImportDefaults): CommonFields | undefined {
  const result = recordInputSchema.safeParse(applyDefaults({ sha256: PROBE_DIGEST }, defaults));
  if (!result.success) return undefined;
  const { sha256: _probe, ...fields } = result.data;
  return Object.keys(fields).sort().join() === COMMON_KEYS ? fields : undefined;
}

/**
 * The record of an input that carries only digests (already checked by `addDigest` as it was read) and
 * perhaps a file name, with the common fields: exactly what the record schema makes of it with the
 * defaults applied. Undefined for any other input, which the schema checks.
 */
function digestsOnly(draft: Draft, common: CommonFields): KnownRecord | undefined {
  let fileName = common.fileName;
  let digests = 0;
  for (const key in draft) {
    const value = draft[key];
    if (key === 'sha256' || key === 'sha1' || key === 'md5') {
      if (typeof value !== 'string') return undefined;
      digests += 1;
    } else if (key === 'fileName' && typeof value === 'string') {
      // The schema's text check: trimmed, 1 to 512 characters.
      fileName = value.trim();
      if (fileName.length === 0 || fileName.length > 512) return undefined;
    } else return undefined;
  }
  if (digests === 0) return undefined;
  // Field by field: a spread of the common fields would cost more than the rest of the input's reading.
  const { platform, version, kind, stage, campaign, confidence, sources } = common;
  const record: Record<string, unknown> = { fileName, platform, version, kind, stage, campaign, confidence, sources };
  if (draft.sha256 !== undefined) record['sha256'] = draft.sha256;
  if (draft.sha1 !== undefined) record['sha1'] = draft.sha1;
  if (draft.md5 !== undefined) record['md5'] = draft.md5;
  return record as KnownRecord;
}

/** A record's strongest digest: the only one of a record read from a bare digest line. */
function primaryDigest(record: KnownRecord): string {
  return (record.sha256 ?? record.sha1 ?? record.md5)!;
}

/** Each UTF-16 code unit of the Latin-1 range: 1 for 0-9 and a-f, 3 for A-F, 0 for anything else. */
const HEX_DIGIT = Uint8Array.from({ length: 256 }, (_, code) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66) ? 1 : code >= 0x41 && code <= 0x46 ? 3 : 0,
);

/**
 * A plain list of one bare digest per line (blank lines between them taken), as the largest feeds are:
 * read in one pass straight into records, each with the common fields. Every digest is exactly what
 * `readChecksumLines` and `parseHash` would make of the line, and a digest on two lines is rejected the
 * second time as there. Undefined for a list with any other kind of line (a path, a tag, a comment,
 * spaces, a hashdeep header), which is read line by line by `readChecksumLines`.
 */
function bareDigestRecords(text: string, common: CommonFields): Omit<ParsedImport, 'format'> | undefined {
  const records: KnownRecord[] = [];
  const rejected: RejectedInput[] = [];
  // The line of each digest so far, once they stop coming in ascending order: until then (a list sent in
  // key order) each digest is larger than the one before, so none repeats, and none is looked up.
  let seen: Map<string, number> | undefined;
  let previous = '';
  const lines: number[] = [];
  const { fileName, platform, version, kind, stage, campaign, confidence, sources } = common;
  let line = 1;
  for (let start = 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // CRLF ends a line as LF does.
    const stop = end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    if (stop > start) {
      const algorithm = ALGORITHM_BY_LENGTH[stop - start];
      if (algorithm === undefined) return undefined;
      // Every character a hex digit (each gives 1, or 3 in upper case, ANDed and ORed together).
      let all = 1;
      let any = 0;
      for (let i = start; i < stop; i++) {
        const kind = HEX_DIGIT[text.charCodeAt(i)] ?? 0;
        all &= kind;
        any |= kind;
      }
      if (all === 0) return undefined;
      const input = text.slice(start, stop);
      const hash = (any === 3 ? input.toLowerCase() : input) as HashHex;
      if (seen === undefined && !(hash > previous)) seen = new Map(records.map((record, i) => [primaryDigest(record), lines[i]!]));
      const earlier = seen?.get(hash);
      if (earlier !== undefined) {
        rejected.push({ line, input, reason: `digest ${hash} already appears in line ${earlier}` });
      } else {
        if (seen) seen.set(hash, line);
        else previous = hash;
        lines.push(line);
        records.push(
          algorithm === 'sha256'
            ? { sha256: hash, fileName, platform, version, kind, stage, campaign, confidence, sources }
            : algorithm === 'sha1'
              ? { sha1: hash, fileName, platform, version, kind, stage, campaign, confidence, sources }
              : { md5: hash, fileName, platform, version, kind, stage, campaign, confidence, sources },
        );
      }
    }
    start = end + 1;
  }
  return { records, rejected };
}

/**
 * A feed that starts like JSON is one JSON document or JSON Lines. When it is neither (its first line is
 * not JSON by itself), it is a document cut short or mangled: reading its lines one by one would import
 * whatever lines happen to be whole records, so it is refused as a whole, before anything is written.
 */
export function refuseBrokenJson(text: string): void {
  const start = text.length - text.trimStart().length;
  const end = text.indexOf('\n', start);
  const firstLine = text.slice(start, end < 0 ? text.length : end);
  try {
    JSON.parse(firstLine);
  } catch {
    let problem = 'it does not parse';
    try {
      JSON.parse(text);
    } catch (error) {
      problem = (error as Error).message;
    }
    throw new InvalidRequestError(
      `The import starts like JSON but is not valid JSON (${problem}), nor JSON Lines (one JSON record on each line): ` +
        'was the file cut short? Nothing was imported.',
    );
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`The ${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function applyDefaults(draft: Draft, defaults: ImportDefaults): Draft {
  const pick = (key: string, fallback: string | undefined) => draft[key] ?? fallback;
  return {
    ...draft,
    campaign: defaults.campaign ?? pick('campaign', undefined),
    kind: pick('kind', defaults.kind ?? 'other'),
    platform: pick('platform', defaults.platform ?? 'unspecified'),
    confidence: defaults.confidence ?? pick('confidence', 'medium'),
    version: pick('version', 'unspecified'),
    stage: pick('stage', 'unspecified'),
    fileName: pick('fileName', 'unknown'),
    sources: draft['sources'] ?? (defaults.source ? [defaults.source] : undefined),
  };
}

/** Puts a digest in the slot of its algorithm; returns a reason when it is not a digest. */
function addDigest(draft: Draft, value: string, expected?: HashAlgorithm): string | undefined {
  try {
    const { hash, algorithm } = parseHash(value);
    if (expected && algorithm !== expected) return `${hash} is a ${algorithm} digest, not ${expected}`;
    draft[algorithm] = hash;
    return undefined;
  } catch (error) {
    return `${value.trim().slice(0, 80)}: ${(error as Error).message}`;
  }
}

function jsonLinesDrafts(text: string): DraftRow[] {
  return text.split(/\r?\n/).flatMap((line, i): DraftRow[] => {
    if (line.trim() === '') return [];
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return [{ line: i + 1, input: line, draft: 'not a JSON object' }];
      }
      return [{ line: i + 1, input: line, draft: value as Draft }];
    } catch (error) {
      return [{ line: i + 1, input: line, draft: `not valid JSON (${(error as Error).message})` }];
    }
  });
}

const CSV_COLUMNS: Readonly<Record<string, string>> = {
  sha256: 'sha256',
  sha1: 'sha1',
  md5: 'md5',
  file_name: 'fileName',
  filename: 'fileName',
  platform: 'platform',
  version: 'version',
  kind: 'kind',
  stage: 'stage',
  campaign: 'campaign',
  confidence: 'confidence',
  sources: 'sources',
  source: 'sources',
};

function csvDrafts(text: string): DraftRow[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const columns = header.fields.map((name) => {
    const key = name.trim().toLowerCase().replace(/\s+/g, '_');
    return Object.hasOwn(CSV_COLUMNS, key) ? (CSV_COLUMNS[key] ?? null) : null;
  });
  if (!columns.some((c) => c === 'sha256' || c === 'sha1' || c === 'md5')) {
    throw new InvalidRequestError('The CSV header names no sha256, sha1 or md5 column.');
  }
  return rows.map(({ line, fields, unterminated }): DraftRow => {
    const draft: Draft = {};
    const input = fields.join(',');
    if (unterminated) return { line, input, draft: 'a quoted field opened in this row is never closed' };
    for (const [i, column] of columns.entries()) {
      const value = fields[i]?.trim() ?? '';
      if (!column || value === '') continue;
      if (column === 'sha256' || column === 'sha1' || column === 'md5') {
        const problem = addDigest(draft, value, column);
        if (problem) return { line, input, draft: problem };
      } else if (column === 'sources') draft['sources'] = value.split(';').map((s) => s.trim()).filter(Boolean);
      else draft[column] = value;
    }
    return { line, input, draft };
  });
}

/** A plain list carries no provenance: the import must give it. */
function requireProvenance(defaults: ImportDefaults): void {
  if (!defaults.campaign || !defaults.source) {
    throw new InvalidRequestError(
      'A plain hash list carries no provenance: give the campaign and source parameters (e.g. ?campaign=…&source=…).',
    );
  }
}

function plainDrafts(text: string): DraftRow[] {
  return readChecksumLines(text).map(({ line, input, digests, name, escaped }): DraftRow => {
    const draft: Draft = {};
    let problem: string | undefined;
    for (const { value, algorithm } of digests) problem ??= addDigest(draft, value, algorithm);
    const fileName = name === undefined ? '' : baseName(name, escaped === true);
    if (fileName !== '') draft['fileName'] = fileName;
    return { line, input, draft: problem ?? draft };
  });
}

/**
 * The file name at the end of a path. A backslash separates folders in a Windows path; in a line that
 * `sha256sum` escaped (a Unix path) it is part of the name.
 */
function baseName(path: string, escaped: boolean): string {
  return path.slice(Math.max(path.lastIndexOf('/'), escaped ? -1 : path.lastIndexOf('\\')) + 1);
}

type StixObject = Record<string, unknown> & { type?: string; id?: string };

function confidenceWord(value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  return value >= 70 ? 'high' : value >= 30 ? 'medium' : 'low';
}

function stixSources(object: StixObject, byId: Map<string, StixObject>, bundleId: string): string[] {
  const references = Array.isArray(object['external_references'])
    ? (object['external_references'] as unknown[]).filter(
        (r): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r),
      )
    : [];
  const sources = references.flatMap((r) => [r['url'] ?? r['source_name']].filter((s): s is string => typeof s === 'string'));
  const author = byId.get(scalarText(object['created_by_ref']) ?? '')?.['name'];
  if (typeof author === 'string') sources.push(author);
  return sources.length > 0 ? sources : [`STIX bundle ${bundleId}`];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One file a STIX pattern describes: its digests and name, compared for equality in one observation. */
interface PatternFile {
  readonly hashes: { algorithm: HashAlgorithm; value: string }[];
  name?: string;
}

/** A token of a STIX pattern: a word (an object path, a keyword), a string literal, an operator or punctuation. */
type PatternToken =
  | { kind: 'word'; text: string; key?: string }
  | { kind: 'string'; value: string }
  | { kind: 'operator'; text: string }
  | { kind: 'punctuation'; text: string };

/** Punctuation tokens are shared: a pattern of four million brackets allocates nothing for them. */
const PATTERN_PUNCTUATION: ReadonlyMap<string, PatternToken> = new Map(
  ['[', ']', '(', ')', ','].map((text) => [text, Object.freeze({ kind: 'punctuation' as const, text })]),
);
const PATTERN_OPERATOR = new Set(['=', '!', '<', '>']);

/**
 * Reads the string literal that opens at `at` (a quote): `\'` and `\\` are escapes.
 * @returns its value and the index after its closing quote, or undefined when it is never closed.
 */
function readPatternString(pattern: string, at: number): { value: string; next: number } | undefined {
  let value = '';
  let from = at + 1;
  for (let i = from; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && (pattern[i + 1] === "'" || pattern[i + 1] === '\\')) {
      value += pattern.slice(from, i);
      from = ++i;
    } else if (c === "'") return { value: value + pattern.slice(from, i), next: i + 1 };
  }
  return undefined;
}

/**
 * Splits a STIX pattern into tokens in one pass, handing each to `take` as it is read.
 * @returns why the pattern cannot be read, or undefined.
 */
function tokenizePattern(pattern: string, take: (token: PatternToken) => void): string | undefined {
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (isSpace(pattern.charCodeAt(i))) i++;
    else if (c === "'") {
      const literal = readPatternString(pattern, i);
      if (!literal) return `the pattern's string literal at character ${i + 1} is never closed`;
      take({ kind: 'string', value: literal.value });
      i = literal.next;
    } else if (PATTERN_PUNCTUATION.has(c)) {
      take(PATTERN_PUNCTUATION.get(c)!);
      i++;
    } else if (PATTERN_OPERATOR.has(c)) {
      let stop = i + 1;
      while (stop < pattern.length && PATTERN_OPERATOR.has(pattern[stop]!)) stop++;
      take({ kind: 'operator', text: pattern.slice(i, stop) });
      i = stop;
    } else {
      let stop = i + 1;
      while (stop < pattern.length) {
        const d = pattern[stop]!;
        if (isSpace(pattern.charCodeAt(stop)) || d === "'" || PATTERN_PUNCTUATION.has(d) || PATTERN_OPERATOR.has(d)) break;
        stop++;
      }
      const text = pattern.slice(i, stop);
      i = stop;
      // An object path whose last step is quoted: `file:hashes.'SHA-256'`.
      if (text.endsWith('.') && pattern[i] === "'") {
        const literal = readPatternString(pattern, i);
        if (!literal) return `the pattern's string literal at character ${i + 1} is never closed`;
        take({ kind: 'word', text, key: literal.value });
        i = literal.next;
      } else take({ kind: 'word', text });
    }
  }
  return undefined;
}

/**
 * The files a STIX pattern describes. Comparisons joined by AND in one observation (`[…]`) describe one
 * file; OR separates files. Only `file:hashes.<algorithm> = '…'` and `file:name = '…'` count; a negated
 * comparison (`NOT`) describes no file. Linear in the pattern: one tokenizing pass, one pass over the tokens.
 * @returns the files, or why the pattern cannot be read.
 */
function readStixPattern(pattern: string): PatternFile[] | string {
  const files: PatternFile[] = [];
  let depth = 0;
  let file: PatternFile = { hashes: [] };
  const endFile = () => {
    if (file.hashes.length > 0 || file.name !== undefined) files.push(file);
    file = { hashes: [] };
  };
  // The three tokens before the current one: a comparison is `path = 'value'`, negated after `NOT`.
  let before: PatternToken | undefined;
  let path: PatternToken | undefined;
  let operator: PatternToken | undefined;
  const take = (token: PatternToken) => {
    if (token.kind === 'punctuation' && token.text === '[') {
      if (depth++ === 0) file = { hashes: [] };
    } else if (token.kind === 'punctuation' && token.text === ']') {
      if (depth > 0 && --depth === 0) endFile();
    } else if (depth > 0 && token.kind === 'word' && token.text.toUpperCase() === 'OR') endFile();
    else if (depth > 0 && token.kind === 'string' && path?.kind === 'word' && operator?.kind === 'operator' && operator.text === '=') {
      const negated = before?.kind === 'word' && before.text.toUpperCase() === 'NOT';
      const name = path.text.toLowerCase();
      if (negated) {
        // `NOT file:hashes.MD5 = '…'` says which digest the file does not have.
      } else if (name === 'file:name') file.name = token.value;
      else if (name.startsWith('file:hashes.')) {
        const algorithm = algorithmNamed(path.key !== undefined && name === 'file:hashes.' ? path.key : path.text.slice('file:hashes.'.length));
        if (algorithm) file.hashes.push({ algorithm, value: token.value });
      }
    }
    before = path;
    path = operator;
    operator = token;
  };
  const problem = tokenizePattern(pattern, take);
  if (problem !== undefined) return problem;
  if (depth > 0) return 'an observation of the pattern opens with [ and is never closed';
  return files;
}

/**
 * STIX 2.1: file-hash indicators (`[file:hashes.'SHA-256' = '…' AND file:hashes.MD5 = '…']`) and `file`
 * objects with `hashes`. Comparisons joined by AND in one observation describe one file; OR separates files.
 * The campaign comes from what the indicator `indicates` (campaign, intrusion set, malware), else its name.
 */
function stixDrafts(json: unknown, defaults: ImportDefaults): DraftRow[] {
  if (!isObject(json) || !Array.isArray(json['objects'])) throw new InvalidRequestError('The STIX bundle has no objects array.');
  const bundle = json as { id?: unknown; objects: unknown[] };
  const misplaced = bundle.objects.findIndex((o) => !isObject(o));
  if (misplaced >= 0) throw new InvalidRequestError(`The STIX bundle's object ${misplaced + 1} is not a JSON object.`);
  const objects = bundle.objects as StixObject[];
  const bundleId = scalarText(bundle.id) ?? 'bundle';
  const byId = new Map(objects.filter((o) => typeof o.id === 'string').map((o) => [o.id!, o]));
  const indicates = new Map<string, string>();
  for (const o of objects) {
    if (o.type === 'relationship' && o['relationship_type'] === 'indicates') {
      const target = byId.get(scalarText(o['target_ref']) ?? '');
      const source = scalarText(o['source_ref']);
      if (source !== undefined && typeof target?.['name'] === 'string') indicates.set(source, target['name']);
    }
  }
  const drafts: DraftRow[] = [];
  for (const [index, o] of objects.entries()) {
    const id = scalarText(o.id) ?? scalarText(o.type) ?? `object ${index + 1}`;
    if (o.type === 'indicator') {
      if (o['pattern_type'] !== undefined && o['pattern_type'] !== 'stix') continue;
      const pattern = o['pattern'];
      if (typeof pattern !== 'string' || !pattern.toLowerCase().includes('file:hashes')) continue;
      const base: Draft = {
        campaign: indicates.get(id) ?? (typeof o['name'] === 'string' ? o['name'] : undefined),
        sources: stixSources(o, byId, bundleId),
        confidence: confidenceWord(o['confidence']),
      };
      const files = readStixPattern(pattern);
      if (typeof files === 'string') {
        drafts.push({ line: null, input: id, draft: files });
        continue;
      }
      for (const file of files) {
        const draft: Draft = { ...base };
        if (file.name !== undefined) draft['fileName'] = file.name;
        let problem: string | undefined;
        for (const { algorithm, value } of file.hashes) problem ??= addDigest(draft, value, algorithm);
        if (!draft.md5 && !draft.sha1 && !draft.sha256 && !problem) continue;
        drafts.push({ line: null, input: id, draft: problem ?? draft });
      }
    } else if (o.type === 'file' && isObject(o['hashes'])) {
      const draft: Draft = { sources: stixSources(o, byId, bundleId), campaign: defaults.campaign };
      if (typeof o['name'] === 'string') draft['fileName'] = o['name'];
      let problem: string | undefined;
      for (const [name, value] of Object.entries(o['hashes'])) {
        const algorithm = algorithmNamed(name);
        if (algorithm && typeof value === 'string') problem ??= addDigest(draft, value, algorithm);
      }
      if (draft.md5 || draft.sha1 || draft.sha256 || problem) drafts.push({ line: null, input: id, draft: problem ?? draft });
    }
  }
  return drafts;
}

const MISP_THREAT_LEVEL: Readonly<Record<string, string>> = { '1': 'high', '2': 'medium', '3': 'low' };

function threatLevelWord(value: unknown): string | undefined {
  const level = scalarText(value);
  return level !== undefined && Object.hasOwn(MISP_THREAT_LEVEL, level) ? MISP_THREAT_LEVEL[level] : undefined;
}

/** MISP names hash types in lower case (`md5`, `sha1`, `sha256`); any other type is not a digest. */
function mispAlgorithm(type: string): HashAlgorithm | undefined {
  return Object.hasOwn(ALGORITHM_NAMES, type) ? ALGORITHM_NAMES[type] : undefined;
}

/**
 * MISP event JSON (`{"Event": …}`, a `response` list or an array of them): `md5`/`sha1`/`sha256`
 * attributes, `filename|<hash>` pairs, and `file` objects whose hash attributes describe one file.
 */
function mispDrafts(json: unknown, defaults: ImportDefaults): DraftRow[] {
  if (!isObject(json) && !Array.isArray(json)) throw new InvalidRequestError('The MISP JSON has no Event object.');
  const wrapped = Array.isArray(json) ? json : Array.isArray(json['response']) ? (json['response'] as unknown[]) : [json];
  const events = wrapped.map((w) => (isObject(w) ? w['Event'] : undefined));
  if (events.length === 0 || !events.every(isObject)) throw new InvalidRequestError('The MISP JSON has no Event object.');
  const drafts: DraftRow[] = [];
  for (const event of events as Record<string, unknown>[]) {
    const orgName = isObject(event['Orgc']) ? event['Orgc']['name'] : undefined;
    const base: Draft = {
      campaign: typeof event['info'] === 'string' ? event['info'] : undefined,
      sources: [`MISP event ${scalarText(event['uuid']) ?? scalarText(event['id']) ?? ''}${typeof orgName === 'string' ? ` (${orgName})` : ''}`.trim()],
      confidence: threatLevelWord(event['threat_level_id']) ?? defaults.confidence,
    };
    const attributes = (list: unknown): Record<string, unknown>[] => {
      if (!Array.isArray(list)) return [];
      if (!list.every(isObject)) throw new InvalidRequestError('A MISP attribute or object is not a JSON object.');
      return list;
    };
    for (const a of attributes(event['Attribute'])) {
      const type = scalarText(a['type']) ?? '';
      const value = scalarText(a['value']) ?? '';
      const input = scalarText(a['uuid']) ?? `${type}:${value}`;
      const [left, right] = type.split('|');
      const pair = left === 'filename' && right !== undefined ? mispAlgorithm(right) : undefined;
      const single = mispAlgorithm(type);
      const draft: Draft = { ...base };
      if (pair) {
        const bar = value.indexOf('|');
        draft['fileName'] = bar < 0 ? value : value.slice(0, bar);
        drafts.push({ line: null, input, draft: addDigest(draft, bar < 0 ? '' : value.slice(bar + 1), pair) ?? draft });
      } else if (single) {
        drafts.push({ line: null, input, draft: addDigest(draft, value, single) ?? draft });
      }
    }
    for (const object of attributes(event['Object'])) {
      if (object['name'] !== 'file') continue;
      const draft: Draft = { ...base };
      let problem: string | undefined;
      for (const a of attributes(object['Attribute'])) {
        const type = scalarText(a['type']) ?? '';
        const value = scalarText(a['value']) ?? '';
        const algorithm = mispAlgorithm(type);
        if (type === 'filename') draft['fileName'] = value;
        else if (algorithm) problem ??= addDigest(draft, value, algorithm);
      }
      if (draft.md5 || draft.sha1 || draft.sha256 || problem) {
        drafts.push({ line: null, input: scalarText(object['uuid']) ?? 'file object', draft: problem ?? draft });
      }
    }
  }
  return drafts;
}
