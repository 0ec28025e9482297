import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbScanStore } from '../../lambdas/adapters/dynamodb-scan-store.js';
import { SCANS_KEY } from '../../lambdas/adapters/table-schemas.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { toRecordView } from '../../lambdas/core/records.js';
import type { ScanRecord } from '../../lambdas/core/uploads.js';
import { ensureTable } from '../support/dynamodb-local.js';
import { makeRecord, useProxiedDynamoDb } from '../support/dynamodb.js';

const dynamo = useProxiedDynamoDb();
let scansTable: string;
let scans: DynamoDbScanStore;

beforeEach(async () => {
  scansTable = `Scans-${randomUUID()}`;
  await ensureTable(dynamo.client, scansTable, SCANS_KEY);
  scans = new DynamoDbScanStore(dynamo.client, { tableName: scansTable });
});

function pendingScan(): ScanRecord {
  return {
    uploadId: randomUUID(),
    status: 'pending',
    fileName: 'invoice.iso',
    declaredSize: 1024,
    createdAt: '2026-03-02T10:00:00.000Z',
    updatedAt: '2026-03-02T10:00:00.000Z',
    expiresAt: 1_773_050_400,
  };
}

describe('DynamoDbScanStore', () => {
  it('reads back a finished scan with its verdict and the records it matched, as written', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    const record = makeRecord(1);
    const done: ScanRecord = {
      ...pending,
      status: 'done',
      updatedAt: '2026-03-02T10:01:00.000Z',
      file: {
        fileName: 'invoice.iso',
        size: 1024,
        md5: record.md5!,
        sha1: record.sha1!,
        sha256: record.sha256!,
        verdict: 'malicious',
        matches: [toRecordView(record)],
      },
    };
    expect(await scans.finish(done)).toBe(true);
    expect(await scans.finish({ ...done, status: 'failed', file: undefined, failure: { reason: 'read_error', message: 'late' } })).toBe(false);
    expect(await scans.get(pending.uploadId)).toEqual(done);
    expect(await scans.get(randomUUID())).toBeUndefined();
  });

  it('refuses a row that is not a scan record with UpstreamUnavailableError naming the upload, instead of answering it', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    const key = { [SCANS_KEY]: { S: pending.uploadId } };
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: scansTable, Key: key }));
    await dynamo.client.send(new PutItemCommand({ TableName: scansTable, Item: { ...Item, status: { S: 'cancelled' } } }));

    const error = await scans.get(pending.uploadId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain(`upload ${pending.uploadId}`);
    expect((error as Error).message).toContain('status');
  });

  it('says the scan could not be recorded when a write fails, and could not be read when a read fails, keeping the cause', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    dynamo.proxy.mode = 'throttle';

    const written = await scans.put(pendingScan()).catch((e: unknown) => e);
    expect(written).toBeInstanceOf(UpstreamUnavailableError);
    expect((written as Error).message).toBe('The scan could not be recorded; try again shortly.');
    expect((written as Error).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException' });

    const read = await scans.get(pending.uploadId).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(UpstreamUnavailableError);
    expect((read as Error).message).toBe('The scan result could not be read; try again shortly.');
    expect((read as Error).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});
