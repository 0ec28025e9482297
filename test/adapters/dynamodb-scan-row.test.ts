import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbScanStore } from '../../lambdas/adapters/dynamodb-scan-store.js';
import { SCANS_KEY } from '../../lambdas/adapters/table-schemas.js';
import { toRecordView } from '../../lambdas/core/records.js';
import type { FileVerdict } from '../../lambdas/core/schemas.js';
import type { ScanRecord } from '../../lambdas/core/uploads.js';
import { ensureTable } from '../support/dynamodb-local.js';
import { makeRecord, useProxiedDynamoDb } from '../support/dynamodb.js';

/** DynamoDB's largest item, which dynalite enforces as the service does. */
const MAX_ITEM_BYTES = 400 * 1024;

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
    fileName: 'toolkit.zip',
    declaredSize: 50_000_000,
    createdAt: '2026-03-02T10:00:00.000Z',
    updatedAt: '2026-03-02T10:00:00.000Z',
    expiresAt: 1_773_050_400,
  };
}

/** The verdict of an archive holding `count` members that are each on the list, and as many reasons it was cut short. */
function verdictWith(count: number, reasons = 0): FileVerdict {
  const container = makeRecord(0);
  return {
    fileName: 'toolkit.zip',
    size: 50_000_000,
    md5: container.md5!,
    sha1: container.sha1!,
    sha256: container.sha256!,
    verdict: 'malicious',
    matches: [],
    inside: {
      members: count + 10,
      containers: 3,
      complete: reasons === 0,
      reasons: Array.from({ length: reasons }, (_, i) => ({ reason: 'corrupt' as const, path: ['tools', `broken-${i}.zip`] })),
      matches: Array.from({ length: count }, (_, i) => {
        const record = makeRecord(i + 1);
        return { path: ['tools', `sample-${i}.exe`], size: 1000 + i, md5: record.md5!, sha1: record.sha1!, sha256: record.sha256!, matches: [toRecordView(record)] };
      }),
    },
  };
}

describe('a finished scan row in the Scans table', () => {
  it('is written for a verdict with thousands of matched members, keeping as many as fit and counting those left out', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    const file = verdictWith(3000);
    expect(JSON.stringify(file).length).toBeGreaterThan(MAX_ITEM_BYTES);
    expect(await scans.finish({ ...pending, status: 'done', file })).toBe(true);

    const stored = (await scans.get(pending.uploadId))!.file!;
    expect(stored).toMatchObject({ verdict: 'malicious', sha256: file.sha256, inside: { members: 3010, containers: 3, complete: true } });
    const kept = stored.inside!.matches.length;
    expect(kept).toBeGreaterThan(100);
    expect(stored.inside!.matches).toEqual(file.inside!.matches.slice(0, kept));
    expect(stored.inside!.matchesLeftOut).toBe(3000 - kept);
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: scansTable, Key: { [SCANS_KEY]: { S: pending.uploadId } } }));
    expect(Item!['file']!.S!.length).toBeLessThan(MAX_ITEM_BYTES);
  });

  it('is written for a verdict with ten thousand reasons, keeping the matches ahead of the reasons', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    const file = verdictWith(5, 10_000);
    expect(await scans.finish({ ...pending, status: 'done', file })).toBe(true);

    const stored = (await scans.get(pending.uploadId))!.file!.inside!;
    expect(stored.matches).toEqual(file.inside!.matches);
    expect(stored.complete).toBe(false);
    expect(stored.reasons.length + stored.reasonsLeftOut!).toBe(10_000);
    expect(stored.reasons).toEqual(file.inside!.reasons.slice(0, stored.reasons.length));
  });

  it('keeps a verdict that fits whole, with nothing said left out', async () => {
    const pending = pendingScan();
    await scans.put(pending);
    const file = verdictWith(20, 3);
    expect(await scans.finish({ ...pending, status: 'done', file })).toBe(true);
    expect((await scans.get(pending.uploadId))!.file).toEqual(file);
  });
});
