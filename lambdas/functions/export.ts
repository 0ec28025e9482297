/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeExportHandler } from '../handlers/export.js';
import { makeLogger } from '../adapters/logger.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    lister: hashStoreFromEnv(),
    log: makeLogger(),
  };
}

export const handler = makeExportHandler(defaultDeps());
