/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeAdminHandler } from '../handlers/admin.js';
import { makeLogger } from '../adapters/logger.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    store: hashStoreFromEnv(),
    now: () => new Date(),
    log: makeLogger(),
  };
}

export const handler = makeAdminHandler(defaultDeps());
