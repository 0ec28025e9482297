import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_STORE_BUDGET_MS, ADMIN_STORE_OPTIONS, makeAdminHashStore } from '../../lambdas/adapters/admin-hash-store.js';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { makeAdminHandler } from '../../lambdas/handlers/admin.js';
import { makeRecord, randomHex as hex, useProxiedDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, memoryLog } from '../support/events.js';

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

/** A `POST /v1/admin/imports` event as API Gateway hands it to the admin function: a plain list of hashes. */
function importEvent(hashes: readonly string[]): APIGatewayProxyEvent {
  const event = fixtureEvent('api-gateway-post-lookup');
  return {
    ...event,
    resource: '/v1/admin/imports',
    path: '/v1/admin/imports',
    body: `${hashes.join('\n')}\n`,
    isBase64Encoded: false,
    headers: { ...event.headers, 'Content-Type': 'text/plain' },
    multiValueHeaders: { ...event.multiValueHeaders, 'Content-Type': ['text/plain'] },
    queryStringParameters: { campaign: 'Vendor feed', source: 'https://vendor.example/feed' },
  };
}

/** The proxy's client, counting the BatchWriteItem calls it has in flight at once. */
function countingWrites(client: DynamoDBClient): { client: DynamoDBClient; mostInFlight: () => number } {
  let inFlight = 0;
  let most = 0;
  const counting = {
    send: async (command: { constructor: { name: string } }, options?: unknown) => {
      const write = command instanceof BatchWriteItemCommand;
      if (write) most = Math.max(most, ++inFlight);
      try {
        return await (client.send as (command: unknown, options?: unknown) => Promise<unknown>)(command, options);
      } finally {
        if (write) inFlight--;
      }
    },
  } as unknown as DynamoDBClient;
  return { client: counting, mostInFlight: () => most };
}

describe('the admin function on a table that leaves writes unprocessed', () => {
  it('imports a chunk whose BatchWriteItem calls come back unprocessed by retrying them until every record is in, 16 calls in flight', async () => {
    const hashes = Array.from({ length: 2_000 }, () => hex(32));
    const { client, mostInFlight } = countingWrites(dynamo.client);
    // No real pauses between retries: the test is about what is retried, not how long it waits.
    const store = makeAdminHashStore(client, dynamo.tableName, { sleep: async () => {} });
    const handler = makeAdminHandler({ store, now: () => new Date(), log: memoryLog() });
    // Two BatchWriteItem calls in three answer with all their items unprocessed, as a throttled table does.
    dynamo.proxy.onRequest = (operation, count) => {
      dynamo.proxy.mode = operation === 'BatchWriteItem' && count % 3 !== 0 ? 'unprocessed' : 'pass';
    };

    const result = await handler(importEvent(hashes));

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ format: 'plain', total: 2_000, added: 2_000, rejected: [] });
    // 80 batches of 25, each retried at least once.
    expect(dynamo.proxy.calls.get('BatchWriteItem')!).toBeGreaterThanOrEqual(160);
    expect(mostInFlight()).toBe(ADMIN_STORE_OPTIONS.writeConcurrency);
    dynamo.proxy.onRequest = undefined;
    dynamo.proxy.mode = 'pass';
    const stored = await new DynamoDbHashStore(dynamo.client, { tableName: dynamo.tableName, readDeadlineMs: 30_000 }).getStored(hashes as HashHex[]);
    expect(stored.size).toBe(2_000);
  });

  it('answers 503 upstream_unavailable, well inside API Gateway\'s 29 s, when the table takes no write', async () => {
    // The store's own clock, moved on by every pause between retries: the backoff is what runs the time out.
    let clock = Date.now();
    const store = makeAdminHashStore(dynamo.client, dynamo.tableName, {
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
      random: () => 1,
    });
    const handler = makeAdminHandler({ store, now: () => new Date(clock), log: memoryLog() });
    const started = clock;
    dynamo.proxy.onRequest = (operation) => {
      dynamo.proxy.mode = operation === 'BatchWriteItem' ? 'unprocessed' : 'pass';
    };

    const result = await handler(importEvent(Array.from({ length: 100 }, () => hex(32))));

    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error).toMatchObject({ code: 'upstream_unavailable', message: expect.stringContaining('could not be written') });
    expect(clock - started).toBeLessThanOrEqual(ADMIN_STORE_OPTIONS.writeDeadlineMs);
    // Reading, writing and parsing a chunk all fit in API Gateway's 29 s with room to spare.
    expect(ADMIN_STORE_BUDGET_MS).toBeLessThanOrEqual(25_000);
  });
});
