import { join } from 'node:path';
import type { LocalServer } from '../../local/server.js';
import { startLocalDynamoDb } from '../../local/dynamodb-local.js';
import { startFaultyDynamoDb, type FaultyDynamoDb } from './faulty-dynamodb.js';

/** A running local server whose store now sits behind a fault-injecting proxy. */
export interface StoreBehindProxy {
  readonly proxy: FaultyDynamoDb;
  close(): Promise<void>;
}

/**
 * Puts a fault-injecting proxy between a running local server and its store. The handler modules read
 * the store's address once, at import; so the store is restarted on another port with the same data and
 * the proxy takes its old address, and the running service's own clients meet the faults unchanged.
 */
export async function putStoreBehindProxy(server: Pick<LocalServer, 'dynamoDb'>, dataDir: string): Promise<StoreBehindProxy> {
  const address = Number(new URL(server.dynamoDb.endpoint).port);
  await server.dynamoDb.close();
  const store = await startLocalDynamoDb(join(dataDir, 'dynamodb'));
  const proxy = await startFaultyDynamoDb(store.endpoint, { port: address });
  return {
    proxy,
    close: async () => {
      await proxy.close();
      await store.close().catch(() => undefined);
    },
  };
}
