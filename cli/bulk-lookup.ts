import { chunk } from '../lambdas/core/chunk.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import { MAX_BULK_HASHES } from '../lambdas/core/limits.js';
import type { HashVerdict } from '../lambdas/core/lookup.js';
import { bulkAnswerSchema, readAnswer } from './answers.js';
import { ServiceError } from './errors.js';
import type { ServiceClient } from './service-client.js';

/** Options of {@link lookUpInOrder}. */
export interface OrderedLookupOptions {
  /** Bulk requests in flight at once. */
  readonly concurrency: number;
  /** @default MAX_BULK_HASHES, the most one request may carry */
  readonly batchSize?: number;
  /** Stops the lookups in flight. */
  readonly signal?: AbortSignal;
}

/**
 * Looks `hashes` up through `POST /v1/hashes/lookup` in batches, `concurrency` of them in flight, and hands
 * each batch's verdicts to `deliver` in the order of `hashes`, one batch after another, as soon as the
 * batches before it are delivered: the caller writes results while later batches are still asked, and
 * never holds more than `concurrency` batches' answers. The service's own verdicts are used as they come,
 * checked against the documented shape first.
 *
 * Fails closed: a batch that fails (after the client's retries), or an answer that leaves out a hash,
 * answers for another one or refuses a valid one, fails the whole call with a `ServiceError` and stops
 * the other requests; no verdict of a later batch is delivered after it.
 */
export async function lookUpInOrder(
  client: ServiceClient,
  hashes: readonly HashHex[],
  options: OrderedLookupOptions,
  deliver: (verdicts: HashVerdict[], first: number) => Promise<void> | void,
): Promise<void> {
  const batchSize = options.batchSize ?? MAX_BULK_HASHES;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BULK_HASHES) {
    throw new RangeError(`batchSize must be from 1 to ${MAX_BULK_HASHES}, got ${batchSize}`);
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const batches = chunk(hashes, batchSize);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) controller.abort(options.signal.reason);

  let failure: { error: unknown } | undefined;
  const inFlight = new Map<number, Promise<HashVerdict[]>>();
  const start = (index: number) => {
    const answer = lookUpBatch(client, batches[index]!, controller.signal);
    // The first failure is the cause: it stops the others, whose aborts are not reported.
    answer.catch((error: unknown) => {
      if (failure === undefined) {
        failure = { error };
        controller.abort(error);
      }
    });
    inFlight.set(index, answer);
  };
  try {
    let next = 0;
    for (let index = 0; index < batches.length; index++) {
      while (next < batches.length && next < index + options.concurrency && failure === undefined) start(next++);
      let verdicts: HashVerdict[];
      try {
        verdicts = await inFlight.get(index)!;
      } catch (error) {
        throw failure?.error ?? error;
      }
      inFlight.delete(index);
      if (failure) throw failure.error;
      await deliver(verdicts, index * batchSize);
    }
  } finally {
    controller.abort();
    // Requests still running end before this returns, so none is left behind the caller's back.
    await Promise.allSettled(inFlight.values());
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** One batch: the verdicts in the order asked, each checked to answer the hash it stands for. */
async function lookUpBatch(client: ServiceClient, batch: readonly HashHex[], signal: AbortSignal): Promise<HashVerdict[]> {
  const answer = await client.request({
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
  const verdicts: HashVerdict[] = new Array(results.length);
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    const asked = batch[i]!;
    // Results come in request order; anything else means the answers cannot be matched to the hashes.
    if ('error' in result) {
      throw new ServiceError(`lookup failed: the service refused ${asked} (${result.error.code}), which is a valid hash`);
    }
    if (result.hash !== asked) {
      throw new ServiceError(`lookup failed: the service answered for ${result.hash} where ${asked} was asked`);
    }
    if (result.verdict === 'malicious' && !result.match) {
      throw new ServiceError(`lookup failed: the service called ${asked} malicious without the record it matched`);
    }
    if (result.verdict === 'unknown' && result.match) {
      throw new ServiceError(`lookup failed: the service called ${asked} unknown yet sent a record it matched`);
    }
    verdicts[i] = result;
  }
  return verdicts;
}
