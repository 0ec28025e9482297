import { createHash } from 'node:crypto';
import { recordDigests, toRecordView, type KnownRecord } from './records.js';
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
  const header = [
    `# hashcheck known-bad list: ${DIGEST_NAMES[digest]} digests of known-bad files, one per line (rspamd map format)`,
    `# ${digests.length} digests from ${list.records.length} records; list updated ${list.updatedAt ?? 'never'}`,
    '# Absence from this list proves nothing: a digest not listed is unknown, not clean.',
  ];
  return { body: [...header, ...digests].map((line) => `${line}\n`).join(''), entries: digests.length };
}

/**
 * A ClamAV hash database: `HashString:FileSize:MalwareName`, or `HashString:*:MalwareName:73` when the
 * size is unknown. ClamAV allows no comments and no blank lines, so the file holds nothing else.
 * `.hsb` takes SHA-256 and, for records without one, SHA-1 (ClamAV tells them apart by length);
 * `.hdb` takes MD5.
 */
function renderClamAv(list: ListedRecords, database: 'hsb' | 'hdb'): { body: string; entries: number } {
  const lines: string[] = [];
  for (const record of list.records) {
    const hash = database === 'hdb' ? record.md5 : (record.sha256 ?? record.sha1);
    if (!hash) continue;
    const name = signatureName(record);
    lines.push(record.size === undefined ? `${hash}:*:${name}:${CLAMAV_UNKNOWN_SIZE_LEVEL}` : `${hash}:${record.size}:${name}`);
  }
  lines.sort();
  const entries = lines.length;
  // ClamAV refuses to load an empty database ("Malformed database"), and clamd would then keep failing its
  // reloads; a list with nothing of this kind is served as one signature that only matches this text.
  if (entries === 0) {
    const hash = createHash(database === 'hdb' ? 'md5' : 'sha256').update(EMPTY_LIST_PLACEHOLDER).digest('hex');
    lines.push(`${hash}:${Buffer.byteLength(EMPTY_LIST_PLACEHOLDER)}:Multios.Test.Hashcheck_empty_list-0-1`);
  }
  return { body: lines.map((line) => `${line}\n`).join(''), entries };
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
  const rows = list.records.map((r) =>
    [
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
      .join(','),
  );
  return { body: [CSV_COLUMNS.join(','), ...rows].map((line) => `${line}\r\n`).join(''), entries: rows.length };
}

/** The JSON export: the records as lookups show them, plus their ClamAV names. */
export type { IocDocument };

function renderJson(list: ListedRecords): { body: string; entries: number } {
  const document: IocDocument = {
    name: 'hashcheck known-bad list',
    updatedAt: list.updatedAt ?? null,
    count: list.records.length,
    records: list.records.map((r) => ({ ...toRecordView(r), clamavName: signatureName(r) })),
  };
  return { body: `${JSON.stringify(document)}\n`, entries: list.records.length };
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
