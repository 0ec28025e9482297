import type { HashHex } from './hashes.js';
import type { HashStore } from './lookup.js';
import { recordDigests, toRecordView, type KnownRecord } from './records.js';

/** A store that can also write records (imports, the seed list, admin changes). */
export interface RecordStore extends HashStore {
  /** Like `getMany`, but revoked records are returned too, with their `revoked` field. */
  getStored(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>>;
  /** Writes each record once per digest; must be complete or throw. */
  putRecords(records: readonly KnownRecord[]): Promise<void>;
  /**
   * Imports in one pass, where the store can: what each record's digests hold is read once, and the same
   * reads plan the writes. For each record in turn, `decide` is given what its digests hold
   * (`recordDigests` order, revoked records included, undefined where nothing) as the list was before the
   * call, and answers what to write for it, if anything; everything it answered is written as
   * `putRecords` writes it, a record without `addedAt` with `addedAt` (the time of the import), before
   * this settles. Without it, imports read with `getStored` and write with `putRecords`.
   */
  importInOnePass?(
    records: readonly KnownRecord[],
    decide: (record: KnownRecord, stored: readonly (KnownRecord | undefined)[]) => KnownRecord | undefined,
    addedAt: string,
  ): Promise<void>;
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
  const report: ImportReport = { total: records.length, added: 0, updated: 0, unchanged: 0, revoked: 0 };
  const addedAt = deps.now().toISOString();
  const decide = (incoming: KnownRecord, stored: readonly (KnownRecord | undefined)[]) =>
    decideImport(report, incoming, stored, addedAt, options);
  if (deps.store.importInOnePass) {
    await deps.store.importInOnePass(records, decide, addedAt);
    return report;
  }
  // Each record's digests are worked out once; a list of a million records is read and compared in one pass.
  const digestsOf = records.map((r) => recordDigests(r).map((d) => d.hash));
  const asked = new Set<HashHex>();
  for (const digests of digestsOf) for (const digest of digests) asked.add(digest);
  const existing = await deps.store.getStored([...asked]);
  const writes: KnownRecord[] = [];
  for (const [index, incoming] of records.entries()) {
    const stored = existing.size === 0 ? [] : digestsOf[index]!.map((hash) => existing.get(hash));
    const write = decide(incoming, stored);
    if (write) writes.push(write.addedAt === undefined ? { ...write, addedAt } : write);
  }
  if (writes.length > 0) await deps.store.putRecords(writes);
  return report;
}

/**
 * What importing `incoming` does, given what its digests hold (`stored`, in `recordDigests` order; empty
 * or undefined entries where nothing): counted in `report`, and the record to write, if any. A new record
 * is answered as it came, to be written with the time of the import when it has no `addedAt` of its own.
 */
function decideImport(
  report: ImportReport,
  incoming: KnownRecord,
  stored: readonly (KnownRecord | undefined)[],
  addedAt: string,
  options: ImportOptions,
): KnownRecord | undefined {
  const record = withoutRevocation(incoming);
  const first = stored.find((r) => r !== undefined);
  if (!first) {
    report.added += 1;
    return record;
  }
  if (stored.some((r) => r?.revoked) && !options.reinstate) {
    report.revoked += 1;
    return undefined;
  }
  if (stored.every((r) => r !== undefined && !r.revoked && sameRecord(r, record))) {
    report.unchanged += 1;
    return undefined;
  }
  report.updated += 1;
  return { ...record, addedAt: first.addedAt ?? record.addedAt ?? addedAt };
}
