/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeAdminHandler } from '../handlers/admin.js';
import { makeAdminHashStore } from '../adapters/admin-hash-store.js';
import { makeDynamoDbClient } from '../adapters/clients.js';
import { readConfig } from '../adapters/config.js';
import { makeLogger } from '../adapters/logger.js';

function defaultDeps() {
  const config = readConfig(['knownHashesTable']);
  return {
    // Imports write thousands of items per request: more writes in flight, and deadlines that end a
    // throttled request with a 503 the command line retries, before API Gateway's 29 s cut it off.
    store: makeAdminHashStore(makeDynamoDbClient({ endpoint: config.dynamoDbEndpoint }), config.knownHashesTable),
    now: () => new Date(),
    log: makeLogger(),
  };
}

export const handler = makeAdminHandler(defaultDeps());
