import { InvalidRequestError } from './errors.js';
import { parseHash, splitHashLines, type HashAlgorithm } from './hashes.js';
import type { KnownRecord } from './records.js';
import { knownRecordSchema } from './seed.js';

/** The feed formats an import takes; detected from the content unless the caller names one. */
export const IMPORT_FORMATS = ['jsonl', 'csv', 'plain', 'stix', 'misp'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Provenance for formats that do not carry it (plain lists), or overrides for those that do. */
export interface ImportDefaults {
  readonly campaign?: string;
  readonly source?: string;
  readonly kind?: string;
  readonly platform?: string;
  readonly confidence?: string;
}

/** One input that could not become a record, and why. `line` is null for JSON feeds (STIX, MISP). */
export interface RejectedInput {
  line: number | null;
  input: string;
  reason: string;
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
  const firstLine = trimmed.split(/\r?\n/, 1)[0]!.toLowerCase();
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
  const defaults = options.defaults ?? {};
  const drafts: DraftRow[] =
    format === 'jsonl'
      ? jsonLinesDrafts(text)
      : format === 'csv'
        ? csvDrafts(text)
        : format === 'plain'
          ? plainDrafts(text, defaults)
          : format === 'stix'
            ? stixDrafts(parseJson(text, 'STIX bundle'), defaults)
            : mispDrafts(parseJson(text, 'MISP event'), defaults);


  const records: KnownRecord[] = [];
  const rejected: RejectedInput[] = [];
  const seen = new Map<string, string>();
  for (const { line, input, draft } of drafts) {
    if (typeof draft === 'string') {
      rejected.push({ line, input, reason: draft });
      continue;
    }
    const withDefaults = applyDefaults(draft, defaults);
    const result = knownRecordSchema.safeParse(withDefaults);
    if (!result.success) {
      const reason = result.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ');
      rejected.push({ line, input, reason });
      continue;
    }
    const record = result.data as KnownRecord;
    const digests = [record.sha256, record.sha1, record.md5].filter((d): d is NonNullable<typeof d> => Boolean(d));
    const clash = digests.find((d) => seen.has(d));
    if (clash) {
      rejected.push({ line, input, reason: `digest ${clash} already appears in ${seen.get(clash)}` });
      continue;
    }
    for (const d of digests) seen.set(d, line === null ? input : `line ${line}`);
    records.push(record);
  }
  return { format, records, rejected };
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
    if (expected && algorithm !== expected) return `${value.trim()} is a ${algorithm} digest, not ${expected}`;
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

/** Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      if (fields.some((f) => f !== '')) rows.push({ line: rowLine, fields });
      fields = [];
      field = '';
      line++;
      rowLine = line;
    } else field += c;
  }
  fields.push(field);
  if (fields.some((f) => f !== '')) rows.push({ line: rowLine, fields });
  return rows;
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
  const columns = header.fields.map((name) => CSV_COLUMNS[name.trim().toLowerCase().replace(/\s+/g, '_')] ?? null);
  if (!columns.some((c) => c === 'sha256' || c === 'sha1' || c === 'md5')) {
    throw new InvalidRequestError('The CSV header names no sha256, sha1 or md5 column.');
  }
  return rows.map(({ line, fields }): DraftRow => {
    const draft: Draft = {};
    const input = fields.join(',');
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

function plainDrafts(text: string, defaults: ImportDefaults): DraftRow[] {
  if (!defaults.campaign || !defaults.source) {
    throw new InvalidRequestError(
      'A plain hash list carries no provenance: give the campaign and source parameters (e.g. ?campaign=…&source=…).',
    );
  }
  const lines = text.split(/\r?\n/);
  const drafts: DraftRow[] = [];
  for (const [i, line] of lines.entries()) {
    if (splitHashLines(line).length === 0) continue;
    // `sha256sum` output: the hash, two spaces (or a space and `*`), then the path.
    const match = /^\s*(\S+)(?:\s+\*?(.+?))?\s*$/.exec(line)!;
    const draft: Draft = {};
    const problem = addDigest(draft, match[1]!);
    if (match[2]) draft['fileName'] = match[2].split(/[\\/]/).pop();
    drafts.push({ line: i + 1, input: line, draft: problem ?? draft });
  }
  return drafts;
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
  const author = byId.get(String(object['created_by_ref'] ?? ''))?.['name'];
  if (typeof author === 'string') sources.push(author);
  return sources.length > 0 ? sources : [`STIX bundle ${bundleId}`];
}

/**
 * STIX 2.1: file-hash indicators (`[file:hashes.'SHA-256' = '…' AND file:hashes.MD5 = '…']`) and `file`
 * objects with `hashes`. Comparisons joined by AND in one observation describe one file; OR separates files.
 * The campaign comes from what the indicator `indicates` (campaign, intrusion set, malware), else its name.
 */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stixDrafts(json: unknown, defaults: ImportDefaults): DraftRow[] {
  if (!isObject(json) || !Array.isArray(json['objects'])) throw new InvalidRequestError('The STIX bundle has no objects array.');
  const bundle = json as { id?: string; objects: unknown[] };
  const misplaced = bundle.objects.findIndex((o) => !isObject(o));
  if (misplaced >= 0) throw new InvalidRequestError(`The STIX bundle's object ${misplaced + 1} is not a JSON object.`);
  const objects = bundle.objects as StixObject[];
  const bundleId = String(bundle.id ?? 'bundle');
  const byId = new Map(objects.filter((o) => typeof o.id === 'string').map((o) => [o.id!, o]));
  const indicates = new Map<string, string>();
  for (const o of objects) {
    if (o.type === 'relationship' && o['relationship_type'] === 'indicates') {
      const target = byId.get(String(o['target_ref']));
      if (typeof target?.['name'] === 'string') indicates.set(String(o['source_ref']), target['name']);
    }
  }
  const drafts: DraftRow[] = [];
  for (const o of objects) {
    const id = String(o.id ?? o.type);
    if (o.type === 'indicator') {
      const pattern = String(o['pattern'] ?? '');
      if (o['pattern_type'] !== undefined && o['pattern_type'] !== 'stix') continue;
      if (!/file:hashes/i.test(pattern)) continue;
      const base: Draft = {
        campaign: indicates.get(id) ?? (typeof o['name'] === 'string' ? o['name'] : undefined),
        sources: stixSources(o, byId, bundleId),
        confidence: confidenceWord(o['confidence']),
      };
      for (const observation of pattern.match(/\[[^\]]*\]/g) ?? []) {
        for (const file of observation.slice(1, -1).split(/\s+OR\s+/i)) {
          const draft: Draft = { ...base };
          let problem: string | undefined;
          for (const m of file.matchAll(/file:(hashes\.(?:'([^']+)'|([\w-]+))|name)\s*=\s*'([^']*)'/gi)) {
            if (m[1]!.toLowerCase() === 'name') draft['fileName'] = m[4];
            else {
              const algorithm = ALGORITHM_NAMES[(m[2] ?? m[3] ?? '').toLowerCase()];
              if (!algorithm) continue;
              problem ??= addDigest(draft, m[4]!, algorithm);
            }
          }
          if (!draft.md5 && !draft.sha1 && !draft.sha256 && !problem) continue;
          drafts.push({ line: null, input: id, draft: problem ?? draft });
        }
      }
    } else if (o.type === 'file' && typeof o['hashes'] === 'object' && o['hashes'] !== null) {
      const draft: Draft = { sources: stixSources(o, byId, bundleId), campaign: defaults.campaign };
      if (typeof o['name'] === 'string') draft['fileName'] = o['name'];
      let problem: string | undefined;
      for (const [name, value] of Object.entries(o['hashes'] as Record<string, unknown>)) {
        const algorithm = ALGORITHM_NAMES[name.toLowerCase()];
        if (algorithm && typeof value === 'string') problem ??= addDigest(draft, value, algorithm);
      }
      if (draft.md5 || draft.sha1 || draft.sha256 || problem) drafts.push({ line: null, input: id, draft: problem ?? draft });
    }
  }
  return drafts;
}

const MISP_THREAT_LEVEL: Readonly<Record<string, string>> = { '1': 'high', '2': 'medium', '3': 'low' };

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
      sources: [`MISP event ${String(event['uuid'] ?? event['id'] ?? '')}${typeof orgName === 'string' ? ` (${orgName})` : ''}`.trim()],
      confidence: MISP_THREAT_LEVEL[String(event['threat_level_id'])] ?? defaults.confidence,
    };
    const attributes = (list: unknown): Record<string, unknown>[] => {
      if (!Array.isArray(list)) return [];
      if (!list.every(isObject)) throw new InvalidRequestError('A MISP attribute or object is not a JSON object.');
      return list;
    };
    for (const a of attributes(event['Attribute'])) {
      const type = String(a['type'] ?? '');
      const value = String(a['value'] ?? '');
      const input = String(a['uuid'] ?? `${type}:${value}`);
      const [left, right] = type.split('|');
      const draft: Draft = { ...base };
      if (left === 'filename' && right && ALGORITHM_NAMES[right]) {
        const [fileName, digest] = value.split('|');
        draft['fileName'] = fileName;
        drafts.push({ line: null, input, draft: addDigest(draft, digest ?? '', ALGORITHM_NAMES[right]) ?? draft });
      } else if (ALGORITHM_NAMES[type]) {
        drafts.push({ line: null, input, draft: addDigest(draft, value, ALGORITHM_NAMES[type]) ?? draft });
      }
    }
    for (const object of attributes(event['Object'])) {
      if (object['name'] !== 'file') continue;
      const draft: Draft = { ...base };
      let problem: string | undefined;
      for (const a of attributes(object['Attribute'])) {
        const type = String(a['type'] ?? '');
        const value = String(a['value'] ?? '');
        if (type === 'filename') draft['fileName'] = value;
        else if (ALGORITHM_NAMES[type]) problem ??= addDigest(draft, value, ALGORITHM_NAMES[type]);
      }
      if (draft.md5 || draft.sha1 || draft.sha256 || problem) {
        drafts.push({ line: null, input: String(object['uuid'] ?? 'file object'), draft: problem ?? draft });
      }
    }
  }
  return drafts;
}
