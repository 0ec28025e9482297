import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { DynamoDbScanStore } from '../../lambdas/adapters/dynamodb-scan-store.js';
import { encodeS3Key } from '../../lambdas/adapters/s3-keys.js';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store.js';
import { SCANS_KEY } from '../../lambdas/adapters/table-schemas.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { importRecords } from '../../lambdas/core/import.js';
import { createUpload, uploadKey } from '../../lambdas/core/uploads.js';
import { readRecordFile } from '../../lambdas/adapters/seed-file.js';
import { makeScanObjectHandler } from '../../lambdas/handlers/scan-object.js';
import { ensureTable } from '../support/dynamodb-local.js';
import { startLocalS3, type LocalS3 } from '../support/s3-local.js';
import { SEED_FILE } from '../../local/server.js';
import { startFaultyDynamoDb, type FaultyDynamoDb } from '../support/faulty-dynamodb.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { memoryLog } from '../support/events.js';
import { EICAR } from '../support/reference.js';

const BUCKET = 'uploads-test';
let emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
let proxy: FaultyDynamoDb;
let s3: LocalS3;
let s3Client: ReturnType<typeof makeS3Client>;
let dir: string;
// Creates uploads as well as scanning them, so it carries the whole object store.
let deps: Parameters<typeof makeScanObjectHandler>[0] & { objects: S3ObjectStore };
let handler: ReturnType<typeof makeScanObjectHandler>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hashcheck-scan-object-'));
  emulator = await startTestDynamoDb();
  const knownTable = await createKnownHashesTable(emulator.client);
  await importRecords(await readRecordFile(SEED_FILE), {
    store: new DynamoDbHashStore(emulator.client, { tableName: knownTable }),
    now: () => new Date(),
  });
  await ensureTable(emulator.client, 'Scans', SCANS_KEY);
  proxy = await startFaultyDynamoDb(emulator.dynamoDb.endpoint);
  // Events are delivered by the test itself, so it sees what the handler throws.
  s3 = await startLocalS3({ dir, buckets: [BUCKET], onObjectCreated: () => undefined });
  s3Client = makeS3Client({ endpoint: s3.endpoint });
  deps = {
    store: new DynamoDbHashStore(makeDynamoDbClient({ endpoint: proxy.endpoint }), { tableName: knownTable, readDeadlineMs: 300 }),
    scans: new DynamoDbScanStore(emulator.client, { tableName: 'Scans' }),
    objects: new S3ObjectStore(s3Client, { bucket: BUCKET }),
    now: () => new Date(),
    log: memoryLog(),
  };
  handler = makeScanObjectHandler(deps);
});

afterAll(async () => {
  s3Client.destroy();
  await s3.close();
  await proxy.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.mode = 'pass';
});

/** An ObjectCreated event as S3 delivers it, key URL-encoded. */
function objectCreated(key: string, size: number): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'scan',
          bucket: { name: BUCKET, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${BUCKET}` },
          object: { key: encodeS3Key(key), size, eTag: 'e', sequencer: '0' },
        },
      },
    ],
  };
}

async function uploaded(content: string): Promise<string> {
  const { uploadId } = await createUpload({ fileName: 'mail attachment (1).exe', size: content.length }, deps);
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: uploadKey(uploadId), Body: content }));
  return uploadId;
}

const exists = (key: string) =>
  s3Client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );

describe('scan-object', () => {
  it('records the verdict of an uploaded object and deletes it', async () => {
    const uploadId = await uploaded(EICAR);
    await handler(objectCreated(uploadKey(uploadId), 68));
    const record = await deps.scans.get(uploadId);
    expect(record).toMatchObject({ status: 'done', file: { verdict: 'malicious', fileName: 'mail attachment (1).exe' } });
    expect(await exists(uploadKey(uploadId))).toBe(false);
  });

  it('records missing_object when the object is gone before the scan', async () => {
    const { uploadId } = await createUpload({ fileName: 'x', size: 5 }, deps);
    await handler(objectCreated(uploadKey(uploadId), 5));
    expect(await deps.scans.get(uploadId)).toMatchObject({ status: 'failed', failure: { reason: 'missing_object' } });
  });

  it('throws for a retry, keeps the object and never records unknown, when the list cannot be read', async () => {
    const uploadId = await uploaded(EICAR);
    proxy.mode = 'throttle';
    await expect(handler(objectCreated(uploadKey(uploadId), 68))).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(await deps.scans.get(uploadId)).toMatchObject({ status: 'pending' });
    expect(await exists(uploadKey(uploadId))).toBe(true);

    proxy.mode = 'pass';
    await handler(objectCreated(uploadKey(uploadId), 68));
    expect(await deps.scans.get(uploadId)).toMatchObject({ status: 'done', file: { verdict: 'malicious' } });
  });

  it('keeps the first verdict when two deliveries of one event race', async () => {
    const uploadId = await uploaded(EICAR);
    const event = objectCreated(uploadKey(uploadId), 68);
    await Promise.all([handler(event), handler(event), handler(event)]);
    expect(await deps.scans.get(uploadId)).toMatchObject({ status: 'done', file: { verdict: 'malicious' } });
    expect(await exists(uploadKey(uploadId))).toBe(false);
  });

  it('deletes an object that no upload asked for', async () => {
    const key = 'uploads/stray file.bin';
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'stray' }));
    await handler(objectCreated(key, 5));
    expect(await exists(key)).toBe(false);
  });
});

describe('the presigned POST policy', () => {
  it('limits the browser upload to the declared size and to the upload key', async () => {
    const created = await createUpload({ fileName: 'big.dmg', size: 123_456 }, deps);
    const policy = JSON.parse(Buffer.from(created.post.fields['Policy']!, 'base64').toString('utf8'));
    expect(policy.conditions).toContainEqual(['content-length-range', 0, 123_456]);
    expect(policy.conditions).toContainEqual({ key: uploadKey(created.uploadId) });
    expect(new Date(policy.expiration).getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect(created.put.url).not.toMatch(/x-amz-checksum/i);
  });
});
