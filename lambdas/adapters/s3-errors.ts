import { UpstreamUnavailableError } from '../core/errors.js';

/**
 * Runs one S3 call, turning its failure into the domain error that says what failed, keeping the SDK
 * error as the cause. Every S3 adapter goes through it, so a failure reads the same from any function.
 */
export async function translated<T>(failed: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new UpstreamUnavailableError(failed, { cause: error });
  }
}
