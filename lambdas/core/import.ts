import type { HashStore } from './lookup.js';
import { recordDigests, toRecordView, type KnownRecord } from './records.js';

/** A store that can also write records (imports, the seed list). */
export interface RecordStore extends HashStore {
  /** Writes each record once per digest; must be complete or throw. */
  putRecords(records: readonly KnownRecord[]): Promise<void>;
}

export interface ImportReport {
  total: number;
  added: number;
  updated: number;
  unchanged: number;
}

function sameRecord(a: KnownRecord, b: KnownRecord): boolean {
  const strip = (r: KnownRecord) => JSON.stringify({ ...toRecordView(r), addedAt: undefined });
  return strip(a) === strip(b);
}

/**
 * Imports records idempotently: records already stored as they are are left untouched, changed ones are
 * rewritten keeping their first `addedAt`, new ones get `now`. Importing the same list twice changes nothing.
 */
export async function importRecords(
  records: readonly KnownRecord[],
  deps: { store: RecordStore; now: () => Date },
): Promise<ImportReport> {
  const existing = await deps.store.getMany([...new Set(records.flatMap((r) => recordDigests(r).map((d) => d.hash)))]);
  const report: ImportReport = { total: records.length, added: 0, updated: 0, unchanged: 0 };
  const writes: KnownRecord[] = [];
  const addedAt = deps.now().toISOString();
  for (const record of records) {
    const stored = recordDigests(record).map((d) => existing.get(d.hash));
    const first = stored.find((r) => r !== undefined);
    if (!first) {
      report.added += 1;
      writes.push({ ...record, addedAt: record.addedAt ?? addedAt });
    } else if (stored.every((r) => r !== undefined && sameRecord(r, record))) {
      report.unchanged += 1;
    } else {
      report.updated += 1;
      writes.push({ ...record, addedAt: first.addedAt ?? record.addedAt ?? addedAt });
    }
  }
  if (writes.length > 0) await deps.store.putRecords(writes);
  return report;
}
