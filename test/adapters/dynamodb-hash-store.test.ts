import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { KNOWN_HASHES_KEY } from '../../lambdas/adapters/table-schemas.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { makeRecord, randomHex as hex, startTestDynamoDb, useProxiedDynamoDb } from '../support/dynamodb.js';

const dynamo = useProxiedDynamoDb();

describe('DynamoDbHashStore', () => {
  it('finds a record by each of its digests with the whole record', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const record = makeRecord(1);
    await store.putRecords([record]);
    for (const digest of [record.sha256!, record.sha1!, record.md5!]) {
      const found = await store.getMany([digest]);
      expect(found.get(digest)).toEqual(record);
    }
  });

  it('reads 250 hashes in batches of at most 100 keys', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const records = Array.from({ length: 120 }, (_, i) => makeRecord(i));
    await store.putRecords(records);
    const asked = [...records.map((r) => r.md5!), ...Array.from({ length: 130 }, () => hex(32))];
    dynamo.proxy.calls.clear();
    const found = await store.getMany(asked);
    expect(found.size).toBe(120);
    expect(found.get(records[77]!.md5!)?.fileName).toBe('sample-77.dll');
    expect(dynamo.proxy.calls.get('BatchGetItem')).toBe(3);
  });

  it('retries unprocessed keys until they are answered', async () => {
    const record = makeRecord(2);
    await new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName }).putRecords([record]);
    const store = new DynamoDbHashStore(dynamo.client, {
      tableName: dynamo.tableName,
      // DynamoDB recovers while the store backs off.
      sleep: async () => {
        if ((dynamo.proxy.calls.get('BatchGetItem') ?? 0) >= 2) dynamo.proxy.mode = 'pass';
      },
    });
    dynamo.proxy.mode = 'unprocessed';
    const found = await store.getMany([record.md5!, hex(20)]);
    expect(found.get(record.md5!)?.fileName).toBe('sample-2.dll');
    expect(dynamo.proxy.calls.get('BatchGetItem')).toBe(3);
  });

  it('fails with UpstreamUnavailableError when unprocessed keys never resolve before the deadline', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, readDeadlineMs: 300 });
    dynamo.proxy.mode = 'unprocessed';
    await expect(store.getMany([hex(16), hex(16)])).rejects.toThrow(UpstreamUnavailableError);
    expect(dynamo.proxy.calls.get('BatchGetItem')).toBeGreaterThan(1);
  });

  it('translates throttling into UpstreamUnavailableError and keeps the cause', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    dynamo.proxy.mode = 'throttle';
    const error = await store.getMany([hex(32)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  it('fails with UpstreamUnavailableError when the store does not answer at all', async () => {
    const stopped = await startTestDynamoDb();
    const endpoint = stopped.dynamoDb.endpoint;
    await stopped.close();
    const deadClient = makeDynamoDbClient({ endpoint });
    const store = new DynamoDbHashStore(deadClient, { tableName: dynamo.tableName });
    await expect(store.getMany([hex(32), hex(20)])).rejects.toThrow(UpstreamUnavailableError);
    deadClient.destroy();
  });

  it('retries unprocessed writes, and fails rather than drop them past the deadline', async () => {
    const record = makeRecord(3);
    const store = new DynamoDbHashStore(dynamo.client, {
      tableName: dynamo.tableName,
      sleep: async () => {
        dynamo.proxy.mode = 'pass';
      },
    });
    dynamo.proxy.mode = 'unprocessed';
    await store.putRecords([record]);
    expect((await store.getMany([record.sha1!])).size).toBe(1);

    const impatient = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, writeDeadlineMs: 200 });
    dynamo.proxy.mode = 'unprocessed';
    await expect(impatient.putRecords([makeRecord(4)])).rejects.toThrow(UpstreamUnavailableError);
  });

  it.each([
    ['a kind that is not a record kind', { kind: { S: 'worm' } }],
    ['no kind', { kind: undefined }],
    ['no sources', { sources: undefined }],
  ])('refuses an item with %s with UpstreamUnavailableError naming it, instead of answering a record nobody wrote', async (_what, change) => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const record = makeRecord(8);
    await store.putRecords([record]);
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { [KNOWN_HASHES_KEY]: { S: record.md5! } } }));
    const changed: Record<string, AttributeValue> = { ...Item };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete changed[name];
      else changed[name] = value;
    }
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tableName, Item: changed }));

    for (const asked of [[record.md5!], [record.md5!, hex(20)]]) {
      const error = await store.getMany(asked).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toContain(`item for ${record.md5} that is not a valid record`);
    }
    expect((await store.getMany([record.sha256!])).get(record.sha256!)).toEqual(record);
  });

  it('refuses a damaged list of containers with UpstreamUnavailableError, neither answering nor overwriting it as empty', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const record = makeRecord(9);
    await store.putRecords([record]);
    const damaged = { [KNOWN_HASHES_KEY]: { S: `contained-in:${record.sha256}` }, containers: { S: 'not a list of sightings' } };
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tableName, Item: damaged }));

    const error = await store.getManyWithContainers([record.sha256!]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain(`containers listed for ${record.sha256}`);
    const sighting = { sha256: hex(64), md5: hex(32), sha1: hex(40), fileName: 'setup.zip', path: ['bin/a.dll'], at: '2026-12-02T00:00:00.000Z', scan: 'request test' };
    await expect(store.addSightings([{ member: record.sha256!, container: sighting } as never])).rejects.toBeInstanceOf(UpstreamUnavailableError);
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { [KNOWN_HASHES_KEY]: { S: `contained-in:${record.sha256}` } } }));
    expect(Item?.['containers']).toEqual({ S: 'not a list of sightings' });
  });

  it('says the list could not be written when a write fails', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, writeDeadlineMs: 200 });
    dynamo.proxy.mode = 'unprocessed';
    await expect(store.putRecords([makeRecord(9)])).rejects.toThrow(/could not be written in time/);
    dynamo.proxy.mode = 'throttle';
    // With the default deadline, which the SDK's own retries of the throttled call end well before.
    const patient = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const error = await patient.putRecords([makeRecord(10)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe('The known-bad list could not be written.');
    expect((error as Error).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  it('counts records, not the digests stored for them', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    await store.putRecords([makeRecord(5), makeRecord(6), { ...makeRecord(7), sha256: undefined, sha1: undefined }]);
    expect(await store.countRecords()).toBe(3);
  });
});
