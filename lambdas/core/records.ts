import type { HashAlgorithm, HashHex } from './hashes.js';
import type { Derivation, KnownRecord, RecordView } from './schemas.js';

export { RECORD_KINDS } from './schemas.js';
export type { Derivation, KnownRecord, RecordKind, RecordView, Revocation } from './schemas.js';

/** Whether a record was derived by a scan (a container found bad through a member) rather than curated. */
export function isDerived(record: KnownRecord): boolean {
  return record.derived !== undefined;
}

/**
 * A derived record's provenance in one line, for flat exports (a CSV column): the member's path in the
 * container, its SHA-256, the scan and when; `''` for a curated record.
 */
export function describeDerivation(record: KnownRecord): string {
  const derived = record.derived;
  if (!derived) return '';
  return `contains ${derived.member.path.join(' > ')} (sha256 ${derived.member.sha256}, ${derived.memberRecord.fileName}); found by scan ${derived.scan} at ${derived.at}`;
}

function copyDerivation(derived: Derivation): Derivation {
  const { member, memberRecord, at, scan } = derived;
  return {
    member: { path: [...member.path], sha256: member.sha256, sha1: member.sha1, md5: member.md5 },
    memberRecord: {
      ...(memberRecord.sha256 && { sha256: memberRecord.sha256 }),
      ...(memberRecord.sha1 && { sha1: memberRecord.sha1 }),
      ...(memberRecord.md5 && { md5: memberRecord.md5 }),
      fileName: memberRecord.fileName,
      campaign: memberRecord.campaign,
      kind: memberRecord.kind,
    },
    at,
    scan,
  };
}

/** The digests of a record, strongest first, each with its algorithm. */
export function recordDigests(record: KnownRecord): { hash: HashHex; algorithm: HashAlgorithm }[] {
  const digests: { hash: HashHex; algorithm: HashAlgorithm }[] = [];
  if (record.sha256) digests.push({ hash: record.sha256, algorithm: 'sha256' });
  if (record.sha1) digests.push({ hash: record.sha1, algorithm: 'sha1' });
  if (record.md5) digests.push({ hash: record.md5, algorithm: 'md5' });
  return digests;
}

/**
 * Turns a stored record into the JSON shape the API promises, with its fields in a stable order. Built by
 * assignment, not spreads: a bulk answer makes half a million of these.
 */
export function toRecordView(record: KnownRecord): RecordView {
  const view = {} as RecordView;
  if (record.sha256) view.sha256 = record.sha256;
  if (record.sha1) view.sha1 = record.sha1;
  if (record.md5) view.md5 = record.md5;
  if (record.size !== undefined) view.size = record.size;
  view.fileName = record.fileName;
  view.platform = record.platform;
  view.version = record.version;
  view.kind = record.kind;
  view.stage = record.stage;
  view.campaign = record.campaign;
  view.confidence = record.confidence;
  view.sources = record.sources.slice();
  if (record.addedAt) view.addedAt = record.addedAt;
  if (record.derived) view.derived = copyDerivation(record.derived);
  return view;
}
