import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { EXPORT_MANIFEST_KEY, S3ExportObjects } from '../../lambdas/adapters/export-objects.js';
import { scanSortedList } from '../../lambdas/adapters/export-scan.js';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { EXPORT_FORMATS, renderExport, type ExportManifest } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { makeExportHandler, STALE_EXPORT_HEADER } from '../../lambdas/handlers/export.js';
import { makeExportBuilderHandler } from '../../lambdas/handlers/export-builder.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, memoryLog } from '../support/events.js';
import { startLocalS3, type LocalS3 } from '../support/s3-local.js';

const BUCKET = 'hashcheck-exports';
const STREAM_EVENT = JSON.parse(readFileSync(new URL('../fixtures/dynamodb-stream-known-hashes.json', import.meta.url), 'utf8')) as DynamoDBStreamEvent;

let dynamo: Awaited<ReturnType<typeof startTestDynamoDb>>;
let s3: LocalS3;
let s3Client: S3Client;
let dir: string;
let tableName: string;
let bucket: string;
let bucketCounter = 0;

function record(extra: Partial<KnownRecord> = {}): KnownRecord {
  return {
    sha256: randomBytes(32).toString('hex') as HashHex,
    sha1: randomBytes(20).toString('hex') as HashHex,
    md5: randomBytes(16).toString('hex') as HashHex,
    fileName: 'payload.dll',
    platform: 'windows',
    version: '1',
    kind: 'payload',
    stage: 'test',
    campaign: 'Export builder test',
    confidence: 'high',
    sources: ['test'],
    ...extra,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hashcheck-export-builder-'));
  dynamo = await startTestDynamoDb();
  s3 = await startLocalS3({ dir: join(dir, 's3'), buckets: Array.from({ length: 12 }, (_, i) => `${BUCKET}-${i}`), onObjectCreated: () => undefined });
  s3Client = makeS3Client({ endpoint: s3.endpoint });
});

afterAll(async () => {
  s3Client?.destroy();
  await s3?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  tableName = await createKnownHashesTable(dynamo.client);
  bucket = `${BUCKET}-${bucketCounter++}`;
});

const objects = () => new S3ExportObjects(s3Client, { bucket, scratchDir: dir });

/** The builder as the function wires it, on dynalite and s3rver, sorting in runs of 3 records so runs merge on disk. */
function builder(log = memoryLog()) {
  return makeExportBuilderHandler({
    objects: objects(),
    readList: (scratch) => scanSortedList(dynamo.client, { tableName, dir: scratch, runLines: 3 }),
    scratchRoot: dir,
    log,
  });
}

async function put(...records: KnownRecord[]): Promise<void> {
  await new DynamoDbHashStore(dynamo.client, { tableName }).putRecords(records);
}

async function object(key: string): Promise<string | undefined> {
  try {
    return await (await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function manifest(): Promise<ExportManifest> {
  return JSON.parse((await object(EXPORT_MANIFEST_KEY))!) as ExportManifest;
}

function exportEvent(format: string, headers: Record<string, string> = {}, method = 'GET'): APIGatewayProxyEvent {
  return fixtureEvent('api-gateway-get-hash', {
    resource: '/v1/exports/{format}',
    path: `/v1/exports/${format}`,
    httpMethod: method,
    pathParameters: { format },
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
  });
}

describe('the export builder', () => {
  it('writes every export of the table, revoked records and items that are not records left out, then the manifest', async () => {
    const listed = [record(), record({ sha256: undefined, size: 68 }), record({ sha256: undefined, sha1: undefined })];
    const revoked = record({ revoked: { at: '2026-01-01T00:00:00.000Z', by: 'admin', reason: 'false positive' } });
    await put(...listed, revoked);
    // An item of another kind in the same table: its key is not a digest.
    await dynamo.client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ hash: `containedIn#${'a'.repeat(64)}`, containers: ['b'.repeat(64)] }) }));

    await builder()(STREAM_EVENT);

    const written = await manifest();
    expect(written.version).toBe(1);
    expect(written.lastError).toBeUndefined();
    for (const format of EXPORT_FORMATS) {
      const stored = written.formats[format]!;
      const body = await object(`exports/${stored.key}`);
      expect(body).toBe(renderExport(format, { records: listed, updatedAt: written.updatedAt ?? undefined }).body);
      expect(stored.size).toBe(Buffer.byteLength(body!));
    }
    expect((await readdir(dir)).filter((name) => name.startsWith('exports-') || name.startsWith('export-'))).toEqual([]);
  });

  it('writes nothing for a batch that changed only the containers members were seen in, and rebuilds for one that also changed a record', async () => {
    await put(record());
    const sightingsOnly: DynamoDBStreamEvent = {
      Records: [1, 2].map((n) => ({ ...STREAM_EVENT.Records[0]!, dynamodb: { ...STREAM_EVENT.Records[0]!.dynamodb, Keys: { hash: { S: `contained-in:${String(n).repeat(64)}` } } } })),
    };
    await builder()(sightingsOnly);
    expect(await object(EXPORT_MANIFEST_KEY)).toBeUndefined();

    await builder()({ Records: [...sightingsOnly.Records, ...STREAM_EVENT.Records] });
    expect((await manifest()).version).toBe(1);
  });

  it('writes a new version after a change, with new ETags and a later date, and removes the old version’s objects', async () => {
    await put(record());
    await builder()(STREAM_EVENT);
    const first = await manifest();
    const added = record();
    await put(added);
    await builder()(STREAM_EVENT);
    const second = await manifest();
    expect(second.version).toBe(2);
    expect(second.listId).toBe(first.listId);
    for (const format of EXPORT_FORMATS) {
      expect(second.formats[format]!.etag).not.toBe(first.formats[format]!.etag);
      expect(new Date(second.formats[format]!.lastModified).getTime()).toBeGreaterThan(new Date(first.formats[format]!.lastModified).getTime());
      expect(await object(`exports/${first.formats[format]!.key}`)).toBeUndefined();
    }
    expect(await object(`exports/${second.formats['sha256.txt']!.key}`)).toContain(added.sha256);
  });

  it('keeps the last good exports when the list cannot be read, records why in the manifest, and fails so the stream retries', async () => {
    await put(record());
    await builder()(STREAM_EVENT);
    const good = await manifest();
    await dynamo.client.send(
      new PutItemCommand({ TableName: tableName, Item: marshall({ hash: 'c'.repeat(64), recordKey: 'c'.repeat(64), algorithm: 'sha256', kind: 'not-a-kind' }) }),
    );
    const log = memoryLog();
    await expect(builder(log)(STREAM_EVENT)).rejects.toThrow(/not a valid record/);
    const after = await manifest();
    expect(after.formats).toEqual(good.formats);
    expect(after.version).toBe(good.version);
    expect(after.lastError?.message).toMatch(/not a valid record/);
    expect(await object(`exports/${good.formats['sha256.txt']!.key}`)).toBeDefined();
    expect(log.lines.some((line) => line.level === 'error')).toBe(true);
  });
});

describe('the export route, deployed', () => {
  const route = (inlineBytes?: number) => makeExportHandler({ catalog: objects(), log: memoryLog(), ...(inlineBytes !== undefined && { inlineBytes }) });

  it('answers an export from the manifest and its object, with the stored ETag and Last-Modified', async () => {
    await put(record(), record());
    await builder()(STREAM_EVENT);
    const written = await manifest();
    const answer = await route()(exportEvent('sha256.txt'));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe(await object(`exports/${written.formats['sha256.txt']!.key}`));
    expect(answer.headers?.['etag']).toBe(written.formats['sha256.txt']!.etag);
    expect(answer.headers?.['last-modified']).toBe(written.formats['sha256.txt']!.lastModified);
    expect(answer.headers?.[STALE_EXPORT_HEADER]).toBeUndefined();
  });

  it('answers If-None-Match 304 and HEAD 200 without a body from the manifest alone', async () => {
    await put(record());
    await builder()(STREAM_EVENT);
    const written = await manifest();
    // The object is replaced by other bytes: an answer that read it would show them.
    await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: `exports/${written.formats['md5.txt']!.key}`, Body: 'replaced' }));
    const notModified = await route()(exportEvent('md5.txt', { 'If-None-Match': written.formats['md5.txt']!.etag }));
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    const head = await route()(exportEvent('md5.txt', {}, 'HEAD'));
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers?.['etag']).toBe(written.formats['md5.txt']!.etag);
    expect(head.headers?.['content-type']).toContain('text/plain');
  });

  it('redirects a GET of an export over the inline size to a presigned URL of the object that serves the same bytes', async () => {
    await put(...Array.from({ length: 5 }, () => record()));
    await builder()(STREAM_EVENT);
    const written = await manifest();
    const answer = await route(100)(exportEvent('iocs.csv'));
    expect(answer.statusCode).toBe(302);
    const location = String(answer.headers?.['location']);
    expect(location).toMatch(/X-Amz-Expires=300/);
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(await object(`exports/${written.formats['iocs.csv']!.key}`));
  });

  it('says in a header that an export is stale when the latest rebuild failed, and still serves the last good one', async () => {
    await put(record());
    await builder()(STREAM_EVENT);
    await dynamo.client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ hash: 'd'.repeat(64), recordKey: 'd'.repeat(64), kind: 'nope' }) }));
    await expect(builder()(STREAM_EVENT)).rejects.toThrow();
    const answer = await route()(exportEvent('sha256.txt'));
    expect(answer.statusCode).toBe(200);
    expect(String(answer.headers?.[STALE_EXPORT_HEADER])).toMatch(/^since \d{4}-.*not a valid record/);
  });

  it('answers 503 upstream_unavailable before the first export is written', async () => {
    const answer = await route()(exportEvent('sha256.txt'));
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body).error.code).toBe('upstream_unavailable');
  });

  it('answers an unknown format 404 not_found', async () => {
    const answer = await route()(exportEvent('clamav.exe'));
    expect(answer.statusCode).toBe(404);
    expect(JSON.parse(answer.body).error.code).toBe('not_found');
  });
});
