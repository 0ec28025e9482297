/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeGatewayCompatHandler } from '../handlers/gateway-compat.js';
import { makeLogger } from '../adapters/logger.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    store: hashStoreFromEnv(),
    log: makeLogger(),
    now: () => new Date(),
  };
}

export const handler = makeGatewayCompatHandler(defaultDeps());
