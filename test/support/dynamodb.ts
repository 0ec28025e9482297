import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { KNOWN_HASHES_KEY } from '../../lambdas/adapters/table-schemas.js';
import { ensureTable, startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb-local.js';

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
