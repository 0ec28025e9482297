import { join } from 'node:path';
import type { LocalServer } from '../../local/server.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb-local.js';
import { startFaultyDynamoDb, type FaultyDynamoDb } from './faulty-dynamodb.js';

/** A running local server whose store now sits behind a fault-injecting proxy. */
export interface StoreBehindProxy {
  readonly proxy: FaultyDynamoDb;
  /** Stops the store itself (the proxy stays up and drops what it cannot forward). */
  stopStore(): Promise<void>;
  /** Starts the store again on its data and address, as an operator restoring it would. */
  restartStore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Puts a fault-injecting proxy between a running local server and its store. The handler modules read
 * the store's address once, at import; so the store is restarted on another port with the same data and
 * the proxy takes its old address, and the running service's own clients meet the faults unchanged.
 */
export async function putStoreBehindProxy(server: Pick<LocalServer, 'dynamoDb'>, dataDir: string): Promise<StoreBehindProxy> {
  const address = Number(new URL(server.dynamoDb.endpoint).port);
  const storeDir = join(dataDir, 'dynamodb');
  await server.dynamoDb.close();
  let store: LocalDynamoDb | undefined = await startLocalDynamoDb(storeDir);
  const storePort = Number(new URL(store.endpoint).port);
  const proxy = await startFaultyDynamoDb(store.endpoint, { port: address });
  return {
    proxy,
    stopStore: async () => {
      await store?.close();
      store = undefined;
    },
    restartStore: async () => {
      if (!store) store = await startLocalDynamoDb(storeDir, storePort);
    },
    close: async () => {
      await proxy.close();
      await store?.close().catch(() => undefined);
    },
  };
}
