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

function makeRecord(i: number): KnownRecord {
  return {
    sha256: hex(32),
    sha1: hex(20),
    md5: hex(16),
    fileName: `fault-${i}.dll`,
    platform: 'windows',
    version: '1.0',
    kind: 'library',
    stage: 'test',
    campaign: 'fault test',
    confidence: 'high',
    sources: ['fault test'],
  };
}

/** Milliseconds `work` took to settle, and how it settled. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = performance.now();
  try {
    const value = await work();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

let fixture: ProxiedDynamoDb;
let proxy: FaultyDynamoDb;
let client: DynamoDBClient;
let tableName: string;
let known: KnownRecord;

beforeAll(async () => {
  fixture = await startProxiedDynamoDb();
  ({ proxy, client } = fixture);
});

afterAll(() => fixture.close());

beforeEach(async () => {
  tableName = await fixture.reset();
  known = makeRecord(1);
  await new DynamoDbHashStore(client, { tableName }).putRecords([known]);
});

describe('DynamoDbHashStore under store faults', () => {
  it('fails a single lookup on a slow store within its deadline, not after the SDK timeouts stacked up', async () => {
    const store = new DynamoDbHashStore(client, { tableName, readDeadlineMs: 1000 });
    proxy.mode = 'slow';
    proxy.delayMs = 10_000;
    const { ms, error } = await timed(() => store.getMany([known.md5!]));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain('did not answer within 1000 ms');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(1000 + 2000);
  });

  it('fails a bulk lookup on a slow store within the default deadline of 3 s', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    proxy.mode = 'slow';
    proxy.delayMs = 10_000;
    const asked = [known.sha256!, ...Array.from({ length: 249 }, () => hex(32))];
    const { ms, error } = await timed(() => store.getMany(asked));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(ms).toBeLessThan(3000 + 2000);
  });

  it('answers when a slow store still answers within the deadline', async () => {
    const store = new DynamoDbHashStore(client, { tableName, readDeadlineMs: 3000 });
    proxy.mode = 'slow';
    proxy.delayMs = 200;
    const found = await store.getMany([known.sha1!, hex(16)]);
    expect(found.get(known.sha1!)?.fileName).toBe('fault-1.dll');
  });

  it.each(['drop', 'error500', 'throttle'] as const)('fails with UpstreamUnavailableError, keeping the cause, when the store answers %s', async (mode) => {
    const store = new DynamoDbHashStore(client, { tableName });
    proxy.mode = mode;
    for (const asked of [[known.md5!], [known.md5!, hex(20)]]) {
      const { error, ms } = await timed(() => store.getMany(asked));
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).cause).toBeDefined();
      expect(ms).toBeLessThan(3000 + 2000);
    }
    proxy.mode = 'pass';
    expect((await store.getMany([known.md5!])).get(known.md5!)?.fileName).toBe('fault-1.dll');
  });

  it('fails a 10,000-hash lookup when the store stops answering in the middle, stops calling it, and answers once it is back', async () => {
    const store = new DynamoDbHashStore(client, { tableName });
    const records = Array.from({ length: 50 }, (_, i) => makeRecord(i));
    await store.putRecords(records);
    const asked = [...records.map((r) => r.sha256!), ...Array.from({ length: 9_950 }, () => hex(32))];

    // From the tenth of its 100 batch reads on, every connection is cut without an answer.
    proxy.calls.clear();
    proxy.onRequest = (operation, count) => {
      if (operation === 'BatchGetItem' && count === 10) proxy.mode = 'drop';
    };
    const { error } = await timed(() => store.getMany(asked));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    // 100 batches were due; the lookup gave up after the failure instead of calling on for each.
    expect(proxy.calls.get('BatchGetItem')!).toBeLessThan(40);

    proxy.onRequest = undefined;
    proxy.mode = 'pass';
    // Unhurried, so a busy machine answering 100 batches slowly still shows the recovery.
    const recovered = new DynamoDbHashStore(client, { tableName, readDeadlineMs: 30_000 });
    expect((await recovered.getMany(asked)).size).toBe(50);
  });
});
