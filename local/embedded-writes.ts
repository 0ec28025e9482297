import { setImmediate as nextTurn } from 'node:timers/promises';
import { asBinary, type Database, type RootDatabase } from 'lmdb';
import { UpstreamUnavailableError } from '../lambdas/core/errors.js';
import type { KnownRecord } from '../lambdas/core/records.js';
import { isActive, storedDigests, toStoredRecord } from './embedded-record-format.js';

/**
 * Writing records into the embedded list: `putRecords` and imports. A record is stored once under its
 * primary digest (its strongest); each of its other digests points to it. Every record is written in one
 * transaction with all its digests, so a crash leaves it whole or absent; a call is written in
 * transactions that change at most about TRANSACTION_PAGES pages, so the memory LMDB holds for one
 * transaction stays bounded whatever the size of the call.
 */

/**
 * Pages one transaction changes at most, about (see `transactionEnd`). LMDB holds every page a transaction
 * changes in memory until it commits, and keeps buffers for as many pages as its largest transaction
 * changed: 12,288 pages of 4 KiB is 48 MiB. Records spread over a large list change about a page each, and
 * each of their other digests another; records close to one another in key order (a list sent in that
 * order) share pages, and many more of them go in one transaction, so fewer commits wait for the disk.
 */
export const TRANSACTION_PAGES = 12_288;
/** Records in one transaction at most, however few pages they change. */
const TRANSACTION_RECORDS = 65_536;
/** Records a leaf page of the list holds, about: a record and its key take 100 to 170 bytes of 4 KiB. */
const RECORDS_PER_PAGE = 24;
/** Records read between two turns of the event loop. */
const READ_SLICE = 4096;

/** Keys of the `meta` database. */
export const META = {
  version: 'listVersion',
  activeRecords: 'activeRecords',
  updatedAt: 'updatedAt',
} as const;

/**
 * A digest as a key: its bytes, half the size of its hex form. Bytes sort as their hex forms do, so the
 * records are kept in the order of their primary digests.
 */
export function digestKey(hash: string): Buffer {
  return Buffer.from(hash, 'hex');
}

/** The databases a write of records changes, in the data file as it is open now. */
export interface RecordDatabases {
  readonly root: RootDatabase;
  /** Primary digest, as bytes, to the record less that digest, revocation included. */
  readonly records: Database<unknown, Buffer>;
  /** Every other digest of a record to its primary digest, both as bytes. */
  readonly digests: Database<Buffer, Buffer>;
  readonly meta: Database<unknown, string>;
}

/** What a write needs of the open store. Writes run one after another (the store's write queue). */
export interface WriteTarget {
  /** The databases as they are open now: opening the file again (see `between`) replaces them. */
  databases(): RecordDatabases;
  /** Runs between two transactions of a call; may close the file and open it again to give back memory. */
  between(): Promise<void>;
  /** Counts the pages written since the file was opened, about (see `transactionEnd`). */
  wrote(pages: number): void;
  /** The clock. */
  now(): number;
}

/** One record as it is written. */
interface RecordWrite {
  readonly primary: string;
  readonly others: readonly string[];
  readonly value: unknown[];
  /** Nothing was stored under its digests, nor pointed from them, before the call (read as it was decided). */
  readonly fresh: boolean;
}

const NO_DIGESTS: readonly string[] = Object.freeze([]);

/** A record's digests after its primary (the strongest, the key it is stored under). */
function othersOf(record: KnownRecord): readonly string[] {
  const { sha256, sha1, md5 } = record;
  if (sha256) return sha1 ? (md5 ? [sha1, md5] : [sha1]) : md5 ? [md5] : NO_DIGESTS;
  return sha1 && md5 ? [md5] : NO_DIGESTS;
}

/** Not read from the database yet. */
const NOT_READ = Symbol('not read');

/** What a call knows of one digest's keys: the record stored under it, and the primary digest it points to. */
interface Slot {
  record: unknown;
  pointer: string | undefined | typeof NOT_READ;
}

/** A digest known to hold nothing: no record, no pointer. Shared, never changed: a change replaces it. */
const EMPTY: Readonly<Slot> = Object.freeze({ record: undefined, pointer: undefined });

/**
 * The list as one call reads and changes it: each key read once from the database, and every change the
 * call has planned (committed or not) read back as planned. A call runs in the write queue, so nothing
 * else changes the list meanwhile.
 */
class ListView {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly target: WriteTarget) {}

  recordAt(hash: string): unknown {
    const slot = this.slots.get(hash);
    if (slot !== undefined && slot.record !== NOT_READ) return slot.record;
    const stored = this.target.databases().records.get(digestKey(hash));
    if (slot === undefined) this.slots.set(hash, { record: stored, pointer: NOT_READ });
    else slot.record = stored;
    return stored;
  }

  pointerAt(hash: string): string | undefined {
    // Only a record's weaker digests point to it: a SHA-256 is always the digest a record is stored under.
    if (hash.length === 64) return undefined;
    const slot = this.slots.get(hash);
    if (slot !== undefined && slot.pointer !== NOT_READ) return slot.pointer;
    const primary = this.target.databases().digests.get(digestKey(hash))?.toString('hex');
    if (slot === undefined) this.slots.set(hash, { record: NOT_READ, pointer: primary });
    else slot.pointer = primary;
    return primary;
  }

  setRecord(hash: string, value: unknown, changes: PlannedChanges): void {
    const slot = this.slots.get(hash);
    if (slot === undefined || slot === EMPTY) this.slots.set(hash, { record: value, pointer: slot === EMPTY ? undefined : NOT_READ });
    else slot.record = value;
    changes.records.push(hash);
    changes.values.push(value);
  }

  setPointer(hash: string, primary: string | undefined, changes: PlannedChanges): void {
    const slot = this.slots.get(hash);
    if (slot === undefined || slot === EMPTY) this.slots.set(hash, { record: slot === EMPTY ? undefined : NOT_READ, pointer: primary });
    else slot.pointer = primary;
    changes.digests.push(hash);
    changes.pointers.push(primary);
  }

  /**
   * The stored record a digest finds, as a lookup finds it: the record stored under it, or the one it
   * points to if that record still has the digest (one that another record took since names it no more).
   * @returns the primary digest and stored value, or undefined.
   */
  find(hash: string): { primary: string; stored: unknown } | undefined {
    if (this.slots.get(hash) === EMPTY) return undefined;
    const direct = this.recordAt(hash);
    if (direct !== undefined) return { primary: hash, stored: direct };
    const primary = this.pointerAt(hash);
    if (primary === undefined) return undefined;
    const stored = this.recordAt(primary);
    if (stored === undefined || !storedDigests(primary, stored).includes(hash)) return undefined;
    return { primary, stored };
  }

  /** Whether a digest is known to hold nothing, no record and no pointer. */
  isEmpty(hash: string): boolean {
    const slot = this.slots.get(hash);
    return slot === EMPTY || (slot !== undefined && slot.record === undefined && slot.pointer === undefined);
  }

  /** Marks a digest as holding nothing, no record and no pointer, as `emptyRanges` found it. */
  markEmpty(hash: string): void {
    if (!this.slots.has(hash)) this.slots.set(hash, EMPTY);
  }

  /**
   * Which of `sorted` (digests in key order) no key of the list lies between, so they hold nothing and are
   * not read one by one: an import into a part of the key space that holds nothing yet (a large feed sent
   * in the order of its keys, into a list that holds little there) reads almost nothing. Checked in runs of
   * PROBE_RUN digests: one look into each database tells whether any key lies in a run's range (a SHA-256
   * points nowhere: for a run of them only the records are looked into).
   * @returns 1 at the index of each digest found to hold nothing.
   */
  emptyRanges(sorted: readonly string[]): Uint8Array {
    const empty = new Uint8Array(sorted.length);
    const { records, digests } = this.target.databases();
    for (let start = 0; start < sorted.length; start += PROBE_RUN) {
      const end = Math.min(start + PROBE_RUN, sorted.length);
      const range = { start: digestKey(sorted[start]!), end: digestKey(sorted[end - 1]!), inclusiveEnd: true, limit: 1 };
      if (hasAny(records.getKeys(range))) continue;
      let pointing = false;
      for (let i = start; i < end && !pointing; i++) pointing = sorted[i]!.length !== 64;
      if (pointing && hasAny(digests.getKeys(range))) continue;
      empty.fill(1, start, end);
    }
    return empty;
  }
}

/** Digests checked at once for keys of the list between them (see `markEmptyRanges`). */
const PROBE_RUN = 64;

function hasAny(keys: Iterable<unknown>): boolean {
  for (const _key of keys) return true;
  return false;
}

/**
 * What one transaction changes, in the order planned (a key changed twice ends as changed last): records
 * by primary digest to their values, digests to the primary they point to; `undefined` removes.
 */
interface PlannedChanges {
  readonly records: string[];
  readonly values: unknown[];
  readonly digests: string[];
  readonly pointers: (string | undefined)[];
}

function pushPointer(changes: PlannedChanges, hash: string, primary: string | undefined): void {
  changes.digests.push(hash);
  changes.pointers.push(primary);
}

/**
 * Plans the changes of writing `writes` in one transaction, reading the list through `view`, so records
 * of one call that share digests end as if written one after another.
 * @returns the changes and the records on the list after them (revoked ones left out).
 */
function planTransaction(
  view: ListView,
  writes: readonly RecordWrite[],
  activeBefore: number,
  remember: boolean,
): { changes: PlannedChanges; active: number } {
  const changes: PlannedChanges = { records: [], values: [], digests: [], pointers: [] };
  let active = activeBefore;
  if (!remember) {
    // Each record has a single digest no other record of the call has: nothing planned is read again.
    for (const { primary, value, fresh } of writes) {
      if (fresh) {
        changes.records.push(primary);
        changes.values.push(value);
        active += Number(isActive(value));
        continue;
      }
      const previous = view.recordAt(primary);
      if (previous !== undefined) {
        active -= Number(isActive(previous));
        for (const hash of storedDigests(primary, previous)) {
          if (hash !== primary && view.pointerAt(hash) === primary) pushPointer(changes, hash, undefined);
        }
      }
      if (view.pointerAt(primary) !== undefined) pushPointer(changes, primary, undefined);
      changes.records.push(primary);
      changes.values.push(value);
      active += Number(isActive(value));
    }
    return { changes, active };
  }
  for (const { primary, others, value } of writes) {
    const previous = view.recordAt(primary);
    if (previous !== undefined) {
      active -= Number(isActive(previous));
      // Digests the record no longer has stop naming it.
      for (const hash of storedDigests(primary, previous)) {
        if (hash !== primary && !others.includes(hash) && view.pointerAt(hash) === primary) view.setPointer(hash, undefined, changes);
      }
    }
    if (view.pointerAt(primary) !== undefined) view.setPointer(primary, undefined, changes);
    for (const other of others) {
      // A digest that was another record's primary now belongs to this one, as a DynamoDB item is overwritten.
      const taken = view.recordAt(other);
      if (taken !== undefined) {
        active -= Number(isActive(taken));
        view.setRecord(other, undefined, changes);
      }
      view.setPointer(other, primary, changes);
    }
    view.setRecord(primary, value, changes);
    active += Number(isActive(value));
  }
  return { changes, active };
}

/**
 * How `writes` are written: `distinct` when each has a single digest of its own and they come in key order
 * (a list sent in that order: told in one pass, or known as `inKeyOrder`); `sort` into key order when no two share a digest; `keep`
 * the order they came in when two do, since it decides which one a digest ends up naming.
 */
function writeOrder(writes: readonly RecordWrite[], inKeyOrder: boolean): 'distinct' | 'sort' | 'keep' {
  let ascending = true;
  for (let i = 0; i < writes.length && ascending; i++) {
    ascending = writes[i]!.others.length === 0 && (inKeyOrder || i === 0 || writes[i]!.primary > writes[i - 1]!.primary);
  }
  if (ascending) return 'distinct';
  const seen = new Set<string>();
  for (const { primary, others } of writes) {
    if (seen.has(primary)) return 'keep';
    seen.add(primary);
    for (const digest of others) {
      if (seen.has(digest)) return 'keep';
      seen.add(digest);
    }
  }
  return 'sort';
}

const byPrimary = (a: RecordWrite, b: RecordWrite) => (a.primary < b.primary ? -1 : a.primary > b.primary ? 1 : 0);

/**
 * A value encoded as the database encodes it when it is put (its own msgpack encoder), copied out of the
 * encoder's buffer, which its next use overwrites.
 */
function encodedAs(db: Database<unknown, Buffer>, value: unknown): Buffer {
  const { encoder } = db as unknown as { encoder: { encode(value: unknown): Uint8Array } };
  return Buffer.from(encoder.encode(value));
}

/** Whether a stored value's encoding depends on nothing but its elements: text, numbers and lists of text. */
function plainValue(value: unknown): value is unknown[] {
  if (!Array.isArray(value)) return false;
  for (const element of value) {
    if (element === null || typeof element === 'string' || typeof element === 'number') continue;
    if (Array.isArray(element) && element.every((item) => typeof item === 'string')) continue;
    return false;
  }
  return true;
}

/** Settles once everything committed so far is on disk; a thenable of LMDB's taken at once, so later commits are not waited for. */
function flushedNow(root: RootDatabase): Promise<void> {
  return new Promise((resolve, reject) => {
    root.flushed.then(() => resolve(), reject);
  });
}

/** What a write leaves to wait for, outside the write queue: its commits reaching the disk. */
export interface Written {
  readonly flushed: Promise<void>;
}

const NOTHING_WRITTEN: Written = { flushed: Promise.resolve() };

/**
 * The records of one call as they are written, in the order they came: each turned into its stored value
 * as it is added (records that differ only in their one digest, as a plain list's do, share one value),
 * and the latest time one of them says it was added or revoked, which dates the list.
 */
class CallWrites {
  readonly writes: RecordWrite[] = [];
  latest: number;
  private lastStamp: string | undefined;
  private last: { record: KnownRecord; value: unknown[] } | undefined;

  constructor(writtenAt: number) {
    this.latest = writtenAt;
  }

  /** Adds `record`, written with `addedAt` when it has none of its own. */
  add(record: KnownRecord, fresh: boolean, addedAt?: string): void {
    const { sha256, sha1, md5 } = record;
    const primary = (sha256 ?? sha1 ?? md5)!;
    const others = othersOf(record);
    let value: unknown[];
    if (this.last !== undefined && others.length === 0 && sameFields(record, this.last.record)) {
      value = this.last.value;
    } else {
      const stamped = record.addedAt === undefined && addedAt !== undefined ? { ...record, addedAt } : record;
      this.date(stamped.addedAt);
      this.date(stamped.revoked?.at);
      value = toStoredRecord(stamped, primary);
      this.last = others.length === 0 ? { record, value } : undefined;
    }
    this.writes.push({ primary, others, value, fresh });
  }

  private date(stamp: string | undefined): void {
    // The records of an import share their time: it is read once.
    if (stamp === undefined || stamp === this.lastStamp) return;
    this.lastStamp = stamp;
    const time = Date.parse(stamp);
    if (time > this.latest) this.latest = time;
  }
}

/**
 * Whether two records of one digest each are stored as the same value: every field but their digest the
 * same (lists and objects the same ones), so the stored value of one is the other's.
 */
function sameFields(a: KnownRecord, b: KnownRecord): boolean {
  return (
    a.fileName === b.fileName &&
    a.platform === b.platform &&
    a.version === b.version &&
    a.kind === b.kind &&
    a.stage === b.stage &&
    a.campaign === b.campaign &&
    a.confidence === b.confidence &&
    a.sources === b.sources &&
    a.addedAt === b.addedAt &&
    a.size === b.size &&
    a.derived === b.derived &&
    a.revoked === b.revoked
  );
}

/**
 * Writes `records` as `putRecords` does: each under its primary digest with pointers from its others, in
 * transactions of bounded size, each with a version bump. Run in the write queue.
 * @returns once committed; its `flushed` once on disk.
 * @throws UpstreamUnavailableError when the list could not be written.
 */
export async function writeRecords(target: WriteTarget, records: readonly KnownRecord[]): Promise<Written> {
  if (records.length === 0) return NOTHING_WRITTEN;
  const call = new CallWrites(target.now());
  for (const record of records) call.add(record, false);
  return commitWrites(target, new ListView(target), call);
}

/**
 * An import in one pass: each record's digests are read once, `decide` is given what they hold as the
 * list was before the call (checked with `readRecord`, each stored record once), and the records it
 * answers are written as `writeRecords` writes them, planned from the same reads. Run in the write queue.
 * @returns once committed; its `flushed` once on disk.
 * @throws UpstreamUnavailableError when the list could not be read or written, or holds a damaged record.
 */
export async function importRecords(
  target: WriteTarget,
  records: readonly KnownRecord[],
  decide: (record: KnownRecord, stored: readonly (KnownRecord | undefined)[]) => KnownRecord | undefined,
  addedAt: string,
  readRecord: (primary: string, stored: unknown) => KnownRecord,
): Promise<Written> {
  const view = new ListView(target);
  const call = new CallWrites(target.now());
  const checked = new Map<string, KnownRecord>();
  const none: readonly (KnownRecord | undefined)[] = Object.freeze([]);
  /** What `hash`, the digest at `index` of a record with `count` digests, finds, added to `stored`. */
  const look = (hash: string, index: number, count: number, stored: (KnownRecord | undefined)[] | undefined) => {
    const found = view.find(hash);
    if (!found) return stored;
    stored ??= new Array<KnownRecord | undefined>(count).fill(undefined);
    let read = checked.get(found.primary);
    if (!read) checked.set(found.primary, (read = readRecord(found.primary, found.stored)));
    stored[index] = read;
    return stored;
  };
  // Records that come in the order of the digests they are stored under (a feed sent in key order) are
  // looked up by the part of the key space those fall in; others one by one (sorting them first would cost
  // more than it saves). Their weaker digests are read one by one.
  let ascending = true;
  try {
    const primaries: string[] = [];
    for (let i = 0; i < records.length && ascending; i++) {
      const { sha256, sha1, md5 } = records[i]!;
      const primary = (sha256 ?? sha1 ?? md5)!;
      ascending = i === 0 || primary > primaries[i - 1]!;
      primaries.push(primary);
    }
    // Records found to hold nothing under their primary digest; for those with other digests, what the view reads.
    const empty = ascending ? view.emptyRanges(primaries) : new Uint8Array(records.length);
    for (let i = 0; i < records.length; i++) {
      if (empty[i] && othersOf(records[i]!).length > 0) view.markEmpty(primaries[i]!);
    }
    for (let start = 0; start < records.length; start += READ_SLICE) {
      // Reads are synchronous: other requests get a turn between slices of a large call.
      if (start > 0) await nextTurn();
      const end = Math.min(start + READ_SLICE, records.length);
      for (let i = start; i < end; i++) {
        const record = records[i]!;
        const { sha256, sha1, md5 } = record;
        const primary = (sha256 ?? sha1 ?? md5)!;
        const count = Number(Boolean(sha256)) + Number(Boolean(sha1)) + Number(Boolean(md5));
        // In `recordDigests` order (sha256, sha1, md5): the primary first, not looked up when found to hold nothing.
        const primaryEmpty = empty[i] === 1;
        let stored = primaryEmpty ? undefined : look(primary, 0, count, undefined);
        let index = 1;
        if (sha1 && sha1 !== primary) stored = look(sha1, index++, count, stored);
        if (md5 && md5 !== primary) stored = look(md5, index++, count, stored);
        const write = decide(record, stored ?? none);
        if (!write) continue;
        // A record written as it came, whose digests hold nothing: nothing need be read to write it.
        const fresh =
          write === record &&
          stored === undefined &&
          (primaryEmpty || view.isEmpty(primary)) &&
          (!sha1 || sha1 === primary || view.isEmpty(sha1)) &&
          (!md5 || md5 === primary || view.isEmpty(md5));
        call.add(write, fresh, addedAt);
      }
    }
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) throw error;
    throw new UpstreamUnavailableError('The known-bad list could not be read; try again shortly.', { cause: error });
  }
  if (call.writes.length === 0) return NOTHING_WRITTEN;
  // Written in the order they came: in key order when the records came in the order of their primaries.
  return commitWrites(target, view, call, ascending);
}

/**
 * Where the transaction that starts at `start` ends: after TRANSACTION_RECORDS records, or once its
 * records change about TRANSACTION_PAGES pages, whichever comes first (at least one record).
 * @returns the index after its last record, and the pages it changes, about.
 */
function transactionEnd(writes: readonly RecordWrite[], start: number, listed: number): { end: number; pages: number } {
  // The list's records are spread evenly over the key space (digests are random), so its leaf pages are
  // too: two keys that agree in their first `bits` bits are about as likely on one page as not.
  const bits = Math.min(32, Math.max(1, Math.ceil(Math.log2(listed / RECORDS_PER_PAGE + 1))));
  let pages = 0;
  let page = -1;
  let end = start;
  for (; end < writes.length && end - start < TRANSACTION_RECORDS; end++) {
    const { primary, others } = writes[end]!;
    const here = top32(primary) >>> (32 - bits);
    const more = (here === page ? 0 : 1) + others.length;
    if (end > start && pages + more > TRANSACTION_PAGES) break;
    pages += more;
    page = here;
  }
  return { end, pages };
}

/** The first 32 bits of a digest (lower-case hex), as a number. */
function top32(hash: string): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const code = hash.charCodeAt(i);
    value = value * 16 + (code <= 0x39 ? code - 0x30 : code - 0x57);
  }
  return value;
}

/** Keys as bytes, one buffer per length (MD5, SHA-1, SHA-256), reused: LMDB copies a key as it is given one. */
const KEY_BUFFERS: Readonly<Record<number, Buffer>> = { 32: Buffer.alloc(16), 40: Buffer.alloc(20), 64: Buffer.alloc(32) };

/** A digest as a key, in a buffer the next call reuses: for a key LMDB copies at once (a put's, a remove's). */
function keyNow(hash: string): Buffer {
  const buffer = KEY_BUFFERS[hash.length];
  if (buffer === undefined) return digestKey(hash);
  buffer.write(hash, 'hex');
  return buffer;
}

/**
 * Writes a call's records through `view` in transactions of bounded size (see `transactionEnd`), each
 * with a version bump, the next one planned while the one before commits.
 */
async function commitWrites(target: WriteTarget, view: ListView, call: CallWrites, inKeyOrder = false): Promise<Written> {
  const { writes, latest } = call;
  // Written in the order of their keys, each transaction then changes pages near one another; records that
  // share digests keep the order they came in, since it decides which record a digest ends up naming.
  const order = writeOrder(writes, inKeyOrder);
  if (order === 'sort') writes.sort(byPrimary);
  // Records each with its own single digest change no key twice: what they change need not be read back.
  const remember = order !== 'distinct';

  let committing: Promise<unknown> = Promise.resolve();
  try {
    const { meta } = target.databases();
    let active = Number(meta.get(META.activeRecords) ?? 0);
    let version = Number(meta.get(META.version) ?? 0);
    const updatedAt = meta.get(META.updatedAt);
    const dated = typeof updatedAt === 'string' && Date.parse(updatedAt) >= latest;
    for (let start = 0; start < writes.length; ) {
      const { end, pages } = transactionEnd(writes, start, active);
      const planned = planTransaction(view, writes.slice(start, end), active, remember);
      await committing;
      await target.between();
      const { root, records: stored, digests, meta: metaNow } = target.databases();
      version += 1;
      active = planned.active;
      const lastOfCall = end >= writes.length;
      start = end;
      const { changes } = planned;
      const activeAfter = planned.active;
      const versionAfter = version;
      // The changes of one transaction are queued whole in this turn of the event loop: LMDB commits
      // them with the version bump, or none of them.
      committing = root.batch(() => {
        // A value shared by the records before it is encoded once.
        let encodedValue: unknown;
        let encoded: Buffer | undefined;
        for (let i = 0; i < changes.records.length; i++) {
          const key = keyNow(changes.records[i]!);
          const value = changes.values[i];
          if (value === undefined) {
            stored.remove(key);
          } else if (value === encodedValue) {
            stored.put(key, asBinary(encoded!));
          } else if (i + 1 < changes.values.length && changes.values[i + 1] === value && plainValue(value)) {
            encodedValue = value;
            encoded = encodedAs(stored, value);
            stored.put(key, asBinary(encoded));
          } else {
            stored.put(key, value);
          }
        }
        for (let i = 0; i < changes.digests.length; i++) {
          const pointer = changes.pointers[i];
          if (pointer === undefined) digests.remove(keyNow(changes.digests[i]!));
          // The value is read when the transaction commits: a buffer of its own.
          else digests.put(keyNow(changes.digests[i]!), digestKey(pointer));
        }
        metaNow.put(META.version, versionAfter);
        metaNow.put(META.activeRecords, activeAfter);
        if (lastOfCall && !dated) metaNow.put(META.updatedAt, new Date(latest).toISOString());
      });
      target.wrote(pages);
    }
    await committing;
    // LMDB commits a transaction, visible and safe from a crash of this process, before its pages reach
    // the disk: the caller answers once they have, so an import that was answered survives a power cut too.
    return { flushed: flushedNow(target.databases().root) };
  } catch (error) {
    await committing.catch(() => {});
    if (error instanceof UpstreamUnavailableError) throw error;
    throw new UpstreamUnavailableError('The known-bad list could not be written.', { cause: error });
  }
}
