import { chunk } from '../lambdas/core/chunk.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import { MAX_BULK_HASHES } from '../lambdas/core/limits.js';
import type { HashStore } from '../lambdas/core/lookup.js';
import type { KnownRecord } from '../lambdas/core/records.js';
import { bulkAnswerSchema, readAnswer, toKnownRecord } from './answers.js';
import { mapLimit } from './concurrency.js';
import { ServiceError } from './errors.js';
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
 * so the command line runs the core's verdict logic (`lookupHashList`, `judgeFiles`) unchanged over
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
    const answer = await this.client.request({
      what: 'lookup',
      method: 'POST',
      target: '/v1/hashes/lookup',
      json: { hashes: batch },
      expect: [200],
      signal,
    });
    const { results } = readAnswer(bulkAnswerSchema, answer.body, 'lookup');
    if (results.length !== batch.length) {
      throw new ServiceError(
        `lookup failed: the service answered ${results.length} of the ${batch.length} hashes sent; a partial answer counts as a failure`,
      );
    }
    const found = new Map<HashHex, KnownRecord>();
    for (const [i, result] of results.entries()) {
      const asked = batch[i]!;
      // Results come in request order; anything else means the answers cannot be matched to the hashes.
      if ('error' in result) {
        throw new ServiceError(`lookup failed: the service refused ${asked} (${result.error.code}), which is a valid hash`);
      }
      if (result.hash !== asked) {
        throw new ServiceError(`lookup failed: the service answered for ${result.hash} where ${asked} was asked`);
      }
      if (result.verdict === 'malicious') {
        if (!result.match) throw new ServiceError(`lookup failed: the service called ${asked} malicious without the record it matched`);
        found.set(asked, toKnownRecord(result.match, 'lookup'));
      }
    }
    return found;
  }
}
