import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { KNOWN_HASHES_KEY } from '../../lambdas/adapters/table-schemas.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { ensureTable, startLocalDynamoDb, type LocalDynamoDb } from './dynamodb-local.js';
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

/** A random lower-case hex digest of `bytes` bytes (16 for MD5, 20 for SHA-1, 32 for SHA-256). */
export const randomHex = (bytes: number) => randomBytes(bytes).toString('hex') as HashHex;

/** The three digests of a made-up file. */
export function randomDigests(): Pick<KnownRecord, 'sha256' | 'sha1' | 'md5'> {
  return { sha256: randomHex(32), sha1: randomHex(20), md5: randomHex(16) };
}

/** A valid known-bad record named `sample-<i>.dll`, with fresh random digests unless given some. */
export function makeRecord(i: number, digests: Partial<Pick<KnownRecord, 'sha256' | 'sha1' | 'md5'>> = randomDigests()): KnownRecord {
  return {
    ...digests,
    fileName: `sample-${i}.dll`,
    platform: 'windows',
    version: '1.0',
    kind: 'library',
    stage: 'test',
    campaign: 'adapter test',
    confidence: 'high',
    sources: [`source ${i}`, 'another source'],
    addedAt: '2023-03-30T00:00:00.000Z',
  };
}

/** What {@link useProxiedDynamoDb} gives each test: valid inside tests and `beforeEach` hooks declared after it. */
export interface ProxiedDynamoDbTest {
  readonly proxy: FaultyDynamoDb;
  /** A real SDK client that talks through the proxy. */
  readonly client: DynamoDBClient;
  /** A fresh, empty KnownHashes table for this test. */
  readonly tableName: string;
}

/**
 * The adapter tests' fixture: one emulator with a fault-injecting proxy for the file, and before each
 * test the proxy passing everything again, its counts cleared and a fresh KnownHashes table.
 */
export function useProxiedDynamoDb(): ProxiedDynamoDbTest {
  let fixture: ProxiedDynamoDb | undefined;
  let tableName: string | undefined;
  beforeAll(async () => {
    fixture = await startProxiedDynamoDb();
  });
  afterAll(() => fixture?.close());
  beforeEach(async () => {
    tableName = await fixture!.reset();
  });
  return {
    get proxy() {
      return fixture!.proxy;
    },
    get client() {
      return fixture!.client;
    },
    get tableName() {
      return tableName!;
    },
  };
}
