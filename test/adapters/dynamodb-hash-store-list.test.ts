import { describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { makeRecord, randomHex as hex, useProxiedDynamoDb } from '../support/dynamodb.js';

const dynamo = useProxiedDynamoDb();

describe('DynamoDbHashStore.listRecords', () => {
  it('returns every record once, whatever digests it has, across scan pages', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    // Items carry their whole record, so about 300 of them span more than one 1 MB scan page only with padding.
    const padded = (r: KnownRecord): KnownRecord => ({ ...r, sources: [...r.sources, 'p'.repeat(1500), 'q'.repeat(1500)] });
    const records = [
      ...Array.from({ length: 300 }, (_, i) => padded(makeRecord(i))),
      makeRecord(1000, { sha1: hex(20) }),
      makeRecord(1001, { md5: hex(16) }),
    ];
    await store.putRecords(records);
    dynamo.proxy.calls.clear();
    const listed = await store.listRecords();
    expect(dynamo.proxy.calls.get('Scan')).toBeGreaterThan(1);
    expect(listed.records).toHaveLength(records.length);
    const key = (r: KnownRecord) => r.sha256 ?? r.sha1 ?? r.md5;
    expect(new Set(listed.records.map(key))).toEqual(new Set(records.map(key)));
    expect(listed.records.find((r) => r.fileName === 'sample-1001.dll')).toEqual(records.at(-1));
  });

  it('keeps the size of a record', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const sized = { ...makeRecord(1), size: 68 };
    await store.putRecords([sized]);
    expect((await store.listRecords()).records).toEqual([sized]);
    expect((await store.getMany([sized.md5!])).get(sized.md5!)).toEqual(sized);
  });

  it('leaves revoked records out', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const kept = makeRecord(1);
    const revoked = { ...makeRecord(2), revoked: { at: '2026-01-01T00:00:00.000Z', by: 'admin', reason: 'false positive' } };
    await store.putRecords([kept, revoked]);
    expect((await store.listRecords()).records).toEqual([kept]);
  });

  it('dates the list by its latest write, so a change or a revocation moves the date forward', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, now: () => now });
    expect((await store.listRecords()).updatedAt).toBeUndefined();
    const record = makeRecord(1);
    await store.putRecords([record]);
    expect((await store.listRecords()).updatedAt).toBe('2026-01-01T00:00:00.000Z');
    now += 60_000;
    await store.putRecords([{ ...record, revoked: { at: '2025-12-31T00:00:00.000Z', by: 'admin', reason: 'x' } }]);
    expect((await store.listRecords()).updatedAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('turns a failed scan into upstream_unavailable instead of a short list', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    await store.putRecords([makeRecord(1)]);
    dynamo.proxy.mode = 'throttle';
    await expect(store.listRecords()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
