import type { HashHex } from './hashes.js';
import type { HashStore } from './lookup.js';
import { recordDigests, toRecordView, type KnownRecord } from './records.js';

/** A store that can also write records (imports, the seed list, admin changes). */
export interface RecordStore extends HashStore {
  /** Like `getMany`, but revoked records are returned too, with their `revoked` field. */
  getStored(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>>;
  /** Writes each record once per digest; must be complete or throw. */
  putRecords(records: readonly KnownRecord[]): Promise<void>;
}

export interface ImportReport {
  total: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Records left alone because an administrator revoked them; an import never brings them back. */
  revoked: number;
}

function sameRecord(a: KnownRecord, b: KnownRecord): boolean {
  const strip = (r: KnownRecord) => JSON.stringify({ ...toRecordView(r), addedAt: undefined });
  return strip(a) === strip(b);
}

/** The record as imported: a revocation in an import is never taken from it. */
function withoutRevocation(record: KnownRecord): KnownRecord {
  if (record.revoked === undefined) return record;
  const { revoked: _ignored, ...rest } = record;
  return rest;
}

export interface ImportOptions {
  /** Put revoked records back on the list (an administrator's explicit add); imports leave them alone. */
  readonly reinstate?: boolean;
}

/**
 * Imports records idempotently: records already stored as they are are left untouched, changed ones are
 * rewritten keeping their first `addedAt`, new ones get `now`. Importing the same list twice changes
 * nothing, and a record an administrator revoked stays revoked unless `reinstate` is set.
 */
export async function importRecords(
  records: readonly KnownRecord[],
  deps: { store: RecordStore; now: () => Date },
  options: ImportOptions = {},
): Promise<ImportReport> {
  // Each record's digests are worked out once; a list of a million records is read and compared in one pass.
  const digestsOf = records.map((r) => recordDigests(r).map((d) => d.hash));
  const asked = new Set<HashHex>();
  for (const digests of digestsOf) for (const digest of digests) asked.add(digest);
  const existing = await deps.store.getStored([...asked]);
  const report: ImportReport = { total: records.length, added: 0, updated: 0, unchanged: 0, revoked: 0 };
  const writes: KnownRecord[] = [];
  const addedAt = deps.now().toISOString();
  for (const [index, incoming] of records.entries()) {
    const record = withoutRevocation(incoming);
    const stored = existing.size === 0 ? [] : digestsOf[index]!.map((hash) => existing.get(hash));
    const first = stored.find((r) => r !== undefined);
    if (!first) {
      report.added += 1;
      writes.push(record.addedAt === undefined ? { ...record, addedAt } : record);
    } else if (stored.some((r) => r?.revoked) && !options.reinstate) {
      report.revoked += 1;
    } else if (stored.every((r) => r !== undefined && !r.revoked && sameRecord(r, record))) {
      report.unchanged += 1;
    } else {
      report.updated += 1;
      writes.push({ ...record, addedAt: first.addedAt ?? record.addedAt ?? addedAt });
    }
  }
  if (writes.length > 0) await deps.store.putRecords(writes);
  return report;
}
