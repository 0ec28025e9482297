import { InvalidRequestError, NotFoundError } from './errors.js';
import { parseHash, type HashHex } from './hashes.js';
import { importRecords, type ImportReport, type RecordStore } from './import.js';
import { toRecordView, type KnownRecord, type RecordView } from './records.js';
import { knownRecordSchema } from './seed.js';

/** Who is making an admin change, as the edge authenticated them. */
export interface Actor {
  readonly id: string;
}

export interface AdminDeps {
  store: RecordStore;
  now: () => Date;
}

/** A record as the admin API shows it: the public view plus its revocation, if any. */
export type AdminRecordView = RecordView & { revoked?: { at: string; by: string; reason: string } };

function adminView(record: KnownRecord): AdminRecordView {
  return { ...toRecordView(record), ...(record.revoked && { revoked: { ...record.revoked } }) };
}

/**
 * Adds or updates the record of one hash. The body carries the record's provenance and may carry its
 * other digests; the hash in the path is its digest of that algorithm. A revoked record is reinstated.
 */
export async function putRecord(
  hashInput: string,
  body: unknown,
  deps: AdminDeps,
): Promise<{ outcome: 'added' | 'updated' | 'unchanged'; record: AdminRecordView }> {
  const { hash, algorithm } = parseHash(hashInput);
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (raw[algorithm] !== undefined && String(raw[algorithm]).trim().toLowerCase() !== hash) {
    throw new InvalidRequestError(`The body's ${algorithm} differs from the hash in the path.`);
  }
  const parsed = knownRecordSchema.safeParse({ ...raw, [algorithm]: hash });
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ');
    throw new InvalidRequestError(`The record is not valid: ${detail}`);
  }
  const report = await importRecords([parsed.data as KnownRecord], deps, { reinstate: true });
  const stored = (await deps.store.getStored([hash])).get(hash)!;
  const outcome = report.added ? 'added' : report.updated ? 'updated' : 'unchanged';
  return { outcome, record: adminView(stored) };
}

/**
 * Revokes the record of a hash: it is kept, with who revoked it, when and why, and no longer matches
 * under any of its digests. Revoking a revoked record changes nothing.
 */
export async function revokeRecord(
  hashInput: string,
  reason: string,
  actor: Actor,
  deps: AdminDeps,
): Promise<{ outcome: 'revoked' | 'unchanged'; record: AdminRecordView }> {
  const { hash } = parseHash(hashInput);
  const trimmed = reason.trim();
  if (trimmed === '' || trimmed.length > 1000) {
    throw new InvalidRequestError('Say why the record is revoked: a reason of 1 to 1000 characters.');
  }
  const stored = (await deps.store.getStored([hash as HashHex])).get(hash as HashHex);
  if (!stored) throw new NotFoundError(`No record for ${hash} on the list.`);
  if (stored.revoked) return { outcome: 'unchanged', record: adminView(stored) };
  const revoked: KnownRecord = { ...stored, revoked: { at: deps.now().toISOString(), by: actor.id, reason: trimmed } };
  await deps.store.putRecords([revoked]);
  return { outcome: 'revoked', record: adminView(revoked) };
}

export type { ImportReport };
