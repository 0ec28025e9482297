import { InvalidRequestError, NotFoundError } from './errors.js';
import type { ParsedHash } from './hashes.js';
import { importRecords, type ImportReport, type RecordStore } from './import.js';
import { toRecordView, type KnownRecord } from './records.js';
import type { AdminRecordView, RecordBody } from './schemas.js';

/** Who is making an admin change, as the edge authenticated them. */
export interface Actor {
  readonly id: string;
}

export interface AdminDeps {
  store: RecordStore;
  now: () => Date;
}

export type { AdminRecordView, RecordBody } from './schemas.js';

function adminView(record: KnownRecord): AdminRecordView {
  return { ...toRecordView(record), ...(record.revoked && { revoked: { ...record.revoked } }) };
}

/** The record of a `PUT`: the body, with the path's hash as its digest of that algorithm. */
function recordOf(parsed: ParsedHash, body: RecordBody): KnownRecord {
  const { hash, algorithm } = parsed;
  if (body[algorithm] !== undefined && body[algorithm] !== hash) {
    throw new InvalidRequestError(`The body's ${algorithm} differs from the hash in the path.`);
  }
  return { ...body, ...(algorithm === 'sha256' ? { sha256: hash } : algorithm === 'sha1' ? { sha1: hash } : { md5: hash }) };
}

/**
 * Adds or updates the record of one hash. The body carries the record's provenance and may carry its
 * other digests; the hash in the path is its digest of that algorithm. A revoked record is reinstated.
 */
export async function putRecord(
  parsed: ParsedHash,
  body: RecordBody,
  deps: AdminDeps,
): Promise<{ outcome: 'added' | 'updated' | 'unchanged'; record: AdminRecordView }> {
  const report = await importRecords([recordOf(parsed, body)], deps, { reinstate: true });
  const stored = (await deps.store.getStored([parsed.hash])).get(parsed.hash)!;
  const outcome = report.added ? 'added' : report.updated ? 'updated' : 'unchanged';
  return { outcome, record: adminView(stored) };
}

/**
 * Revokes the record of a hash: it is kept, with who revoked it, when and why, and no longer matches
 * under any of its digests. Revoking a revoked record changes nothing.
 */
export async function revokeRecord(
  { hash }: ParsedHash,
  reason: string,
  actor: Actor,
  deps: AdminDeps,
): Promise<{ outcome: 'revoked' | 'unchanged'; record: AdminRecordView }> {
  const trimmed = reason.trim();
  if (trimmed === '' || trimmed.length > 1000) {
    throw new InvalidRequestError('Say why the record is revoked: a reason of 1 to 1000 characters.');
  }
  const stored = (await deps.store.getStored([hash])).get(hash);
  if (!stored) throw new NotFoundError(`No record for ${hash} on the list.`);
  if (stored.revoked) return { outcome: 'unchanged', record: adminView(stored) };
  const revoked: KnownRecord = { ...stored, revoked: { at: deps.now().toISOString(), by: actor.id, reason: trimmed } };
  await deps.store.putRecords([revoked]);
  return { outcome: 'revoked', record: adminView(revoked) };
}

export type { ImportReport };
