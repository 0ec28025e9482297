/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeScanObjectHandler } from '../handlers/scan-object.js';
import { readInsideLimits } from '../adapters/config.js';
import { makeLogger } from '../adapters/logger.js';
import { SevenZipLookInside } from '../adapters/sevenzip-inside.js';
import { hashStoreFromEnv, objectReaderFromEnv, scanStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    store: hashStoreFromEnv(),
    scans: scanStoreFromEnv(),
    objects: objectReaderFromEnv(),
    now: () => new Date(),
    log: makeLogger(),
    inside: new SevenZipLookInside(readInsideLimits()),
  };
}

export const handler = makeScanObjectHandler(defaultDeps());
