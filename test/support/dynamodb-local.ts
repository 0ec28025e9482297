import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { pollUntil } from './poll.js';

/** A running dynalite, the test double of DynamoDB for the adapter and handler tests: its HTTP API on loopback, with its data on disk (or in memory). */
export interface LocalDynamoDb {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite on a free loopback port. `dir` keeps the tables across restarts; omit it for memory. */
export async function startLocalDynamoDb(dir?: string, port = 0): Promise<LocalDynamoDb> {
  if (dir) await mkdir(dir, { recursive: true });
  const server = dynalite({ ...(dir ? { path: dir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Creates a table with a string partition key unless it exists, then polls until it is ACTIVE (dynalite
 * takes milliseconds; the SDK waiter would wait 20 s at least).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, partitionKey: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      }),
    );
  }
  await pollUntil(
    async () => ((await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus === 'ACTIVE' ? true : undefined),
    10_000,
    `table ${tableName} to become ACTIVE`,
  );
}
