import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { KNOWN_HASHES_KEY } from '../../lambdas/adapters/table-schemas.js';
import { ensureTable, startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb-local.js';
import { startFaultyDynamoDb, type FaultyDynamoDb } from './faulty-dynamodb.js';

let tableCounter = 0;

/** A fresh KnownHashes table on a running emulator, so tests in one file never see each other's data. */
export async function createKnownHashesTable(client: DynamoDBClient): Promise<string> {
  const name = `KnownHashes-${process.pid}-${++tableCounter}`;
  await ensureTable(client, name, KNOWN_HASHES_KEY);
  return name;
}

/** An in-memory dynalite and a real SDK client talking to it over HTTP. */
export async function startTestDynamoDb(): Promise<{ dynamoDb: LocalDynamoDb; client: DynamoDBClient; close(): Promise<void> }> {
  const dynamoDb = await startLocalDynamoDb();
  const client = makeDynamoDbClient({ endpoint: dynamoDb.endpoint });
  return {
    dynamoDb,
    client,
    close: async () => {
      client.destroy();
      await dynamoDb.close();
    },
  };
}

/** An emulator, a fault-injecting proxy in front of it, and a real SDK client that talks through the proxy. */
export interface ProxiedDynamoDb {
  emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
  proxy: FaultyDynamoDb;
  client: DynamoDBClient;
  /** Puts the proxy back to passing everything, forgets its counts, and makes a fresh KnownHashes table. */
  reset(): Promise<string>;
  close(): Promise<void>;
}

export async function startProxiedDynamoDb(): Promise<ProxiedDynamoDb> {
  const emulator = await startTestDynamoDb();
  const proxy = await startFaultyDynamoDb(emulator.dynamoDb.endpoint);
  const client = makeDynamoDbClient({ endpoint: proxy.endpoint });
  return {
    emulator,
    proxy,
    client,
    reset: async () => {
      proxy.mode = 'pass';
      proxy.onRequest = undefined;
      proxy.calls.clear();
      return createKnownHashesTable(emulator.client);
    },
    close: async () => {
      client.destroy();
      await proxy.close();
      await emulator.close();
    },
  };
}
