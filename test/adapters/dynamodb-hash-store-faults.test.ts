import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { makeRecord, randomHex as hex, useProxiedDynamoDb } from '../support/dynamodb.js';

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

const dynamo = useProxiedDynamoDb();
let known: KnownRecord;

beforeEach(async () => {
  known = makeRecord(1);
  await new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName }).putRecords([known]);
});

describe('DynamoDbHashStore under store faults', () => {
  it('fails a single lookup on a slow store within its deadline, not after the SDK timeouts stacked up', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, readDeadlineMs: 1000 });
    dynamo.proxy.mode = 'slow';
    dynamo.proxy.delayMs = 10_000;
    const { ms, error } = await timed(() => store.getMany([known.md5!]));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain('did not answer within 1000 ms');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(1000 + 2000);
  });

  it('fails a bulk lookup on a slow store within the default deadline of 3 s', async () => {
    // A clock on which 2.8 s of the lookup have passed once it has set its deadline: the default deadline
    // is what runs out, after 200 ms of real waiting instead of 3 s.
    let readings = 0;
    const now = () => Date.now() + (readings++ === 0 ? 0 : 2_800);
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, now });
    dynamo.proxy.mode = 'slow';
    dynamo.proxy.delayMs = 10_000;
    const asked = [known.sha256!, ...Array.from({ length: 249 }, () => hex(32))];
    const { ms, error } = await timed(() => store.getMany(asked));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain('did not answer within 3000 ms');
    expect(ms).toBeLessThan(3000 + 2000);
  });

  it('answers when a slow store still answers within the deadline', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, readDeadlineMs: 3000 });
    dynamo.proxy.mode = 'slow';
    dynamo.proxy.delayMs = 200;
    const found = await store.getMany([known.sha1!, hex(16)]);
    expect(found.get(known.sha1!)?.fileName).toBe('sample-1.dll');
  });

  it.each(['drop', 'error500', 'throttle'] as const)('fails with UpstreamUnavailableError, keeping the cause, when the store answers %s', async (mode) => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    dynamo.proxy.mode = mode;
    // One hash (GetItem) and two (BatchGetItem), side by side: each waits out the SDK's retries.
    const lookups = [[known.md5!], [known.md5!, hex(20)]].map((asked) => timed(() => store.getMany(asked)));
    for (const { error, ms } of await Promise.all(lookups)) {
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).cause).toBeDefined();
      expect(ms).toBeLessThan(3000 + 2000);
    }
    dynamo.proxy.mode = 'pass';
    expect((await store.getMany([known.md5!])).get(known.md5!)?.fileName).toBe('sample-1.dll');
  });

  it('fails a 10,000-hash lookup when the store stops answering in the middle, stops calling it, and answers once it is back', async () => {
    const store = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName });
    const records = Array.from({ length: 50 }, (_, i) => makeRecord(i));
    await store.putRecords(records);
    const asked = [...records.map((r) => r.sha256!), ...Array.from({ length: 9_950 }, () => hex(32))];

    // From the tenth of its 100 batch reads on, every connection is cut without an answer.
    dynamo.proxy.calls.clear();
    dynamo.proxy.onRequest = (operation, count) => {
      if (operation === 'BatchGetItem' && count === 10) dynamo.proxy.mode = 'drop';
    };
    const { error } = await timed(() => store.getMany(asked));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    // 100 batches were due; the lookup gave up after the failure instead of calling on for each.
    expect(dynamo.proxy.calls.get('BatchGetItem')!).toBeLessThan(40);

    dynamo.proxy.onRequest = undefined;
    dynamo.proxy.mode = 'pass';
    // Unhurried, so a busy machine answering 100 batches slowly still shows the recovery.
    const recovered = new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, readDeadlineMs: 30_000 });
    expect((await recovered.getMany(asked)).size).toBe(50);
  });
});
