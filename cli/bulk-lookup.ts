import { ALGORITHM_BY_LENGTH, type HashHex } from '../lambdas/core/hashes.js';
import type { HashVerdict } from '../lambdas/core/lookup.js';
import { bulkAnswerSchema, readAnswer } from './answers.js';
import { ServiceError } from './errors.js';
import type { InvalidHashError } from '../lambdas/core/errors.js';
import type { ListEntry } from './hash-list.js';
import { parseBody, type ServiceClient } from './service-client.js';

/**
 * A piece of a hash list, looked up in one request: its entries in order and the distinct hashes among
 * them, each asked once. `slotOf[i]` is entry i's place in `distinct`, or -1 for an entry that is not a
 * hash, whose reason is in `invalid`.
 */
export interface ListWindow {
  readonly entries: ListEntry[];
  readonly distinct: HashHex[];
  readonly slotOf: Int32Array;
  readonly invalid: ReadonlyMap<number, InvalidHashError>;
}

/**
 * Cuts entries into windows of at most `batchSize` distinct hashes (one request each) and at most
 * `maxEntries` entries (a list of the same few hashes, or of lines that are not hashes, still comes in
 * pieces), in order, lazily: a list of a million lines is never held as a million checked entries.
 */
export function* listWindows(
  entries: Iterable<ListEntry>,
  check: (entry: ListEntry) => HashHex | InvalidHashError,
  batchSize: number,
  maxEntries = batchSize * 4,
): Generator<ListWindow, void, undefined> {
  let window = emptyWindow();
  let slots = new Map<HashHex, number>();
  let slotOf: number[] = [];
  const cut = (): ListWindow => {
    const done = { ...window, slotOf: Int32Array.from(slotOf) };
    window = emptyWindow();
    slots = new Map();
    slotOf = [];
    return done;
  };
  for (const entry of entries) {
    const checked = check(entry);
    let slot = -1;
    if (typeof checked === 'string') {
      const hash = checked;
      const known = slots.get(hash);
      if (known !== undefined) slot = known;
      else {
        if (window.distinct.length === batchSize) yield cut();
        slot = window.distinct.push(hash) - 1;
        slots.set(hash, slot);
      }
    } else window.invalid.set(window.entries.length, checked);
    window.entries.push(entry);
    slotOf.push(slot);
    if (window.entries.length >= maxEntries) yield cut();
  }
  if (window.entries.length > 0) yield cut();
}

function emptyWindow(): { entries: ListEntry[]; distinct: HashHex[]; invalid: Map<number, InvalidHashError> } {
  return { entries: [], distinct: [], invalid: new Map() };
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight and hands each result to `deliver` in the
 * order of `items`, one after another, as soon as those before it are delivered: results are written while
 * later items are still worked on, and no more than `concurrency` results wait at once. Items are taken
 * from the iterator only as they start.
 *
 * The first failure stops the rest (their signal is aborted) and is thrown once every running piece of
 * work has settled; nothing after it is delivered.
 */
export async function inOrder<T, R>(
  items: Iterator<T>,
  concurrency: number,
  work: (item: T, signal: AbortSignal) => Promise<R>,
  deliver: (item: T, result: R) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (signal?.aborted) controller.abort(signal.reason);

  let failure: { error: unknown } | undefined;
  const running: { item: T; result: Promise<R> }[] = [];
  let exhausted = false;
  const fill = () => {
    while (!exhausted && running.length < concurrency && failure === undefined) {
      const next = items.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const result = work(next.value, controller.signal);
      // The first failure is the cause: it stops the others, whose aborts are not reported.
      result.catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          controller.abort(error);
        }
      });
      running.push({ item: next.value, result });
    }
  };
  try {
    for (fill(); running.length > 0; fill()) {
      const { item, result } = running[0]!;
      let value: R;
      try {
        value = await result;
      } catch (error) {
        throw failure?.error ?? error;
      }
      running.shift();
      if (failure) throw failure.error;
      await deliver(item, value);
    }
    signal?.throwIfAborted();
  } finally {
    controller.abort();
    // Work still running ends before this returns, so no request is left behind the caller's back.
    await Promise.allSettled(running.map(({ result }) => result));
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** One answer of a bulk lookup as it came, read by {@link readBatchAnswer} when its turn to be written comes. */
export interface BatchAnswer {
  readonly batch: readonly HashHex[];
  readonly text: string;
  readonly url: URL;
}

/**
 * One request of a bulk lookup (`POST /v1/hashes/lookup?only=malicious`: the unknown results are left out
 * of the answer, most of a feed), its answer kept as text until it is read.
 */
export async function askBatch(client: ServiceClient, batch: readonly HashHex[], signal: AbortSignal): Promise<BatchAnswer> {
  const url = client.resolve(LOOKUP_PATH);
  url.searchParams.set('only', 'malicious');
  if (batch.length === 0) return { batch, text: '', url };
  const answer = await client.request({
    what: 'lookup',
    method: 'POST',
    target: url,
    json: { hashes: batch },
    expect: [200],
    signal,
    text: true,
  });
  return { batch, text: answer.body as string, url };
}

const LOOKUP_PATH = '/v1/hashes/lookup';

/**
 * The service's verdicts of one answered batch, in the order asked. The answer holds the results of the
 * known-bad hashes in the order asked (all results, from a service that does not leave out the unknown
 * ones), checked against the documented shape; a hash without a result is unknown only when the summary
 * counts exactly that many unknown and every result was matched to a hash asked.
 *
 * Fails closed: an answer that is not JSON, whose results cannot be matched to the hashes in order, whose
 * counts disagree with its results, that refuses a valid hash, or calls a hash malicious without its
 * record is a `ServiceError`, never a verdict.
 */
export function readBatchAnswer({ batch, text, url }: BatchAnswer): HashVerdict[] {
  if (batch.length === 0) return [];
  const body = parseBody(text, url, { what: 'lookup', method: 'POST' });
  const { results, summary } = readAnswer(bulkAnswerSchema, body, 'lookup');
  const verdicts: HashVerdict[] = new Array(batch.length);
  let next = 0;
  let malicious = 0;
  for (let i = 0; i < batch.length; i++) {
    const asked = batch[i]!;
    const result = results[next];
    if (result && 'error' in result) {
      throw new ServiceError(`lookup failed: the service refused ${result.input} (${result.error.code}), which is a valid hash`);
    }
    if (result === undefined || result.hash !== asked) {
      verdicts[i] = { hash: asked, algorithm: ALGORITHM_BY_LENGTH[asked.length]!, verdict: 'unknown', match: null };
      continue;
    }
    next += 1;
    if (result.verdict === 'malicious') {
      if (!result.match) throw new ServiceError(`lookup failed: the service called ${asked} malicious without the record it matched`);
      malicious += 1;
    } else if (result.match) {
      throw new ServiceError(`lookup failed: the service called ${asked} unknown yet sent a record it matched`);
    }
    verdicts[i] = result;
  }
  // Results come in request order; one left over answers a hash that was not asked, or not in its place.
  if (next < results.length) {
    const stray = results[next]!;
    throw new ServiceError(`lookup failed: the service answered for ${'hash' in stray ? stray.hash : stray.input}, which was not asked there`);
  }
  if (summary.total !== batch.length || summary.malicious !== malicious || summary.unknown !== batch.length - malicious || summary.invalid !== 0) {
    throw new ServiceError(
      `lookup failed: the service's counts (${summary.total} hashes, ${summary.malicious} malicious, ${summary.unknown} unknown, ${summary.invalid} invalid) ` +
        `disagree with its ${results.length} results for the ${batch.length} hashes sent; a partial answer counts as a failure`,
    );
  }
  return verdicts;
}
