/**
 * Polls `probe` until it returns a value (anything but `undefined`), pausing between tries from 5 ms
 * doubling up to 100 ms, and fails naming `what` once `timeoutMs` have passed. The one way the local
 * emulators, the tests and the benchmarks wait for something: never a fixed sleep.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
