import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chunk } from '../core/chunk.js';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { HashAlgorithm, HashHex } from '../core/hashes.js';
import type { ListedRecords, RecordLister } from '../core/exports.js';
import { mergeSightings, type ContainerSighting, type ContainerSightings, type RecordsAndContainers, type Sighting } from '../core/derived.js';
import type { RecordStore } from '../core/import.js';
import { recordDigests, type KnownRecord } from '../core/records.js';
// The schema every record is written through (seed list, imports, the admin API) is the one it is read back with.
import { containerSightingSchema, describeIssues, recordInputSchema, revocationSchema } from '../core/schemas.js';
import * as z from 'zod/v4-mini';
import { KNOWN_HASHES_KEY } from './table-schemas.js';

type Item = Record<string, AttributeValue>;

/** BatchGetItem takes at most 100 keys per call, BatchWriteItem 25 items. */
const READ_BATCH = 100;
const WRITE_BATCH = 25;

export interface DynamoDbHashStoreOptions {
  readonly tableName: string;
  /** Batch calls in flight at once for one lookup (BatchGetItem). @default 4 */
  readonly concurrency?: number;
  /**
   * BatchWriteItem calls in flight at once for one write. An import writes far more items than a lookup
   * reads, and each call waits on the table's write capacity, so more of them in flight keep it busy.
   * @default `concurrency`
   */
  readonly writeConcurrency?: number;
  /**
   * Milliseconds a lookup may take in all: every GetItem and BatchGetItem call is aborted when they are
   * up, and retries of unprocessed keys stop before them. @default 3000
   */
  readonly readDeadlineMs?: number;
  /**
   * Milliseconds a write may take in all: unprocessed items are retried until then, and every BatchWriteItem
   * call still running when they are up is aborted, so a write never outlasts it by the SDK's own retries.
   * @default 60000
   */
  readonly writeDeadlineMs?: number;
  /** First backoff step in milliseconds; each retry doubles it, up to 1 s, with full jitter. @default 20 */
  readonly backoffBaseMs?: number;
  /** The clock and the pause, passed in so tests of the retry loop need not wait. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** The attributes an item holds besides its record's own fields. */
interface ItemAttributes {
  /** The digest the item is found by (the table's key). */
  readonly [KNOWN_HASHES_KEY]: HashHex;
  readonly algorithm: HashAlgorithm;
  /** The record's strongest digest: the one item of each record that listings and counts read. */
  readonly recordKey: HashHex;
  /** When the item was last written, for an export's Last-Modified. */
  readonly writtenAt?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
  readonly revokedReason?: string;
}

/** An item as `unmarshall` reads it: nothing about it is known until it is validated. */
type StoredItem = Partial<Record<keyof ItemAttributes, unknown>> & Record<string, unknown>;

/**
 * The key of the item listing the containers a digest was seen in. It holds a `:`, so it can never be a
 * digest's key; it has no `recordKey`, so listings and counts never take it for a record.
 */
function sightingsKey(hash: HashHex): string {
  return `${SIGHTINGS_KEY_PREFIX}${hash}`;
}

const SIGHTINGS_KEY_PREFIX = 'contained-in:';

/** Whether a table key is one of the items listing containers (not a record: no change to the list). */
export function isSightingsKey(key: string | undefined): boolean {
  return key !== undefined && key.startsWith(SIGHTINGS_KEY_PREFIX);
}

const sightingsSchema = z.array(containerSightingSchema);

/**
 * The containers of a sightings item (none when there is no item). An item not in that shape is a store that
 * could not be read: refused, as a record item would be, never answered as "seen in no container" or
 * overwritten by the next sighting.
 * @throws UpstreamUnavailableError naming the digest.
 */
function sightingsOf(hash: HashHex, stored: StoredItem | undefined): ContainerSighting[] {
  if (stored === undefined) return [];
  const parsed = sightingsSchema.safeParse(stored['containers']);
  if (!parsed.success) {
    throw new UpstreamUnavailableError(`The containers listed for ${hash} are not valid sightings; they were not used.`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Whether an item is the one of its record that listings and counts read (the strongest digest's). */
export function isRecordItem(stored: StoredItem): boolean {
  return stored[KNOWN_HASHES_KEY] === stored.recordKey;
}

/** One item per known digest; every item carries the whole record, so any digest finds it in one read. */
function toItems(record: KnownRecord, writtenAt: string): Item[] {
  const { revoked, ...fields } = record;
  const digests = recordDigests(record);
  return digests.map(({ hash, algorithm }) => {
    const attributes: ItemAttributes = {
      [KNOWN_HASHES_KEY]: hash,
      algorithm,
      recordKey: digests[0]!.hash,
      writtenAt,
      ...(revoked && { revokedAt: revoked.at, revokedBy: revoked.by, revokedReason: revoked.reason }),
    };
    return marshall({ ...fields, ...attributes }, { removeUndefinedValues: true });
  });
}

/**
 * Reads an item back into a record, validated against the record schema that every write went
 * through: an item that is not a valid record (an unknown kind, a field missing) is refused rather
 * than answered in a shape the caller did not write.
 * @throws UpstreamUnavailableError naming the item and what is wrong with it.
 */
export function fromItem(stored: StoredItem): KnownRecord {
  const {
    [KNOWN_HASHES_KEY]: hash,
    algorithm: _algorithm,
    recordKey: _recordKey,
    writtenAt: _writtenAt,
    revokedAt,
    revokedBy,
    revokedReason,
    ...fields
  } = stored;
  const record = recordInputSchema.safeParse(fields);
  // A revocation is stored as the three `revoked*` attributes, all set or none.
  const revocation = revokedAt === undefined ? undefined : revocationSchema.safeParse({ at: revokedAt, by: revokedBy, reason: revokedReason });
  if (!record.success || revocation?.success === false) {
    const error = record.error ?? revocation?.error;
    throw new UpstreamUnavailableError(
      `The known-bad list holds an item for ${String(hash)} that is not a valid record (${describeIssues(error ?? { issues: [] }, 'record')}); it was not used.`,
      { cause: error },
    );
  }
  return { ...record.data, ...(revocation?.data && { revoked: revocation.data }) };
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight; the first failure rejects the whole, and
 * the other workers take no new item after it, so a failed lookup stops calling a store in trouble.
 */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The KnownHashes table behind the `HashStore` port. Reads use GetItem for one hash and BatchGetItem in
 * chunks of 100 with bounded parallelism; unprocessed keys are retried with exponential backoff and full
 * jitter until a deadline. Every SDK failure and every retry that runs out becomes
 * `UpstreamUnavailableError`: the answer is complete or it is an error.
 */
export class DynamoDbHashStore implements RecordStore, RecordLister, ContainerSightings {
  private readonly tableName: string;
  private readonly concurrency: number;
  private readonly writeConcurrency: number;
  private readonly readDeadlineMs: number;
  private readonly writeDeadlineMs: number;
  private readonly backoffBaseMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbHashStoreOptions,
  ) {
    this.tableName = options.tableName;
    this.concurrency = options.concurrency ?? 4;
    this.writeConcurrency = options.writeConcurrency ?? this.concurrency;
    this.readDeadlineMs = options.readDeadlineMs ?? 3000;
    this.writeDeadlineMs = options.writeDeadlineMs ?? 60_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 20;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** The known-bad records among `hashes`; revoked records no longer match. */
  async getMany(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>> {
    const stored = await this.getStored(hashes);
    return new Map([...stored].filter(([, record]) => !record.revoked));
  }

  async getStored(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>> {
    const found = new Map<HashHex, KnownRecord>();
    for (const [hash, stored] of await this.readItems(hashes)) found.set(hash as HashHex, fromItem(stored));
    return found;
  }

  /**
   * The records of `hashes` (revoked ones left out) and the containers each was seen in, read in one
   * batched pass over both kinds of item.
   */
  /**
   * The records, then the containers of the hashes on the list only: a lookup answers a hash off the list
   * alone, so most hashes of a feed cost one read, and a known-bad one a second.
   */
  async getManyWithContainers(hashes: readonly HashHex[]): Promise<RecordsAndContainers> {
    const items = await this.readItems(hashes);
    const records = new Map<HashHex, KnownRecord>();
    for (const hash of hashes) {
      const item = items.get(hash);
      if (item) {
        const record = fromItem(item);
        if (!record.revoked) records.set(hash, record);
      }
    }
    const containedIn = new Map<HashHex, readonly ContainerSighting[]>();
    if (records.size === 0) return { records, containedIn };
    const listed = await this.readItems([...records.keys()].map(sightingsKey));
    for (const hash of records.keys()) {
      const containers = sightingsOf(hash, listed.get(sightingsKey(hash)));
      if (containers.length > 0) containedIn.set(hash, containers);
    }
    return { records, containedIn };
  }

  /**
   * Adds containers to the lists of their member digests: each list is read, merged (newest first,
   * bounded, a container already listed left as it is) and written back only when it changed. Two scans
   * adding to one list at the same moment may lose one sighting; the records themselves are unaffected.
   */
  async addSightings(sightings: readonly Sighting[]): Promise<void> {
    const byMember = new Map<HashHex, ContainerSighting[]>();
    for (const { member, container } of sightings) (byMember.get(member) ?? byMember.set(member, []).get(member)!).push(container);
    const listed = await this.readItems([...byMember.keys()].map(sightingsKey));
    const requests: WriteRequest[] = [];
    for (const [member, added] of byMember) {
      const merged = mergeSightings(sightingsOf(member, listed.get(sightingsKey(member))), added);
      if (merged) requests.push({ PutRequest: { Item: marshall({ [KNOWN_HASHES_KEY]: sightingsKey(member), containers: merged }, { removeUndefinedValues: true }) } });
    }
    await this.writeAll(requests);
  }

  /** The items under `keys`, by key; keys with no item are absent. */
  private async readItems(hashes: readonly string[]): Promise<ReadonlyMap<string, StoredItem>> {
    const found = new Map<string, StoredItem>();
    if (hashes.length === 0) return found;
    const deadline = this.now() + this.readDeadlineMs;
    if (hashes.length === 1) {
      const item = await this.callBy('read', deadline, (abortSignal) =>
        this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ [KNOWN_HASHES_KEY]: hashes[0]! }) }), {
          abortSignal,
        }),
      );
      if (item.Item) found.set(hashes[0]!, unmarshall(item.Item));
      return found;
    }
    await forEachLimited(chunk(hashes, READ_BATCH), this.concurrency, async (keys) => {
      let pending: KeysAndAttributes | undefined = { Keys: keys.map((hash) => marshall({ [KNOWN_HASHES_KEY]: hash })) };
      for (let attempt = 0; pending?.Keys?.length; attempt++) {
        if (attempt > 0) await this.backoff('read', attempt, deadline, `${pending.Keys.length} keys stayed unprocessed`);
        const request: KeysAndAttributes = pending;
        const output = await this.callBy('read', deadline, (abortSignal) =>
          this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }), { abortSignal }),
        );
        for (const item of output.Responses?.[this.tableName] ?? []) {
          const stored: StoredItem = unmarshall(item);
          const hash = keys.find((asked) => asked === stored[KNOWN_HASHES_KEY]);
          if (hash === undefined) throw new UpstreamUnavailableError('The known-bad list answered for a hash that was not asked; the answer was not used.');
          found.set(hash, stored);
        }
        pending = output.UnprocessedKeys?.[this.tableName];
      }
    });
    return found;
  }

  async putRecords(records: readonly KnownRecord[]): Promise<void> {
    // Every item says when it was last written, so exports can tell when the list last changed (Last-Modified).
    const writtenAt = new Date(this.now()).toISOString();
    await this.writeAll(records.flatMap((r) => toItems(r, writtenAt).map((Item) => ({ PutRequest: { Item } }))));
  }

  /** Writes every request in batches of 25, retrying unprocessed items until the write deadline. */
  private async writeAll(requests: readonly WriteRequest[]): Promise<void> {
    const deadline = this.now() + this.writeDeadlineMs;
    await forEachLimited(chunk(requests, WRITE_BATCH), this.writeConcurrency, async (batch) => {
      let pending: WriteRequest[] | undefined = batch;
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt > 0) await this.backoff('write', attempt, deadline, `${pending.length} writes stayed unprocessed`);
        const request: WriteRequest[] = pending;
        const output = await this.callBy('write', deadline, (abortSignal) =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: request } }), { abortSignal }),
        );
        pending = output.UnprocessedItems?.[this.tableName];
      }
    });
  }

  /** The number of distinct known-bad records (not of digests; revoked ones left out), read by a paginated scan. */
  async countRecords(): Promise<number> {
    let count = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.call('read', () =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            ProjectionExpression: '#h, recordKey, revokedAt',
            ExpressionAttributeNames: { '#h': KNOWN_HASHES_KEY },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      count += (page.Items ?? []).map((item): StoredItem => unmarshall(item)).filter((stored) => isRecordItem(stored) && !stored.revokedAt).length;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /**
   * Every record on the list once (from the item of its strongest digest), revoked ones left out, read by
   * a paginated, strongly consistent scan, with the time of the latest write to any item (revocations
   * included). Items written before writes were stamped count with their `addedAt` and revocation time.
   */
  async listRecords(): Promise<ListedRecords> {
    const records: KnownRecord[] = [];
    let latest = Number.NEGATIVE_INFINITY;
    let startKey: Item | undefined;
    do {
      const page = await this.call('read', () =>
        this.client.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: startKey })),
      );
      for (const item of page.Items ?? []) {
        const stored: StoredItem = unmarshall(item);
        for (const stamp of [stored.writtenAt, stored.revokedAt, stored['addedAt']]) {
          const time = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
          if (time > latest) latest = time;
        }
        if (isRecordItem(stored) && !stored.revokedAt) records.push(fromItem(stored));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { records, updatedAt: Number.isFinite(latest) ? new Date(latest).toISOString() : undefined };
  }

  private async backoff(kind: 'read' | 'write', attempt: number, deadline: number, what: string): Promise<void> {
    const cap = Math.min(1000, this.backoffBaseMs * 2 ** (attempt - 1));
    const delay = Math.floor(this.random() * cap);
    if (this.now() + delay >= deadline) {
      throw new UpstreamUnavailableError(`The known-bad list could not be ${kind === 'read' ? 'read' : 'written'} in time: ${what} after ${attempt} attempts.`);
    }
    await this.sleep(delay);
  }

  /**
   * One call that must be answered by `deadline`. The SDK client alone would allow each call its request
   * timeout once per attempt, stacked up; here the call is aborted when the lookup's (or the write's) time
   * is up, and the caller answers then whatever the SDK is still doing (waiting between retries included).
   */
  private async callBy<T>(kind: 'read' | 'write', deadline: number, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const remaining = deadline - this.now();
    if (remaining <= 0) throw this.lateError(kind);
    const signal = AbortSignal.timeout(remaining);
    let onAbort = () => {};
    const timedOut = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(this.lateError(kind));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([
        this.call(kind, () => send(signal)).catch((error: unknown) => {
          throw signal.aborted ? this.lateError(kind, error) : error;
        }),
        timedOut,
      ]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private lateError(kind: 'read' | 'write', cause?: unknown): UpstreamUnavailableError {
    const message =
      kind === 'read'
        ? `The known-bad list did not answer within ${this.readDeadlineMs} ms; try again shortly.`
        : `The known-bad list could not be written within ${this.writeDeadlineMs} ms; some records may be in, and writing the same ones again is safe.`;
    return new UpstreamUnavailableError(message, cause === undefined ? undefined : { cause });
  }

  /** Translates every SDK failure into the domain error, keeping the cause for the log. */
  private async call<T>(kind: 'read' | 'write', send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) throw error;
      throw new UpstreamUnavailableError(
        kind === 'read' ? 'The known-bad list could not be read; try again shortly.' : 'The known-bad list could not be written.',
        { cause: error },
      );
    }
  }
}
