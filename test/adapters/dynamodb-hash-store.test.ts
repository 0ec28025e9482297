import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import type { FaultyDynamoDb } from '../support/faulty-dynamodb.js';
import { startProxiedDynamoDb, startTestDynamoDb, type ProxiedDynamoDb } from '../support/dynamodb.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex') as HashHex;

function makeRecord(i: number): KnownRecord {
  return {
    sha256: hex(32),
    sha1: hex(20),
    md5: hex(16),
    fileName: `sample-${i}.dll`,
    platform: 'windows',
    version: '1.0',
    kind: 'library',
    stage: 'test',
    campaign: 'adapter test',
    confidence: 'high',
    sources: [`source ${i}`, 'another source'],
  };
}

let fixture: ProxiedDynamoDb;
let proxy: FaultyDynamoDb;
let client: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  fixture = await startProxiedDynamoDb();
  ({ proxy, client } = fixture);
});

afterAll(() => fixture.close());

beforeEach(async () => {
  tableName = await fixture.reset();
});

describe('DynamoDbHashStore', () => {
  it('finds a record by each of its digests with the whole record', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    const record = makeRecord(1);
    await store.putRecords([record]);
    for (const digest of [record.sha256!, record.sha1!, record.md5!]) {
      const found = await store.getMany([digest]);
      expect(found.get(digest)).toEqual(record);
    }
  });

  it('reads 250 hashes in batches of at most 100 keys', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    const records = Array.from({ length: 120 }, (_, i) => makeRecord(i));
    await store.putRecords(records);
    const asked = [...records.map((r) => r.md5!), ...Array.from({ length: 130 }, () => hex(32))];
    proxy.calls.clear();
    const found = await store.getMany(asked);
    expect(found.size).toBe(120);
    expect(found.get(records[77]!.md5!)?.fileName).toBe('sample-77.dll');
    expect(proxy.calls.get('BatchGetItem')).toBe(3);
  });

  it('retries unprocessed keys until they are answered', async () => {
    const record = makeRecord(2);
    await new DynamoDbHashStore(client, { tableName }).putRecords([record]);
    const store = new DynamoDbHashStore(client, {
      tableName,
      // DynamoDB recovers while the store backs off.
      sleep: async () => {
        if ((proxy.calls.get('BatchGetItem') ?? 0) >= 2) proxy.mode = 'pass';
      },
    });
    proxy.mode = 'unprocessed';
    const found = await store.getMany([record.md5!, hex(20)]);
    expect(found.get(record.md5!)?.fileName).toBe('sample-2.dll');
    expect(proxy.calls.get('BatchGetItem')).toBe(3);
  });

  it('fails with UpstreamUnavailableError when unprocessed keys never resolve before the deadline', async () => {
    const store = new DynamoDbHashStore(client, { tableName, readDeadlineMs: 300 });
    proxy.mode = 'unprocessed';
    await expect(store.getMany([hex(16), hex(16)])).rejects.toThrow(UpstreamUnavailableError);
    expect(proxy.calls.get('BatchGetItem')).toBeGreaterThan(1);
  });

  it('translates throttling into UpstreamUnavailableError and keeps the cause', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    proxy.mode = 'throttle';
    const error = await store.getMany([hex(32)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  it('fails with UpstreamUnavailableError when the store does not answer at all', async () => {
    const stopped = await startTestDynamoDb();
    const endpoint = stopped.dynamoDb.endpoint;
    await stopped.close();
    const deadClient = makeDynamoDbClient({ endpoint });
    const store = new DynamoDbHashStore(deadClient, { tableName });
    await expect(store.getMany([hex(32), hex(20)])).rejects.toThrow(UpstreamUnavailableError);
    deadClient.destroy();
  });

  it('retries unprocessed writes, and fails rather than drop them past the deadline', async () => {
    const record = makeRecord(3);
    const store = new DynamoDbHashStore(client, {
      tableName,
      sleep: async () => {
        proxy.mode = 'pass';
      },
    });
    proxy.mode = 'unprocessed';
    await store.putRecords([record]);
    expect((await store.getMany([record.sha1!])).size).toBe(1);

    const impatient = new DynamoDbHashStore(client, { tableName, writeDeadlineMs: 200 });
    proxy.mode = 'unprocessed';
    await expect(impatient.putRecords([makeRecord(4)])).rejects.toThrow(UpstreamUnavailableError);
  });

  it('counts records, not the digests stored for them', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    await store.putRecords([makeRecord(5), makeRecord(6), { ...makeRecord(7), sha256: undefined, sha1: undefined }]);
    expect(await store.countRecords()).toBe(3);
  });
});
