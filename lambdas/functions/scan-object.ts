/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeScanObjectHandler } from '../handlers/scan-object.js';
import { readInsideLimits, readRememberContainers } from '../adapters/config.js';
import { makeLogger } from '../adapters/logger.js';
import { SevenZipLookInside } from '../adapters/sevenzip-inside.js';
import { hashStoreFromEnv, objectReaderFromEnv, scanStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  const store = hashStoreFromEnv();
  const now = () => new Date();
  return {
    store,
    scans: scanStoreFromEnv(),
    objects: objectReaderFromEnv(),
    now,
    log: makeLogger(),
    inside: new SevenZipLookInside(readInsideLimits()),
    // Containers found bad through a member are written back to KnownHashes, as derived records.
    remember: readRememberContainers() ? { store, now } : undefined,
  };
}

export const handler = makeScanObjectHandler(defaultDeps());
