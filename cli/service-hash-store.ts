import { chunk } from '../lambdas/core/chunk.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import { MAX_BULK_HASHES } from '../lambdas/core/limits.js';
import type { HashStore } from '../lambdas/core/lookup.js';
import type { KnownRecord } from '../lambdas/core/records.js';
import { toKnownRecord } from './answers.js';
import { askBatch, readBatchAnswer } from './bulk-lookup.js';
import { mapLimit } from './concurrency.js';
import type { ServiceClient } from './service-client.js';

/** Options of {@link ServiceHashStore}. */
export interface ServiceHashStoreOptions {
  /** Bulk requests in flight at once. */
  readonly concurrency: number;
  /** @default MAX_BULK_HASHES, the most one request may carry */
  readonly batchSize?: number;
  /** Told how many hashes each answered batch held, for progress. */
  readonly onAnswered?: (hashes: number) => void;
  /** Stops the lookups in flight. */
  readonly signal?: AbortSignal;
}

/**
 * The known-bad list as the service answers it: the same `HashStore` port the service's own core reads,
 * so the command line runs the core's verdict logic (`judgeFiles`) unchanged over
 * `POST /v1/hashes/lookup`.
 *
 * Like every store, it answers for every hash it is asked about or throws: a batch that fails, or an
 * answer that leaves any hash out, fails the whole call with a `ServiceError`, so no hash is ever taken
 * for `unknown` because its answer was missing.
 */
export class ServiceHashStore implements HashStore {
  private readonly batchSize: number;

  constructor(
    private readonly client: ServiceClient,
    private readonly options: ServiceHashStoreOptions,
  ) {
    this.batchSize = options.batchSize ?? MAX_BULK_HASHES;
    if (this.batchSize < 1 || this.batchSize > MAX_BULK_HASHES) {
      throw new RangeError(`batchSize must be from 1 to ${MAX_BULK_HASHES}, got ${this.batchSize}`);
    }
  }

  async getMany(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>> {
    const found = new Map<HashHex, KnownRecord>();
    await mapLimit(
      chunk(hashes, this.batchSize),
      this.options.concurrency,
      async (batch, _index, signal) => {
        for (const [hash, record] of await this.lookUpBatch(batch, signal)) found.set(hash, record);
        this.options.onAnswered?.(batch.length);
      },
      this.options.signal,
    );
    return found;
  }

  private async lookUpBatch(batch: readonly HashHex[], signal: AbortSignal): Promise<Map<HashHex, KnownRecord>> {
    const verdicts = readBatchAnswer(await askBatch(this.client, batch, signal));
    const found = new Map<HashHex, KnownRecord>();
    for (const [i, verdict] of verdicts.entries()) {
      if (verdict.match) found.set(batch[i]!, toKnownRecord(verdict.match, 'lookup'));
    }
    return found;
  }
}
