import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbScanStore } from '../../lambdas/adapters/dynamodb-scan-store.js';
import { SCANS_KEY } from '../../lambdas/adapters/table-schemas.js';
import { SCAN_DEADLINE_SECONDS, type ScanRecord } from '../../lambdas/core/uploads.js';
import { makeUploadStatusHandler } from '../../lambdas/handlers/upload-status.js';
import { ensureTable } from '../support/dynamodb-local.js';
import { startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, memoryLog } from '../support/events.js';

const CREATED = new Date('2026-03-02T10:00:00.000Z');
const HOUR = 3600_000;

let emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
let scans: DynamoDbScanStore;

beforeAll(async () => {
  emulator = await startTestDynamoDb();
  await ensureTable(emulator.client, 'Scans', SCANS_KEY);
  scans = new DynamoDbScanStore(emulator.client, { tableName: 'Scans' });
});

afterAll(async () => {
  await emulator.close();
});

/** A scan recorded when the upload was asked for, in the given state. */
async function recordedScan(update: Partial<ScanRecord> = {}): Promise<string> {
  const uploadId = randomUUID();
  await scans.put({
    uploadId,
    status: 'pending',
    fileName: 'invoice.iso',
    declaredSize: 1024,
    createdAt: CREATED.toISOString(),
    updatedAt: CREATED.toISOString(),
    expiresAt: Math.floor(CREATED.getTime() / 1000) + 7 * 24 * 3600,
    ...update,
  });
  return uploadId;
}

/** `GET /v1/uploads/{uploadId}` answered as it would be `afterMs` after the upload was asked for. */
async function statusAfter(uploadId: string, afterMs: number) {
  const handler = makeUploadStatusHandler({ scans, now: () => new Date(CREATED.getTime() + afterMs), log: memoryLog() });
  const event = fixtureEvent('api-gateway-get-hash', {
    resource: '/v1/uploads/{uploadId}',
    path: `/v1/uploads/${uploadId}`,
    pathParameters: { uploadId },
  });
  const result = await handler(event);
  return { statusCode: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown> };
}

describe('GET /v1/uploads/{uploadId}', () => {
  it('answers pending while the scan can still end', async () => {
    const uploadId = await recordedScan();
    expect(await statusAfter(uploadId, SCAN_DEADLINE_SECONDS * 1000 - 1)).toEqual({
      statusCode: 200,
      body: { uploadId, status: 'pending', file: null },
    });
  });

  it('answers failed with scan_timeout for a scan still pending past its deadline', async () => {
    const uploadId = await recordedScan();
    const answer = await statusAfter(uploadId, SCAN_DEADLINE_SECONDS * 1000);
    expect(answer).toEqual({
      statusCode: 200,
      body: { uploadId, status: 'failed', file: null, error: { code: 'scan_timeout', message: expect.any(String) } },
    });
    expect(answer.body['error']).toMatchObject({ message: expect.stringMatching(/upload it again/i) });
  });

  it('leaves the deadline past every retry of the scan event: Lambda keeps an event for up to six hours', () => {
    expect(SCAN_DEADLINE_SECONDS * 1000).toBeGreaterThanOrEqual(15 * 60_000 + 6 * HOUR + 15 * 60_000);
  });

  it('answers a verdict recorded after the deadline, not the timeout', async () => {
    const file: ScanRecord['file'] = {
      fileName: 'invoice.iso',
      size: 1024,
      md5: 'a'.repeat(32),
      sha1: 'b'.repeat(40),
      sha256: 'c'.repeat(64),
      verdict: 'unknown',
      matches: [],
    };
    const uploadId = await recordedScan({ status: 'done', file });
    expect(await statusAfter(uploadId, 2 * SCAN_DEADLINE_SECONDS * 1000)).toMatchObject({
      statusCode: 200,
      body: { uploadId, status: 'done', file },
    });
  });

  it('keeps the reason of a scan that failed before its deadline', async () => {
    const uploadId = await recordedScan({
      status: 'failed',
      failure: { reason: 'too_large', message: 'The uploaded file has more than the 1024 bytes declared.' },
    });
    expect((await statusAfter(uploadId, 2 * SCAN_DEADLINE_SECONDS * 1000)).body).toMatchObject({
      status: 'failed',
      error: { code: 'too_large' },
    });
  });

  it('answers 404 not_found once the result has expired', async () => {
    const uploadId = await recordedScan();
    const answer = await statusAfter(uploadId, 7 * 24 * HOUR);
    expect(answer.statusCode).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'not_found' } });
  });
});
