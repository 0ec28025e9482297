import { createHash } from 'node:crypto';
import { recordDigests, toRecordView, type KnownRecord } from './records.js';
import { AppError } from './errors.js';
import { signatureName } from './signatures.js';
import type { IocDocument } from './schemas.js';

/** The whole list as an export reads it. */
export interface ListedRecords {
  /** Every record on the list once (not once per digest); revoked records are left out. */
  readonly records: readonly KnownRecord[];
  /** ISO 8601 time of the latest change to the list, or `undefined` for a list never written. */
  readonly updatedAt: string | undefined;
}

/**
 * The port through which exports read the whole list. Implementations return every record or throw
 * `UpstreamUnavailableError`: a partial list must never be served, since a gateway would take every
 * digest left out as not known-bad until its next poll.
 */
export interface RecordLister {
  listRecords(): Promise<ListedRecords>;
}

/** The formats `GET /v1/exports/{format}` serves, named as the file a gateway saves. */
export const EXPORT_FORMATS = ['sha256.txt', 'sha1.txt', 'md5.txt', 'clamav.hsb', 'clamav.hdb', 'iocs.csv', 'iocs.json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

/**
 * ClamAV rejects a hash signature with an unknown size (`*`) unless the line also says which engine level
 * understands it: 73 is the first that does.
 */
export const CLAMAV_UNKNOWN_SIZE_LEVEL = 73;

/** The only content the signature of an empty ClamAV export matches. */
export const EMPTY_LIST_PLACEHOLDER = 'hashcheck: the known-bad list has no entries of this kind\n';

/** One rendered export, with what conditional requests are answered from. */
export interface RenderedExport {
  readonly format: ExportFormat;
  readonly body: string;
  readonly contentType: string;
  /** The file name to save it as; ClamAV loads a database only under its proper extension. */
  readonly fileName: string;
  /** A weak validator of the body: every instance renders the same bytes for the same list. */
  readonly etag: string;
  /** The latest change to the list, to the second (HTTP dates have no finer unit). */
  readonly lastModified: Date;
  /** Lines or entries in the export (digests, signatures or records). */
  readonly entries: number;
}

type Digest = 'sha256' | 'sha1' | 'md5';

const DIGEST_NAMES: Readonly<Record<Digest, string>> = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5' };

function byPrimaryDigest(a: KnownRecord, b: KnownRecord): number {
  const ka = recordDigests(a)[0]!.hash;
  const kb = recordDigests(b)[0]!.hash;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * An rspamd map: `#` comment lines saying what the list is and when it last changed, then one lower-case
 * digest per line. The date is the list's, not the request's, so an unchanged list renders the same
 * bytes and keeps its ETag.
 */
function renderDigestMap(list: ListedRecords, digest: Digest): { body: string; entries: number } {
  const digests = [...new Set(list.records.flatMap((r) => (r[digest] ? [r[digest]] : [])))].sort();
  const header = digestMapHeader(digest, digests.length, list.records.length, list.updatedAt);
  return { body: [...header, ...digests].map((line) => `${line}\n`).join(''), entries: digests.length };
}

function digestMapHeader(digest: Digest, digests: number, records: number, updatedAt: string | undefined): string[] {
  return [
    `# hashcheck known-bad list: ${DIGEST_NAMES[digest]} digests of known-bad files, one per line (rspamd map format)`,
    `# ${digests} digests from ${records} records; list updated ${updatedAt ?? 'never'}`,
    '# Absence from this list proves nothing: a digest not listed is unknown, not clean.',
  ];
}

/**
 * A ClamAV hash database: `HashString:FileSize:MalwareName`, or `HashString:*:MalwareName:73` when the
 * size is unknown. ClamAV allows no comments and no blank lines, so the file holds nothing else.
 * `.hsb` takes SHA-256 and, for records without one, SHA-1 (ClamAV tells them apart by length);
 * `.hdb` takes MD5.
 */
function renderClamAv(list: ListedRecords, database: 'hsb' | 'hdb'): { body: string; entries: number } {
  const lines = list.records.flatMap((record) => clamAvLine(record, database) ?? []);
  lines.sort();
  const entries = lines.length;
  if (entries === 0) lines.push(emptyClamAvLine(database));
  return { body: lines.map((line) => `${line}\n`).join(''), entries };
}

/** A record's signature line in a ClamAV hash database, or `undefined` when it has no digest of its kind. */
function clamAvLine(record: KnownRecord, database: 'hsb' | 'hdb'): string | undefined {
  const hash = database === 'hdb' ? record.md5 : (record.sha256 ?? record.sha1);
  if (!hash) return undefined;
  const name = signatureName(record);
  return record.size === undefined ? `${hash}:*:${name}:${CLAMAV_UNKNOWN_SIZE_LEVEL}` : `${hash}:${record.size}:${name}`;
}

/**
 * ClamAV refuses to load an empty database ("Malformed database"), and clamd would then keep failing its
 * reloads; a list with nothing of this kind is served as one signature that only matches this text.
 */
function emptyClamAvLine(database: 'hsb' | 'hdb'): string {
  const hash = createHash(database === 'hdb' ? 'md5' : 'sha256').update(EMPTY_LIST_PLACEHOLDER).digest('hex');
  return `${hash}:${Buffer.byteLength(EMPTY_LIST_PLACEHOLDER)}:Multios.Test.Hashcheck_empty_list-0-1`;
}

const CSV_COLUMNS = [
  'sha256',
  'sha1',
  'md5',
  'size',
  'file_name',
  'platform',
  'version',
  'kind',
  'stage',
  'campaign',
  'confidence',
  'added_at',
  'sources',
  'clamav_name',
] as const;

/**
 * One CSV cell, always quoted (RFC 4180). A cell a spreadsheet would run as a formula gets a leading
 * apostrophe: record fields come from imported feeds, and an IOC export is opened in spreadsheets.
 */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

function renderCsv(list: ListedRecords): { body: string; entries: number } {
  const rows = list.records.map(csvRow);
  return { body: [CSV_COLUMNS.join(','), ...rows].map((line) => `${line}\r\n`).join(''), entries: rows.length };
}

function csvRow(r: KnownRecord): string {
  return [
    r.sha256 ?? '',
    r.sha1 ?? '',
    r.md5 ?? '',
    r.size === undefined ? '' : String(r.size),
    r.fileName,
    r.platform,
    r.version,
    r.kind,
    r.stage,
    r.campaign,
    r.confidence,
    r.addedAt ?? '',
    r.sources.join(' | '),
    signatureName(r),
  ]
    .map(csvCell)
    .join(',');
}

/** The JSON export: the records as lookups show them, plus their ClamAV names. */
export type { IocDocument };

function renderJson(list: ListedRecords): { body: string; entries: number } {
  const document: IocDocument = {
    name: 'hashcheck known-bad list',
    updatedAt: list.updatedAt ?? null,
    count: list.records.length,
    records: list.records.map(jsonRecord),
  };
  return { body: `${JSON.stringify(document)}\n`, entries: list.records.length };
}

function jsonRecord(r: KnownRecord): IocDocument['records'][number] {
  return { ...toRecordView(r), clamavName: signatureName(r) };
}

const RENDERERS: Readonly<
  Record<ExportFormat, { contentType: string; fileName: string; render: (list: ListedRecords) => { body: string; entries: number } }>
> = {
  'sha256.txt': { contentType: 'text/plain; charset=utf-8', fileName: 'hashcheck-sha256.txt', render: (l) => renderDigestMap(l, 'sha256') },
  'sha1.txt': { contentType: 'text/plain; charset=utf-8', fileName: 'hashcheck-sha1.txt', render: (l) => renderDigestMap(l, 'sha1') },
  'md5.txt': { contentType: 'text/plain; charset=utf-8', fileName: 'hashcheck-md5.txt', render: (l) => renderDigestMap(l, 'md5') },
  'clamav.hsb': { contentType: 'text/plain; charset=us-ascii', fileName: 'hashcheck.hsb', render: (l) => renderClamAv(l, 'hsb') },
  'clamav.hdb': { contentType: 'text/plain; charset=us-ascii', fileName: 'hashcheck.hdb', render: (l) => renderClamAv(l, 'hdb') },
  'iocs.csv': { contentType: 'text/csv; charset=utf-8; header=present', fileName: 'hashcheck-iocs.csv', render: renderCsv },
  'iocs.json': { contentType: 'application/json; charset=utf-8', fileName: 'hashcheck-iocs.json', render: renderJson },
};

/**
 * Renders one export of a list. Records come out sorted by their strongest digest and every date in the
 * body is the list's own, so the same list always renders the same bytes, whichever instance renders it:
 * the ETag is a digest of those bytes.
 */
export function renderExport(format: ExportFormat, list: ListedRecords): RenderedExport {
  const sorted: ListedRecords = { records: [...list.records].sort(byPrimaryDigest), updatedAt: list.updatedAt };
  const { contentType, fileName, render } = RENDERERS[format];
  const { body, entries } = render(sorted);
  const updated = list.updatedAt === undefined ? 0 : Date.parse(list.updatedAt);
  return {
    format,
    body,
    contentType,
    fileName,
    etag: `W/"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
    lastModified: new Date(Math.floor((Number.isNaN(updated) ? 0 : updated) / 1000) * 1000),
    entries,
  };
}

/** Reads the whole list and renders one export of it. Store failures propagate: no partial list is served. */
export async function exportList(format: ExportFormat, deps: { lister: RecordLister }): Promise<RenderedExport> {
  return renderExport(format, await deps.lister.listRecords());
}

// ------------------------------------------------------------------------------------- streamed exports

/**
 * The list as a streamed export reads it: the records are read lazily, once per pass (a format that
 * states counts before its entries reads them twice), so a list of millions is never held at once.
 */
export interface RecordSource {
  /** Every record on the list once, in the order of its strongest digest; revoked records are skipped. */
  records(): AsyncIterable<KnownRecord>;
  /** ISO 8601 time the list last changed, written into the formats that state it; `undefined`: never. */
  readonly updatedAt: string | undefined;
}

/** Lines sorted by UTF-16 code unit (as `Array.prototype.sort` does), with how many there are. */
export interface SortedLines {
  readonly count: number;
  lines(): AsyncIterable<string>;
}

/**
 * Sorts lines that hold no line break, dropping repeats when `unique` is set. The default holds them in
 * memory; a sorter on disk (`lambdas/adapters/export-sort.ts`) keeps a list of millions out of memory.
 */
export type LineSorter = (lines: AsyncIterable<string>, options: { readonly unique: boolean }) => Promise<SortedLines>;

export const sortLinesInMemory: LineSorter = async (lines, { unique }) => {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  all.sort();
  const sorted = unique ? all.filter((line, i) => i === 0 || line !== all[i - 1]) : all;
  return {
    count: sorted.length,
    lines: async function* () {
      yield* sorted;
    },
  };
};

/** The content type and file name an export is served with. */
export function exportMediaType(format: ExportFormat): { contentType: string; fileName: string } {
  const { contentType, fileName } = RENDERERS[format];
  return { contentType, fileName };
}

/**
 * The entity tag of an export: derived from the list's version, not from its bytes, so a conditional
 * request is answered without reading the list. `listId` names the list instance (a data folder, a
 * deployment), so a version number counted again from zero elsewhere never matches an old copy.
 */
export function exportEtag(listId: string, version: number, format: ExportFormat): string {
  return `W/"${listId}-v${version}-${format}"`;
}

/** The Last-Modified of an export: the list's last change, to the second; the epoch for a list never written. */
export function exportLastModified(updatedAt: string | undefined): Date {
  const updated = updatedAt === undefined ? 0 : Date.parse(updatedAt);
  return new Date(Math.floor((Number.isNaN(updated) ? 0 : updated) / 1000) * 1000);
}

/** Text is handed on in pieces of about this many characters, not one per line. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Renders one export as a stream of text, the same bytes `renderExport` gives for the same list. Records
 * must come in the order of their strongest digest (a source out of order is an error, not a wrong
 * file); digests of other kinds are put in order by `deps.sortLines`.
 */
export async function* streamExport(format: ExportFormat, source: RecordSource, deps: { sortLines?: LineSorter } = {}): AsyncGenerator<string> {
  const sortLines = deps.sortLines ?? sortLinesInMemory;
  let pending: string[] = [];
  let size = 0;
  for await (const piece of streamLines(format, { records: () => listed(source), updatedAt: source.updatedAt }, sortLines)) {
    pending.push(piece);
    size += piece.length;
    if (size >= CHUNK_CHARS) {
      yield pending.join('');
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield pending.join('');
}

/** The records of a source that are on the list, checked to come in the order of their strongest digest. */
async function* listed(source: RecordSource): AsyncGenerator<KnownRecord> {
  let previous: string | undefined;
  for await (const record of source.records()) {
    if (record.revoked) continue;
    const key = recordDigests(record)[0]!.hash;
    if (previous !== undefined && key < previous) {
      throw new Error(`The records of the list came out of order (${key} after ${previous}); the export was not written.`);
    }
    previous = key;
    yield record;
  }
}

async function* streamLines(format: ExportFormat, source: RecordSource, sortLines: LineSorter): AsyncGenerator<string> {
  switch (format) {
    case 'sha256.txt':
      return yield* streamPrimaryDigestMap(source);
    case 'sha1.txt':
    case 'md5.txt':
      return yield* streamSortedDigestMap(source, format === 'sha1.txt' ? 'sha1' : 'md5', sortLines);
    case 'clamav.hsb':
    case 'clamav.hdb':
      return yield* streamClamAv(source, format === 'clamav.hdb' ? 'hdb' : 'hsb', sortLines);
    case 'iocs.csv':
      yield `${CSV_COLUMNS.join(',')}\r\n`;
      for await (const record of source.records()) yield `${csvRow(record)}\r\n`;
      return;
    case 'iocs.json':
      return yield* streamJson(source);
  }
}

/** SHA-256 is the strongest digest: records with one come in its order, so its map needs no sorting. */
async function* streamPrimaryDigestMap(source: RecordSource): AsyncGenerator<string> {
  let records = 0;
  let digests = 0;
  let last: string | undefined;
  for await (const record of source.records()) {
    records++;
    if (record.sha256 && record.sha256 !== last) digests++;
    if (record.sha256) last = record.sha256;
  }
  for (const line of digestMapHeader('sha256', digests, records, source.updatedAt)) yield `${line}\n`;
  last = undefined;
  for await (const record of source.records()) {
    if (!record.sha256 || record.sha256 === last) continue;
    last = record.sha256;
    yield `${record.sha256}\n`;
  }
}

async function* streamSortedDigestMap(source: RecordSource, digest: 'sha1' | 'md5', sortLines: LineSorter): AsyncGenerator<string> {
  let records = 0;
  const sorted = await sortLines(
    (async function* () {
      for await (const record of source.records()) {
        records++;
        const value = record[digest];
        if (value) yield value;
      }
    })(),
    { unique: true },
  );
  for (const line of digestMapHeader(digest, sorted.count, records, source.updatedAt)) yield `${line}\n`;
  for await (const line of sorted.lines()) yield `${line}\n`;
}

async function* streamClamAv(source: RecordSource, database: 'hsb' | 'hdb', sortLines: LineSorter): AsyncGenerator<string> {
  const sorted = await sortLines(
    (async function* () {
      for await (const record of source.records()) {
        const line = clamAvLine(record, database);
        if (line !== undefined) yield line;
      }
    })(),
    { unique: false },
  );
  if (sorted.count === 0) yield `${emptyClamAvLine(database)}\n`;
  for await (const line of sorted.lines()) yield `${line}\n`;
}

async function* streamJson(source: RecordSource): AsyncGenerator<string> {
  let count = 0;
  for await (const _record of source.records()) count++;
  // The document's opening as JSON.stringify writes it, up to the records array it leaves open.
  const opening = JSON.stringify({ name: 'hashcheck known-bad list', updatedAt: source.updatedAt ?? null, count, records: [] } satisfies IocDocument);
  yield opening.slice(0, -2);
  let first = true;
  for await (const record of source.records()) {
    yield `${first ? '' : ','}${JSON.stringify(jsonRecord(record))}`;
    first = false;
  }
  yield ']}\n';
}

// ---------------------------------------------------------------------------- exports stored per version

/** One stored export of the manifest. */
export interface StoredExport {
  /** Where the export is, relative to the exports' place (`<version>/<format>`). */
  readonly key: string;
  readonly etag: string;
  /** ISO 8601, to the second: the Last-Modified of the export. */
  readonly lastModified: string;
  /** Bytes of the export. */
  readonly size: number;
}

/**
 * What the export route answers from without reading the list: the version last exported, each format
 * written of it, and the last failure to export a newer one (`lastError`), while the last good exports
 * stay served.
 */
export interface ExportManifest {
  /** Names this list, so a version counted again from one elsewhere never matches an old copy's ETag. */
  readonly listId: string;
  /** The export version: one more for every complete rebuild. */
  readonly version: number;
  /** The list's last change as the exports state it (ISO 8601), `null` for a list never written. */
  readonly updatedAt: string | null;
  /** When the exports of this version were complete (ISO 8601). */
  readonly builtAt: string;
  readonly formats: Readonly<Partial<Record<ExportFormat, StoredExport>>>;
  /** The latest rebuild that failed, when it failed after the exports above were written. */
  readonly lastError?: { readonly at: string; readonly message: string };
}

/** The place exports and their manifest are kept (an S3 prefix deployed). */
export interface ExportObjects {
  readManifest(): Promise<ExportManifest | undefined>;
  writeManifest(manifest: ExportManifest): Promise<void>;
  /** Stores one export under `key`, complete or not at all, and returns its size in bytes. */
  putExport(key: string, chunks: AsyncIterable<string>, contentType: string): Promise<{ size: number }>;
  /** Removes exports of versions no longer served; a key already gone is no error. */
  deleteExports(keys: readonly string[]): Promise<void>;
}

/** The whole list read for one rebuild: records in primary-digest order, readable more than once. */
export interface ReadList {
  readonly records: () => AsyncIterable<KnownRecord>;
  /** The latest write to the list as its items tell it, `undefined` for a list never written. */
  readonly updatedAt: string | undefined;
}

export interface RebuildDeps {
  readonly objects: ExportObjects;
  /** Reads the whole list; a failure keeps the last good exports. */
  readonly readList: () => Promise<ReadList>;
  readonly sortLines?: LineSorter;
  readonly now: () => Date;
  readonly newListId: () => string;
}

/** What a failed rebuild is reported as, in a header clients see: the cause when it is the service's to tell. */
function staleReason(error: unknown): string {
  if (error instanceof AppError) return error.message;
  return 'the exports could not be written; the export builder has logged the cause';
}

/**
 * Writes every export of the list as a new version, then the manifest naming them, then removes the
 * previous version's objects. A failure at any step leaves the previous manifest and its exports served,
 * with the failure recorded in `lastError`, and is thrown on so the trigger retries.
 * Last-Modified only moves forward: a version is dated by the latest write to the list, or a second
 * after the previous version when that is later (a deletion leaves no date behind).
 */
export async function rebuildExports(deps: RebuildDeps): Promise<ExportManifest> {
  const previous = await deps.objects.readManifest();
  try {
    const list = await deps.readList();
    const version = (previous?.version ?? 0) + 1;
    const listId = previous?.listId ?? deps.newListId();
    const previousDate = previous?.updatedAt ? exportLastModified(previous.updatedAt).getTime() + 1000 : Number.NEGATIVE_INFINITY;
    const listDate = list.updatedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(list.updatedAt);
    const updatedAt = Math.max(previousDate, listDate);
    const dated = Number.isFinite(updatedAt) ? new Date(updatedAt).toISOString() : undefined;
    const lastModified = exportLastModified(dated).toUTCString();
    const formats: Partial<Record<ExportFormat, StoredExport>> = {};
    for (const format of EXPORT_FORMATS) {
      const key = `${version}/${format}`;
      const chunks = streamExport(format, { records: list.records, updatedAt: dated }, { sortLines: deps.sortLines });
      const { size } = await deps.objects.putExport(key, chunks, RENDERERS[format].contentType);
      formats[format] = { key, etag: exportEtag(listId, version, format), lastModified, size };
    }
    const manifest: ExportManifest = { listId, version, updatedAt: dated ?? null, builtAt: deps.now().toISOString(), formats };
    await deps.objects.writeManifest(manifest);
    // The new version is served from here on; objects of the old one left behind by a failed delete cost
    // storage only, and the next rebuild does not look for them.
    const replaced = Object.values(previous?.formats ?? {}).map((stored) => stored.key);
    await deps.objects.deleteExports(replaced.filter((key) => !key.startsWith(`${version}/`))).catch(() => undefined);
    return manifest;
  } catch (error) {
    const failed: ExportManifest = {
      ...(previous ?? { listId: deps.newListId(), version: 0, updatedAt: null, builtAt: deps.now().toISOString(), formats: {} }),
      lastError: { at: deps.now().toISOString(), message: staleReason(error) },
    };
    await deps.objects.writeManifest(failed).catch(() => undefined);
    throw error;
  }
}
