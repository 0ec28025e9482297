import { ALGORITHM_BY_LENGTH, type HashHex } from '../lambdas/core/hashes.js';
import type { KnownRecord } from '../lambdas/core/records.js';

/**
 * How the embedded list keeps a record under its primary digest: a positional array, so no value repeats
 * the field names, with the primary digest left out (it is the key), the other digests as bytes and
 * `addedAt` as milliseconds when that gives back the same text. A million-record list takes about half
 * the disk, and so half the pages to write and to map, of the same records kept as objects.
 *
 * Values written as objects (the record less nothing, or less its primary digest) are still read.
 */

/** The positions of the fields in a stored array; absent fields are `null`, trailing ones left off. */
const FIELD = {
  fileName: 0,
  platform: 1,
  version: 2,
  kind: 3,
  stage: 4,
  campaign: 5,
  confidence: 6,
  sources: 7,
  addedAt: 8,
  sha256: 9,
  sha1: 10,
  md5: 11,
  size: 12,
  derived: 13,
  revoked: 14,
} as const;

const TEXT_FIELDS = ['fileName', 'platform', 'version', 'kind', 'stage', 'campaign', 'confidence'] as const;
const DIGEST_FIELDS = ['sha256', 'sha1', 'md5'] as const;


/** A stored value as it comes back from the database. */
export type StoredRecord = unknown;

/** `addedAt` as milliseconds when they give back exactly the same text, else the text. */
function packTime(text: string): number | string {
  // The records of one import share their time: it is worked out once.
  if (text === lastTime.text) return lastTime.packed;
  const ms = Date.parse(text);
  const packed = Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms : text;
  lastTime = { text, packed };
  return packed;
}
let lastTime: { text: string; packed: number | string } = { text: '', packed: '' };

function hexOf(bytes: unknown): string | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The value a record is stored as under its primary digest `primary`. */
export function toStoredRecord(record: KnownRecord, primary: string): unknown[] {
  const keyField = ALGORITHM_BY_LENGTH[primary.length];
  const stored: unknown[] = TEXT_FIELDS.map((field) => record[field]);
  stored[FIELD.sources] = record.sources;
  stored[FIELD.addedAt] = record.addedAt === undefined ? null : packTime(record.addedAt);
  for (const field of DIGEST_FIELDS) {
    const digest = record[field];
    stored[FIELD[field]] = digest === undefined || field === keyField ? null : Buffer.from(digest, 'hex');
  }
  stored[FIELD.size] = record.size ?? null;
  stored[FIELD.derived] = record.derived ?? null;
  stored[FIELD.revoked] = record.revoked ?? null;
  while (stored.length > 0 && stored[stored.length - 1] === null) stored.pop();
  return stored;
}

/** Whether a stored record is on the list (not revoked). */
export function isActive(stored: StoredRecord): boolean {
  if (stored === undefined) return false;
  if (Array.isArray(stored)) return (stored[FIELD.revoked] ?? null) === null;
  return (stored as { revoked?: unknown }).revoked === undefined;
}

/** The digests of a stored record, its primary first, read without checking the rest of it. */
export function storedDigests(primary: string, stored: StoredRecord): string[] {
  const digests = [primary];
  const keyField = ALGORITHM_BY_LENGTH[primary.length];
  for (const field of DIGEST_FIELDS) {
    if (field === keyField) continue;
    const value = Array.isArray(stored)
      ? hexOf(stored[FIELD[field]])
      : typeof stored === 'object' && stored !== null
        ? (stored as Record<string, unknown>)[field]
        : undefined;
    if (typeof value === 'string') digests.push(value);
  }
  return digests;
}

/**
 * The fields of a stored record, its primary digest restored from the key, unchecked: the caller checks
 * them against the record schema. A value of no known shape gives fields the schema refuses.
 */
export function storedFields(primary: string, stored: StoredRecord): { fields: Record<string, unknown>; revoked: unknown } {
  const keyField = ALGORITHM_BY_LENGTH[primary.length];
  if (!Array.isArray(stored)) {
    const value = (typeof stored === 'object' && stored !== null ? stored : { value: stored }) as Record<string, unknown>;
    const { revoked, ...rest } = value;
    return { fields: keyField ? { ...rest, [keyField]: primary } : rest, revoked };
  }
  const fields: Record<string, unknown> = {};
  const at = (index: number) => stored[index] ?? null;
  for (const [index, field] of TEXT_FIELDS.entries()) fields[field] = at(index) ?? undefined;
  fields['sources'] = at(FIELD.sources) ?? undefined;
  const addedAt = at(FIELD.addedAt);
  if (addedAt !== null) fields['addedAt'] = typeof addedAt === 'number' ? new Date(addedAt).toISOString() : addedAt;
  for (const field of DIGEST_FIELDS) {
    const value = field === keyField ? primary : at(FIELD[field]);
    if (value !== null) fields[field] = typeof value === 'string' ? value : (hexOf(value) ?? value);
  }
  if (at(FIELD.size) !== null) fields['size'] = at(FIELD.size);
  if (at(FIELD.derived) !== null) fields['derived'] = at(FIELD.derived);
  if (stored.length > FIELD.revoked + 1) fields['unknown'] = stored.slice(FIELD.revoked + 1);
  const revoked = at(FIELD.revoked);
  return { fields, revoked: revoked === null ? undefined : revoked };
}

/** The fields many records share (one import's name, kind, campaign, sources…), checked, and what they were stored as. */
interface CheckedShared {
  readonly fileName: string;
  readonly platform: string;
  readonly version: string;
  readonly kind: KnownRecord['kind'];
  readonly stage: string;
  readonly campaign: string;
  readonly confidence: string;
  readonly sources: readonly string[];
}

/** Shared fields checked lately: their stored values (positions 0 to FIELD.sources) and the checked fields, newest first. */
const sharedChecks: { readonly stored: readonly unknown[]; readonly checked: CheckedShared }[] = [];
/** How many kinds of shared fields are kept: a lookup meets records of a few feeds at a time. */
const SHARED_CHECKS_KEPT = 16;

/**
 * Whether a stored record's shared fields are those kept: the same strings (or the same absent ones) and
 * the same sources. Anything else (a value of another type included) is not the same, and is checked.
 */
function sameShared(stored: readonly unknown[], kept: readonly unknown[]): boolean {
  for (let i = 0; i < FIELD.sources; i++) {
    const value = stored[i];
    if (value !== kept[i] || (value !== undefined && value !== null && typeof value !== 'string')) return false;
  }
  const sources = stored[FIELD.sources];
  const keptSources = kept[FIELD.sources] as readonly unknown[];
  if (!Array.isArray(sources) || sources.length !== keptSources.length) return false;
  for (let i = 0; i < sources.length; i++) if (sources[i] !== keptSources[i] || typeof sources[i] !== 'string') return false;
  return true;
}

/** The text of times read lately: the records of one import, or of one request of it, share their time. */
const timeTexts = new Map<number, string>();
const TIME_TEXTS_KEPT = 1024;

function timeText(ms: number): string {
  let text = timeTexts.get(ms);
  if (text === undefined) {
    if (timeTexts.size >= TIME_TEXTS_KEPT) timeTexts.clear();
    timeTexts.set(ms, (text = new Date(ms).toISOString()));
  }
  return text;
}

/** The byte length of each digest kept as bytes in a stored record. */
const DIGEST_BYTES = { sha256: 32, sha1: 20, md5: 16 } as const;

/**
 * Reads a stored record back, checked: the fields records share are checked once per distinct value (a
 * list of a million records from one feed shares them all), and the fields of each record (its digests,
 * size, when it was added) by what the stored form allows: digests of the right length in bytes, a whole
 * size, a time as milliseconds of a year from 0 to 9999. A value of any other form, and a revoked or derived
 * record, is read by `readWhole`, which checks the whole record against the record schema. Either way a
 * value that is not a valid record throws.
 */
export function readCheckedRecord(primary: string, stored: StoredRecord, readWhole: () => KnownRecord): KnownRecord {
  const keyField = ALGORITHM_BY_LENGTH[primary.length];
  if (!Array.isArray(stored) || stored.length > FIELD.size + 1 || keyField === undefined) return readWhole();
  const addedAt = stored[FIELD.addedAt] ?? null;
  const size = stored[FIELD.size] ?? null;
  if (addedAt !== null && !(Number.isSafeInteger(addedAt) && (addedAt as number) >= FIRST_TIME_MS && (addedAt as number) <= LAST_TIME_MS)) return readWhole();
  if (size !== null && !(Number.isSafeInteger(size) && (size as number) >= 0)) return readWhole();
  for (const field of DIGEST_FIELDS) {
    const value = field === keyField ? null : (stored[FIELD[field]] ?? null);
    if (value !== null && !(value instanceof Uint8Array && value.byteLength === DIGEST_BYTES[field])) return readWhole();
  }
  let shared: CheckedShared | undefined;
  for (const kept of sharedChecks) {
    if (sameShared(stored, kept.stored)) {
      shared = kept.checked;
      break;
    }
  }
  if (shared === undefined) {
    // The whole record is checked the first time; what it shares with others is kept as checked.
    const record = readWhole();
    const { fileName, platform, version, kind, stage, campaign, confidence } = record;
    shared = { fileName, platform, version, kind, stage, campaign, confidence, sources: Object.freeze([...record.sources]) };
    const keptStored = stored.slice(0, FIELD.sources + 1);
    keptStored[FIELD.sources] = [...(stored[FIELD.sources] as unknown[])];
    sharedChecks.unshift({ stored: keptStored, checked: shared });
    if (sharedChecks.length > SHARED_CHECKS_KEPT) sharedChecks.pop();
  }
  // In the order of the record schema's fields, as a record checked whole comes out.
  const record: { -readonly [K in keyof KnownRecord]: KnownRecord[K] } = {} as KnownRecord;
  for (const field of DIGEST_FIELDS) {
    const value = field === keyField ? primary : hexOf(stored[FIELD[field]]);
    if (value !== undefined) record[field] = value as HashHex;
  }
  if (size !== null) record.size = size as number;
  record.fileName = shared.fileName;
  record.platform = shared.platform;
  record.version = shared.version;
  record.kind = shared.kind;
  record.stage = shared.stage;
  record.campaign = shared.campaign;
  record.confidence = shared.confidence;
  record.sources = shared.sources;
  if (addedAt !== null) record.addedAt = timeText(addedAt as number);
  return record;
}

/** The first and last milliseconds of the years 0 to 9999, the times an ISO 8601 timestamp writes in four digits. */
const FIRST_TIME_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');
