/**
 * Runs `task` over `items` with at most `limit` tasks in flight and returns the results in input order.
 *
 * The first failure stops new tasks from starting and aborts the signal handed to the running ones; the
 * failure is thrown once they have all settled, so no request is left running behind the caller's back.
 * Failures of tasks that were aborted because of it are dropped: the first one is the cause.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (signal?.aborted) controller.abort(signal.reason);

  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !controller.signal.aborted && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index, controller.signal);
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
  if (failure) throw failure.error;
  signal?.throwIfAborted();
  return results;
}

