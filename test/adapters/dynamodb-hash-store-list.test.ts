import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { startProxiedDynamoDb, type ProxiedDynamoDb } from '../support/dynamodb.js';
import type { FaultyDynamoDb } from '../support/faulty-dynamodb.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex') as HashHex;

function makeRecord(i: number, digests: Partial<Pick<KnownRecord, 'sha256' | 'sha1' | 'md5'>> = { sha256: hex(32), sha1: hex(20), md5: hex(16) }): KnownRecord {
  return {
    ...digests,
    fileName: `sample-${i}.dll`,
    platform: 'windows',
    version: '1.0',
    kind: 'library',
    stage: 'test',
    campaign: 'export test',
    confidence: 'high',
    sources: [`source ${i}`],
    addedAt: '2023-03-30T00:00:00.000Z',
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

describe('DynamoDbHashStore.listRecords', () => {
  it('returns every record once, whatever digests it has, across scan pages', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    // Items carry their whole record, so about 300 of them span more than one 1 MB scan page only with padding.
    const padded = (r: KnownRecord): KnownRecord => ({ ...r, sources: [...r.sources, 'p'.repeat(3000)] });
    const records = [
      ...Array.from({ length: 300 }, (_, i) => padded(makeRecord(i))),
      makeRecord(1000, { sha1: hex(20) }),
      makeRecord(1001, { md5: hex(16) }),
    ];
    await store.putRecords(records);
    proxy.calls.clear();
    const listed = await store.listRecords();
    expect(proxy.calls.get('Scan')).toBeGreaterThan(1);
    expect(listed.records).toHaveLength(records.length);
    const key = (r: KnownRecord) => r.sha256 ?? r.sha1 ?? r.md5;
    expect(new Set(listed.records.map(key))).toEqual(new Set(records.map(key)));
    expect(listed.records.find((r) => r.fileName === 'sample-1001.dll')).toEqual(records.at(-1));
  });

  it('keeps the size of a record', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    const sized = { ...makeRecord(1), size: 68 };
    await store.putRecords([sized]);
    expect((await store.listRecords()).records).toEqual([sized]);
    expect((await store.getMany([sized.md5!])).get(sized.md5!)).toEqual(sized);
  });

  it('leaves revoked records out', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    const kept = makeRecord(1);
    const revoked = { ...makeRecord(2), revoked: { at: '2026-01-01T00:00:00.000Z', by: 'admin', reason: 'false positive' } };
    await store.putRecords([kept, revoked]);
    expect((await store.listRecords()).records).toEqual([kept]);
  });

  it('dates the list by its latest write, so a change or a revocation moves the date forward', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const store = new DynamoDbHashStore(client, { tableName, now: () => now });
    expect((await store.listRecords()).updatedAt).toBeUndefined();
    const record = makeRecord(1);
    await store.putRecords([record]);
    expect((await store.listRecords()).updatedAt).toBe('2026-01-01T00:00:00.000Z');
    now += 60_000;
    await store.putRecords([{ ...record, revoked: { at: '2025-12-31T00:00:00.000Z', by: 'admin', reason: 'x' } }]);
    expect((await store.listRecords()).updatedAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('turns a failed scan into upstream_unavailable instead of a short list', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    await store.putRecords([makeRecord(1)]);
    proxy.mode = 'throttle';
    await expect(store.listRecords()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
