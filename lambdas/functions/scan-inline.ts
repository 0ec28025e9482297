/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeScanInlineHandler } from '../handlers/scan-inline.js';
import { readInsideLimits, readRememberContainers } from '../adapters/config.js';
import { makeLogger } from '../adapters/logger.js';
import { SevenZipLookInside } from '../adapters/sevenzip-inside.js';
import { answerStoreFromEnv } from '../adapters/s3-answer-store.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  const store = hashStoreFromEnv();
  return {
    store,
    log: makeLogger(),
    inside: new SevenZipLookInside(readInsideLimits()),
    // Containers found bad through a member are written back to KnownHashes, as derived records.
    remember: readRememberContainers() ? { store, now: () => new Date() } : undefined,
  };
}

export const handler = makeScanInlineHandler(defaultDeps());
