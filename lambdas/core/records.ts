import type { HashAlgorithm, HashHex } from './hashes.js';

/** What kind of file a known-bad record describes. */
export const RECORD_KINDS = [
  'installer',
  'library',
  'executable',
  'payload',
  'stealer',
  'test-file',
  'other',
] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/**
 * A known-bad file: every digest known for it (any may be missing, at least one is present) and where
 * the knowledge comes from.
 */
export interface KnownRecord {
  readonly sha256?: HashHex;
  readonly sha1?: HashHex;
  readonly md5?: HashHex;
  /** The file's size in bytes, where known; ClamAV databases match on it when it is given. */
  readonly size?: number;
  readonly fileName: string;
  readonly platform: string;
  readonly version: string;
  readonly kind: RecordKind;
  readonly stage: string;
  readonly campaign: string;
  readonly confidence: string;
  readonly sources: readonly string[];
  /** ISO 8601 time the record entered the list. */
  readonly addedAt?: string;
  /** Set when the record was taken off the list: it is kept for the record, and no longer matches. */
  readonly revoked?: Revocation;
}

/** Who took a record off the list, when, and why. */
export interface Revocation {
  readonly at: string;
  readonly by: string;
  readonly reason: string;
}

/** The digests of a record, strongest first, each with its algorithm. */
export function recordDigests(record: KnownRecord): { hash: HashHex; algorithm: HashAlgorithm }[] {
  const digests: { hash: HashHex; algorithm: HashAlgorithm }[] = [];
  if (record.sha256) digests.push({ hash: record.sha256, algorithm: 'sha256' });
  if (record.sha1) digests.push({ hash: record.sha1, algorithm: 'sha1' });
  if (record.md5) digests.push({ hash: record.md5, algorithm: 'md5' });
  return digests;
}

/** The public view of a record in API answers (`match`). */
export interface RecordView {
  sha256?: string;
  sha1?: string;
  md5?: string;
  size?: number;
  fileName: string;
  platform: string;
  version: string;
  kind: RecordKind;
  stage: string;
  campaign: string;
  confidence: string;
  sources: string[];
  addedAt?: string;
}

/** Turns a stored record into the JSON shape the API promises, with its fields in a stable order. */
export function toRecordView(record: KnownRecord): RecordView {
  const view: RecordView = {
    ...(record.sha256 && { sha256: record.sha256 }),
    ...(record.sha1 && { sha1: record.sha1 }),
    ...(record.md5 && { md5: record.md5 }),
    ...(record.size === undefined ? {} : { size: record.size }),
    fileName: record.fileName,
    platform: record.platform,
    version: record.version,
    kind: record.kind,
    stage: record.stage,
    campaign: record.campaign,
    confidence: record.confidence,
    sources: [...record.sources],
  };
  if (record.addedAt) view.addedAt = record.addedAt;
  return view;
}
