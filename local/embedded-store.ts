import { open as openFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
import { chunk } from '../lambdas/core/chunk.js';
import type { ContainerSightings, RecordsAndContainers, Sighting } from '../lambdas/core/derived.js';
import { UpstreamUnavailableError } from '../lambdas/core/errors.js';
import type { ListedRecords, RecordLister } from '../lambdas/core/exports.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import type { RecordStore } from '../lambdas/core/import.js';
import type { KnownRecord } from '../lambdas/core/records.js';
// The schema every record is written through (seed list, imports, the admin API) is the one it is read back with.
import { describeIssues, recordInputSchema, revocationSchema } from '../lambdas/core/schemas.js';
import type { ScanRecord, ScanStore } from '../lambdas/core/uploads.js';
import { makeFilesPrivate, preparePrivateFolder } from './embedded-folder.js';
import { readCheckedRecord, storedDigests, storedFields } from './embedded-record-format.js';
import { digestKey, importRecords, META, writeRecords, type WriteTarget, type Written } from './embedded-writes.js';
import { readScan, toStoredScan, type StoredScan } from './embedded-scans.js';
import { addSightings, readSightings, SIGHTINGS_DATABASE } from './embedded-sightings.js';
import { claimOwnership, currentOwner, releaseOwnership, StoreInUseError } from './embedded-owner.js';

export { DataFolderError, preparePrivateFolder } from './embedded-folder.js';
export { StoreInUseError } from './embedded-owner.js';

/** The database file in the data folder; LMDB keeps its reader table beside it (`-lock`). */
export const DATABASE_FILE = 'hashcheck.mdb';
/** The file naming the server that has the data folder's store open. */
export const OWNER_FILE = 'server.lock';

/** Keys read between two checks of the read deadline, and between two turns of the event loop. */
const READ_SLICE = 2048;
/**
 * Pages written (about: see `TRANSACTION_PAGES`) after which the data file is closed and opened again, between
 * two transactions, to give back the memory writes leave mapped and the page buffers LMDB keeps (see
 * `release`): 32,768 pages is 128 MiB. A list sent in key order changes few pages for its records, and is
 * written on with few reopenings; records spread over the list change a page or more each.
 */
const RELEASE_AFTER_PAGES = 32_768;
/**
 * Once the list has had no write for this long after writes that touched this many pages or more (an
 * import, not a record put or a container remembered), the data file is opened afresh (see `release`).
 */
const RELEASE_WHEN_IDLE_MS = 1000;
const RELEASE_WHEN_IDLE_AFTER_PAGES = 4096;
/**
 * The address space the database is mapped into (not disk: the file grows with the data). Large enough for
 * lists of many millions of records, so the map is never moved and re-made while the server runs.
 */
const MAP_SIZE = 2 ** 38;
/**
 * Lookups read single pages at random: reading ahead would only fill memory with pages nobody asked for.
 * (An option lmdb passes to LMDB that its type declarations leave out.)
 */
const LOOKUP_TUNING = { noReadAhead: true };
/** How often expired scans are removed. */
const SCAN_PRUNE_INTERVAL_MS = 3600_000;

/** The known-bad list in the embedded database. */
export interface EmbeddedHashStore extends RecordStore, RecordLister, ContainerSightings {
  /** Distinct records on the list (not digests), revoked ones left out, as `DynamoDbHashStore.countRecords`. */
  countRecords(): Promise<number>;
  /** Every record once, in the order of its primary digest, revoked ones left out, read lazily (a million records never held at once). */
  records(): AsyncIterable<KnownRecord>;
}

/** The embedded database of the single-machine service, in one private data folder. */
export interface EmbeddedStore {
  readonly dataDir: string;
  readonly hashes: EmbeddedHashStore;
  readonly scans: ScanStore;
  /** Bumped in the same transaction as every write of records (putRecords); starts at 0 for an empty list, survives restarts. */
  listVersion(): number;
  close(): Promise<void>;
}

export interface EmbeddedStoreOptions {
  /**
   * Milliseconds a lookup may read for before it fails with UpstreamUnavailableError rather than keep
   * the caller waiting (a disk that stalls). @default 10000
   */
  readonly readDeadlineMs?: number;
  /** The clock, passed in so the times a list was written are known in tests. @default Date.now */
  readonly now?: () => number;
}

/** Data folders with a store open in this process: LMDB would share one environment between two opens. */
const openInThisProcess = new Set<string>();

/**
 * Reads a stored value back into a record, its primary digest restored from the key, validated against
 * the record schema that every write went through: a value that is not a valid record is refused rather
 * than answered in a shape nobody wrote.
 * @throws UpstreamUnavailableError naming the digest and what is wrong with the value.
 */
function readRecord(primary: string, stored: unknown): KnownRecord {
  return readCheckedRecord(primary, stored, () => readWholeRecord(primary, stored));
}

/** {@link readRecord} with every field checked against the schemas. */
function readWholeRecord(primary: string, stored: unknown): KnownRecord {
  const { fields, revoked } = storedFields(primary, stored);
  const record = recordInputSchema.safeParse(fields);
  const revocation = revoked === undefined ? undefined : revocationSchema.safeParse(revoked);
  if (!record.success || revocation?.success === false) {
    const error = record.error ?? revocation?.error;
    throw new UpstreamUnavailableError(
      `The known-bad list holds an item for ${primary} that is not a valid record (${describeIssues(error ?? { issues: [] }, 'record')}); it was not used.`,
      { cause: error },
    );
  }
  return { ...record.data, ...(revocation?.data && { revoked: revocation.data }) };
}

/** The databases of one opening of the data file. */
interface Databases {
  readonly root: RootDatabase;
  /** Primary digest (the record's strongest), as bytes, to the record less that digest, revocation included. */
  readonly records: Database<unknown, Buffer>;
  /** Every other digest of a record to its primary digest, both as bytes. */
  readonly digests: Database<Buffer, Buffer>;
  readonly meta: Database<unknown, string>;
  readonly scans: Database<StoredScan, string>;
  /** Member digest to the containers it was found in (`containedIn`); not part of the list. */
  readonly sightings: Database<unknown, string>;
}

/** The databases of one open store and whether it is still open. */
interface Handles {
  /** Replaced when the file is opened again to give back the memory of a large import (see `release`). */
  db: Databases;
  /** Opens the data file again. */
  readonly reopen: () => Databases;
  /** Set while the file is opened again: reads wait for it. */
  releasing: Promise<void> | undefined;
  /** The list's version when the file was last closed to be opened again, answered meanwhile. */
  versionWhileReleasing: number;
  /** Pages written since the file was opened, about (see `TRANSACTION_PAGES`). */
  pagesSinceOpen: number;
  /** Set while the file waits to be opened afresh once writes have stopped (see RELEASE_WHEN_IDLE_MS). */
  idleRelease: NodeJS.Timeout | undefined;
  /** The writes of this server, one after another: each reads what the one before committed. */
  readonly writes: WriteQueue;
  /** Listings under way: their cursors end before the database closes under them. */
  readonly listings: Set<() => void>;
  closed: boolean;
}

/** Opens the databases of the data file at `path`. */
function openDatabases(path: string): Databases {
  const root = open({
    path,
    maxDbs: 8,
    // Windows sizes the file to the map; elsewhere the map is only address space.
    ...(process.platform !== 'win32' && { mapSize: MAP_SIZE }),
    ...LOOKUP_TUNING,
  });
  return {
    root,
    records: root.openDB<unknown, Buffer>({ name: 'records', keyEncoding: 'binary' }),
    digests: root.openDB<Buffer, Buffer>({ name: 'digests', keyEncoding: 'binary', encoding: 'binary' }),
    meta: root.openDB<unknown, string>({ name: 'meta' }),
    scans: root.openDB<StoredScan, string>({ name: 'scans' }),
    sightings: root.openDB<unknown, string>({ name: SIGHTINGS_DATABASE }),
  };
}

/**
 * Gives back the memory a large import leaves: LMDB keeps the page buffers of its largest write, and every
 * page of the file that was read stays mapped into the process, until the file is closed. Run in the write
 * queue with no listing under way (their cursors would end); reads meanwhile wait for it.
 */
async function release(handles: Handles): Promise<void> {
  if (handles.closed || handles.listings.size > 0) return;
  let done!: () => void;
  handles.versionWhileReleasing = Number(handles.db.meta.get(META.version) ?? 0);
  handles.releasing = new Promise((resolve) => (done = resolve));
  try {
    await handles.db.root.close();
    handles.db = handles.reopen();
    handles.pagesSinceOpen = 0;
  } finally {
    handles.releasing = undefined;
    done();
  }
}

/**
 * Opens the data file afresh once the list has had no write for RELEASE_WHEN_IDLE_MS, so a server that took
 * an import gives back the memory the import left (a large one in many requests is written on meanwhile).
 * A write meanwhile puts it off; should opening the file again fail, the reads fail closed and say so.
 */
function releaseWhenIdle(handles: Handles): void {
  clearTimeout(handles.idleRelease);
  handles.idleRelease = setTimeout(() => {
    handles.idleRelease = undefined;
    if (handles.closed) return;
    void handles.writes.run(() => release(handles)).catch(() => {});
  }, RELEASE_WHEN_IDLE_MS);
  handles.idleRelease.unref();
}

/** Waits while the file is opened again; most of the time it is not, and this costs nothing. */
async function settled(handles: Handles): Promise<void> {
  if (handles.releasing) await handles.releasing;
}

/** Runs tasks one after another, each once the one before has settled. */
class WriteQueue {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.last.then(task);
    this.last = result.catch(() => {});
    return result;
  }

  /** Settles once every task queued so far has. */
  idle(): Promise<unknown> {
    return this.last;
  }
}

/** Runs `read` on the open store; a closed store, or a database that fails to read, is an UpstreamUnavailableError. */
function readFrom<T>(handles: Handles, read: () => T): T {
  if (handles.closed) throw new UpstreamUnavailableError('The known-bad list is closed; the server is stopping.');
  try {
    return read();
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) throw error;
    throw new UpstreamUnavailableError('The known-bad list could not be read; try again shortly.', { cause: error });
  }
}

/**
 * The known-bad list in LMDB. A record is stored once under its primary digest; each of its other digests
 * points to it, so any digest finds the whole record. A record is written in one transaction with all its
 * digests: a crash leaves each record either whole, every digest of it, or absent. A large `putRecords`
 * is written in transactions of bounded size (see `TRANSACTION_PAGES`), so the memory a write takes stays
 * bounded whatever the size of the call.
 */
class LmdbHashStore implements EmbeddedHashStore {
  constructor(
    private readonly handles: Handles,
    private readonly readDeadlineMs: number,
    private readonly now: () => number,
  ) {}

  async getMany(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>> {
    const found = new Map<HashHex, KnownRecord>();
    for (const [hash, record] of await this.getStored(hashes)) if (!record.revoked) found.set(hash, record);
    return found;
  }

  /**
   * Reads in slices with a turn of the event loop between them, so a lookup of many hashes does not hold
   * up other requests, and fails once the read deadline is past instead of answering late. Each record
   * found is checked once, however many of its digests were asked for.
   */
  async getStored(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>> {
    const found = new Map<HashHex, KnownRecord>();
    const checked = new Map<string, KnownRecord>();
    const deadline = this.now() + this.readDeadlineMs;
    for (let start = 0; start < hashes.length; start += READ_SLICE) {
      if (start > 0) {
        await nextTurn();
        if (this.now() > deadline) {
          throw new UpstreamUnavailableError(`The known-bad list did not answer within ${this.readDeadlineMs} ms; try again shortly.`);
        }
      }
      await settled(this.handles);
      readFrom(this.handles, () => {
        const end = Math.min(start + READ_SLICE, hashes.length);
        for (let i = start; i < end; i++) {
          const hash = hashes[i]!;
          const record = this.readByDigest(hash, checked);
          if (record) found.set(hash, record);
        }
      });
    }
    return found;
  }

  private readByDigest(hash: HashHex, checked: Map<string, KnownRecord>): KnownRecord | undefined {
    const { records, digests } = this.handles.db;
    const key = digestKey(hash);
    const read = (primary: string, stored: unknown) => {
      let record = checked.get(primary);
      if (!record) checked.set(primary, (record = readRecord(primary, stored)));
      return record;
    };
    const direct = records.get(key);
    if (direct !== undefined) return read(hash, direct);
    // A SHA-256 is always its record's primary digest (the strongest): none is kept in `digests`, and an
    // unknown one, half of what a feed holds, costs one read.
    if (hash.length === 64) return undefined;
    const primary = digests.get(key);
    if (primary === undefined) return undefined;
    const stored = records.get(primary);
    if (stored === undefined) return undefined;
    // A digest another record took over since no longer names this record: checked before the record is.
    if (!storedDigests(primary.toString('hex'), stored).includes(hash)) return undefined;
    return read(primary.toString('hex'), stored);
  }

  async putRecords(records: readonly KnownRecord[]): Promise<void> {
    // Nothing to write is no change: the list keeps its version, and exports built for it stay current.
    if (records.length === 0) return this.refuseWhenClosed();
    await this.write((target) => writeRecords(target, records));
  }

  async importInOnePass(
    records: readonly KnownRecord[],
    decide: (record: KnownRecord, stored: readonly (KnownRecord | undefined)[]) => KnownRecord | undefined,
    addedAt: string,
  ): Promise<void> {
    await this.write((target) => importRecords(target, records, decide, addedAt, readRecord));
  }

  private refuseWhenClosed(): void {
    if (this.handles.closed) throw new UpstreamUnavailableError('The known-bad list could not be written: the server is stopping.');
  }

  /**
   * Runs a write in the write queue: every earlier write has committed, so what it reads is the list it
   * changes. Answers once its commits are on disk, waited for outside the queue so the next write goes on.
   */
  private async write(task: (target: WriteTarget) => Promise<Written>): Promise<void> {
    this.refuseWhenClosed();
    const handles = this.handles;
    const target: WriteTarget = {
      databases: () => handles.db,
      between: async () => {
        if (handles.pagesSinceOpen >= RELEASE_AFTER_PAGES && handles.listings.size === 0) await release(handles);
      },
      wrote: (pages) => {
        handles.pagesSinceOpen += pages;
      },
      now: this.now,
    };
    clearTimeout(handles.idleRelease);
    const written = await handles.writes.run(async () => {
      const done = await task(target);
      if (handles.pagesSinceOpen >= RELEASE_WHEN_IDLE_AFTER_PAGES) releaseWhenIdle(handles);
      return done;
    });
    try {
      await written.flushed;
    } catch (error) {
      throw new UpstreamUnavailableError('The known-bad list could not be written.', { cause: error });
    }
  }

  /** The records of `hashes` and the containers each was found in, read together. */
  async getManyWithContainers(hashes: readonly HashHex[]): Promise<RecordsAndContainers> {
    const records = await this.getMany(hashes);
    await settled(this.handles);
    // Only a known-bad hash is answered with its containers: the others cost no second read.
    return { records, containedIn: readFrom(this.handles, () => readSightings(this.handles.db.sightings, [...records.keys()])) };
  }

  /** Adds containers to their members' `containedIn`, in the write queue; the list's version stays. */
  async addSightings(sightings: readonly Sighting[]): Promise<void> {
    if (this.handles.closed) throw new UpstreamUnavailableError('The containers a file was found in could not be written: the server is stopping.');
    await this.handles.writes.run(() => addSightings(this.handles.db.root, this.handles.db.sightings, sightings));
  }

  async countRecords(): Promise<number> {
    await settled(this.handles);
    return readFrom(this.handles, () => Number(this.handles.db.meta.get(META.activeRecords) ?? 0));
  }

  async *records(): AsyncIterable<KnownRecord> {
    await settled(this.handles);
    // One snapshot for the whole iteration, so a write meanwhile is seen whole or not at all.
    const entries = readFrom(this.handles, () => this.handles.db.records.getRange({ snapshot: true })[Symbol.iterator]());
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      entries.return?.();
    };
    this.handles.listings.add(end);
    try {
      for (let read = 1; ; read++) {
        const next = readFrom(this.handles, () => entries.next());
        if (next.done) return;
        const { key, value } = next.value;
        // Read (and so checked) before a revocation is believed: a damaged value fails the listing, never shortens it.
        const record = readRecord(key.toString('hex'), value);
        if (record.revoked) continue;
        yield record;
        if (read % READ_SLICE === 0) await nextTurn();
      }
    } finally {
      this.handles.listings.delete(end);
      if (!this.handles.closed) end();
    }
  }

  async listRecords(): Promise<ListedRecords> {
    const records: KnownRecord[] = [];
    for await (const record of this.records()) records.push(record);
    await settled(this.handles);
    const updatedAt = readFrom(this.handles, () => this.handles.db.meta.get(META.updatedAt));
    return { records, updatedAt: typeof updatedAt === 'string' ? updatedAt : undefined };
  }
}

/** Scans in LMDB, with DynamoDbScanStore's semantics: a finish only replaces a pending scan. */
class LmdbScanStore implements ScanStore {
  private nextPruneAt = 0;

  constructor(
    private readonly handles: Handles,
    private readonly now: () => number,
  ) {}

  /** Records a scan; at most once an hour, scans past their expiry go with it (DynamoDB's TTL does this deployed). */
  async put(record: ScanRecord): Promise<void> {
    if (this.handles.closed) throw new UpstreamUnavailableError('The scan could not be recorded; try again shortly.');
    const now = this.now();
    await this.handles.writes.run(async () => {
      const { root, scans } = this.handles.db;
      try {
        await root.batch(() => {
          if (now >= this.nextPruneAt) {
            this.nextPruneAt = now + SCAN_PRUNE_INTERVAL_MS;
            for (const { key, value } of scans.getRange()) {
              if (typeof value?.expiresAt === 'number' && value.expiresAt * 1000 <= now) scans.remove(key);
            }
          }
          scans.put(record.uploadId, toStoredScan(record));
        });
      } catch (error) {
        throw new UpstreamUnavailableError('The scan could not be recorded; try again shortly.', { cause: error });
      }
    });
  }

  async finish(record: ScanRecord): Promise<boolean> {
    if (this.handles.closed) throw new UpstreamUnavailableError('The scan result could not be written; the server is stopping.');
    // Writes run one after another: no other write of this server lands between the read and the write.
    return this.handles.writes.run(async () => {
      const { scans } = this.handles.db;
      try {
        if (scans.get(record.uploadId)?.status !== 'pending') return false;
        await scans.put(record.uploadId, toStoredScan(record));
        return true;
      } catch (error) {
        throw new UpstreamUnavailableError('The scan result could not be written; try again shortly.', { cause: error });
      }
    });
  }

  async get(uploadId: string): Promise<ScanRecord | undefined> {
    if (this.handles.closed) throw new UpstreamUnavailableError('The scan result could not be read; the server is stopping.');
    let stored: StoredScan | undefined;
    await settled(this.handles);
    try {
      stored = this.handles.db.scans.get(uploadId);
    } catch (error) {
      throw new UpstreamUnavailableError('The scan result could not be read; try again shortly.', { cause: error });
    }
    return stored === undefined ? undefined : readScan(uploadId, stored);
  }
}

/** LMDB's meta pages: a page flagged P_META whose header is followed by the magic number. */
const META_PAGE_FLAG = 0x08;
const LMDB_MAGIC = 0xbeefc0de;
const PAGE_HEADER_BYTES = 24;

/**
 * Checks that an existing data file starts with LMDB's two meta pages before LMDB maps it: LMDB trusts
 * the header of a file it opens, and a file that is not a database at all can bring the process down
 * instead of being refused.
 * @returns why the file is not a database, or `undefined` for a file that is one (or is new).
 */
async function whyNotADatabase(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await openFile(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return (error as Error).message;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const header = Buffer.alloc(64);
    const isMeta = async (offset: number) => {
      const { bytesRead } = await handle.read(header, 0, header.length, offset);
      return bytesRead === header.length && (header.readUInt16LE(18) & META_PAGE_FLAG) !== 0 && header.readUInt32LE(PAGE_HEADER_BYTES) === LMDB_MAGIC;
    };
    if (!(await isMeta(0))) return 'it does not start with a database header';
    // The page size is kept in the first meta page (the free-page database's first field).
    const pageSize = header.readUInt32LE(48);
    if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0 || !(await isMeta(pageSize))) {
      return 'its second database header is damaged';
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Opens the embedded store in `dataDir`, creating the folder private to this user (0700, its files 0600).
 * One server at a time: another process (or another open in this one) with the folder's store open makes
 * this fail with StoreInUseError; a server that was killed leaves nothing that blocks the next start.
 * @throws DataFolderError when the folder cannot be made private.
 * @throws StoreInUseError when another hashcheck server is using the folder.
 * @throws UpstreamUnavailableError when the database cannot be opened (unreadable or not a database).
 */
export async function openEmbeddedStore(dataDir: string, options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const folder = await realpath(await preparePrivateFolder(dataDir));
  if (openInThisProcess.has(folder)) throw new StoreInUseError(folder, undefined);
  const databaseFile = join(folder, DATABASE_FILE);
  const ownerFile = join(folder, OWNER_FILE);
  openInThisProcess.add(folder);
  let root: RootDatabase | undefined;
  try {
    const damage = await whyNotADatabase(databaseFile);
    if (damage) {
      throw new UpstreamUnavailableError(
        `The known-bad list in ${databaseFile} could not be opened: ${damage}. Restore the data folder from a backup or move it aside.`,
      );
    }
    let opened: Databases;
    try {
      opened = openDatabases(databaseFile);
      root = opened.root;
    } catch (error) {
      throw new UpstreamUnavailableError(
        `The known-bad list in ${databaseFile} could not be opened (${(error as Error).message}); restore the data folder from a backup or move it aside.`,
        { cause: error },
      );
    }
    await makeFilesPrivate([databaseFile, `${databaseFile}-lock`]);
    const handles: Handles = {
      db: opened,
      reopen: () => openDatabases(databaseFile),
      releasing: undefined,
      versionWhileReleasing: 0,
      pagesSinceOpen: 0,
      idleRelease: undefined,
      writes: new WriteQueue(),
      listings: new Set(),
      closed: false,
    };
    const me = currentOwner();
    // Under the database's write lock, which every opener takes: two servers starting at once cannot both win.
    opened.root.transactionSync(() => claimOwnership(folder, ownerFile, me));
    const hashes = new LmdbHashStore(handles, options.readDeadlineMs ?? 10_000, options.now ?? Date.now);
    const scans = new LmdbScanStore(handles, options.now ?? Date.now);
    return {
      dataDir: folder,
      hashes,
      scans,
      listVersion: () =>
        handles.releasing && !handles.closed ? handles.versionWhileReleasing : readFrom(handles, () => Number(handles.db.meta.get(META.version) ?? 0)),
      async close() {
        if (handles.closed) return;
        handles.closed = true;
        clearTimeout(handles.idleRelease);
        try {
          await handles.writes.idle();
          for (const end of handles.listings) end();
          handles.listings.clear();
          await settled(handles);
          handles.db.root.transactionSync(() => releaseOwnership(ownerFile, me));
          await handles.db.root.close();
        } finally {
          openInThisProcess.delete(folder);
        }
      },
    };
  } catch (error) {
    openInThisProcess.delete(folder);
    await root?.close().catch(() => {});
    throw error;
  }
}
