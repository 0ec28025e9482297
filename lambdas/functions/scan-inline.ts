/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeScanInlineHandler } from '../handlers/scan-inline.js';
import { readInsideLimits } from '../adapters/config.js';
import { makeLogger } from '../adapters/logger.js';
import { SevenZipLookInside } from '../adapters/sevenzip-inside.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    store: hashStoreFromEnv(),
    log: makeLogger(),
    inside: new SevenZipLookInside(readInsideLimits()),
  };
}

export const handler = makeScanInlineHandler(defaultDeps());
