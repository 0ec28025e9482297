import { createHash, randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import { revokeRecord } from '../../lambdas/core/admin.js';
import { parseHash, type HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanUploadedObject, type ScanRecord, type ScanStore } from '../../lambdas/core/uploads.js';
import { makeGatewayCompatHandler } from '../../lambdas/handlers/gateway-compat.js';
import { makeLookupHandler } from '../../lambdas/handlers/lookup.js';
import { makeScanInlineHandler } from '../../lambdas/handlers/scan-inline.js';
import { fatVolumeOf, hasTool, udifOf, zipOf } from '../support/archives.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, getHashEvent, memoryLog } from '../support/events.js';

/**
 * Derived container records on the deployed stack's store: the Lambda handlers, built from their
 * factories, over the DynamoDB adapter talking to dynalite with the real SDK client.
 */

const DYLIB = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const hasFat = hasTool('mkfs.fat') && hasTool('mcopy');

const digest = (algorithm: string, content: Buffer) => createHash(algorithm).update(content).digest('hex') as HashHex;
const digestsOf = (content: Buffer) => ({ sha256: digest('sha256', content), sha1: digest('sha1', content), md5: digest('md5', content) });

/** A known-bad stand-in for the trojanized `libffmpeg.dylib`: fresh bytes per test, so tests never share records. */
function knownBadDylib(): { content: Buffer; record: KnownRecord } {
  const content = randomBytes(4096);
  return {
    content,
    record: {
      ...digestsOf(content),
      size: content.length,
      fileName: 'libffmpeg.dylib',
      platform: 'macos',
      version: '18.12.416',
      kind: 'library',
      stage: 'trojanized library',
      campaign: '3CX DesktopApp supply-chain compromise (2023-03)',
      confidence: 'high',
      sources: ['https://example.com/3cx-iocs'],
      addedAt: '2023-03-30T00:00:00.000Z',
    },
  };
}

/** A disk image built like the 3CX macOS installer, the dylib at its app-bundle path. */
function dmgHolding(dylib: Buffer): Buffer {
  return udifOf(fatVolumeOf({ [DYLIB]: dylib, '3CX Desktop App.app/Contents/Info.plist': `<plist>${randomBytes(8).toString('hex')}</plist>` }));
}

function filesEvent(body: Buffer, fileName: string, requestId = 'req-derived-1'): APIGatewayProxyEvent {
  const base = fixtureEvent('api-gateway-post-lookup');
  const headers = { 'Content-Type': 'application/octet-stream', 'X-File-Name': fileName };
  return {
    ...base,
    resource: '/v1/files',
    path: '/v1/files',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: { ...base.requestContext, requestId },
  };
}

function vtEvent(resource: string): APIGatewayProxyEvent {
  return fixtureEvent('api-gateway-get-hash', {
    resource: '/vtapi/v2/file/report',
    path: '/vtapi/v2/file/report',
    pathParameters: null,
    queryStringParameters: { apikey: 'k', resource },
    multiValueQueryStringParameters: { apikey: ['k'], resource: [resource] },
  });
}

const json = (result: { body: string }) => JSON.parse(result.body);

let emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
let store: DynamoDbHashStore;
let clock: Date;
const inside = new SevenZipLookInside();
const log = memoryLog();

beforeAll(async () => {
  emulator = await startTestDynamoDb();
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(async () => {
  store = new DynamoDbHashStore(emulator.client, { tableName: await createKnownHashesTable(emulator.client) });
  clock = new Date('2026-03-01T10:00:00.000Z');
});

const now = () => clock;
const scanInline = (remember = true) => makeScanInlineHandler({ store, log, inside, ...(remember && { remember: { store, now } }) });
const lookup = (hash: string) => makeLookupHandler({ store, log })(getHashEvent(hash)).then(json);

describe.skipIf(!hasFat)('derived container records on DynamoDB', () => {
  it('answers GET /v1/hashes/{md5 of a 3CX-shaped DMG} malicious after a scan, with a derived record naming the member and its path', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const dmg = dmgHolding(content);
    const dmgDigests = digestsOf(dmg);

    const scanned = json(await scanInline()(filesEvent(dmg, '3CXDesktopApp-18.12.416.dmg')));
    expect(scanned.files[0]).toMatchObject({ verdict: 'malicious', matches: [], md5: dmgDigests.md5 });

    const answer = await lookup(dmgDigests.md5);
    expect(answer).toMatchObject({
      hash: dmgDigests.md5,
      verdict: 'malicious',
      match: {
        ...dmgDigests,
        size: dmg.length,
        fileName: '3CXDesktopApp-18.12.416.dmg',
        kind: 'container',
        platform: 'macos',
        campaign: record.campaign,
        derived: {
          member: { path: [DYLIB], sha256: record.sha256, sha1: record.sha1, md5: record.md5 },
          memberRecord: { sha256: record.sha256, fileName: 'libffmpeg.dylib', campaign: record.campaign, kind: 'library' },
          at: clock.toISOString(),
          scan: 'request req-derived-1',
        },
      },
    });

    const report = await makeGatewayCompatHandler({ store, log, now })(vtEvent(dmgDigests.md5));
    expect(report.statusCode).toBe(200);
    expect(json(report)).toMatchObject({
      response_code: 1,
      resource: dmgDigests.md5,
      positives: 10,
      verbose_msg: `On the hashcheck known-bad list: 3CXDesktopApp-18.12.416.dmg (${record.campaign}), a container found holding libffmpeg.dylib`,
    });
  });

  it('lists the containers a member was seen in on its lookup, newest first, each container once', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const first = dmgHolding(content);
    const second = zipOf({ 'mac/libffmpeg.dylib': content });
    await scanInline()(filesEvent(first, 'first.dmg'));
    clock = new Date('2026-03-02T10:00:00.000Z');
    await scanInline()(filesEvent(second, 'second.zip'));
    clock = new Date('2026-03-03T10:00:00.000Z');
    await scanInline()(filesEvent(first, 'first again.dmg'));

    for (const hash of [record.sha256!, record.md5!]) {
      const answer = await lookup(hash);
      expect(answer.verdict).toBe('malicious');
      expect(answer.containedIn).toEqual([
        { ...digestsOf(second), size: second.length, fileName: 'second.zip', path: ['mac/libffmpeg.dylib'], seenAt: '2026-03-02T10:00:00.000Z' },
        { ...digestsOf(first), size: first.length, fileName: 'first.dmg', path: [DYLIB], seenAt: '2026-03-01T10:00:00.000Z' },
      ]);
    }
    // A container is no record of its own kind to a listing: the list holds the member and the two containers.
    expect((await store.listRecords()).records.map((r) => r.kind).sort()).toEqual(['container', 'container', 'library']);
    expect(await store.countRecords()).toBe(3);
  });

  it('writes nothing when the same container is scanned again', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const dmg = dmgHolding(content);
    await scanInline()(filesEvent(dmg, 'setup.dmg'));
    const before = await store.listRecords();

    clock = new Date('2026-04-01T00:00:00.000Z');
    const again = json(await scanInline()(filesEvent(dmg, 'renamed.dmg', 'req-derived-2')));

    expect(again.files[0].matches).toEqual([expect.objectContaining({ kind: 'container', fileName: 'setup.dmg' })]);
    expect(await store.listRecords()).toEqual(before);
  });

  it('does not re-create a derived record an administrator revoked', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const dmg = dmgHolding(content);
    const { md5 } = digestsOf(dmg);
    await scanInline()(filesEvent(dmg, 'setup.dmg'));
    await revokeRecord(parseHash(md5), 'a false positive', { id: 'admin' }, { store, now });

    const rescanned = json(await scanInline()(filesEvent(dmg, 'setup.dmg', 'req-derived-3')));

    expect(rescanned.files[0]).toMatchObject({ verdict: 'malicious', matches: [] });
    expect(await lookup(md5)).toMatchObject({ verdict: 'unknown', match: null });
    expect((await store.getStored([md5])).get(md5)).toMatchObject({ kind: 'container', revoked: { by: 'admin', reason: 'a false positive' } });
  });

  it('leaves a curated record of the container digest as it is', async () => {
    const { content, record } = knownBadDylib();
    const dmg = dmgHolding(content);
    const dmgDigests = digestsOf(dmg);
    const curated: KnownRecord = {
      sha256: dmgDigests.sha256,
      fileName: '3CXDesktopApp-18.12.416.dmg',
      platform: 'macos',
      version: '18.12.416',
      kind: 'installer',
      stage: 'trojanized installer',
      campaign: record.campaign,
      confidence: 'high',
      sources: ['https://example.com/curated'],
      addedAt: '2023-03-31T00:00:00.000Z',
    };
    await store.putRecords([record, curated]);

    const scanned = json(await scanInline()(filesEvent(dmg, 'other name.dmg')));

    expect(scanned.files[0].matches).toEqual([expect.objectContaining({ kind: 'installer', sources: curated.sources })]);
    // The member still lists the container it was seen in.
    expect((await lookup(record.md5!)).containedIn).toEqual([expect.objectContaining({ ...dmgDigests, fileName: 'other name.dmg' })]);
    const stored = await store.getStored([dmgDigests.sha256, dmgDigests.md5, dmgDigests.sha1]);
    expect(stored.get(dmgDigests.sha256)).toEqual(curated);
    expect(stored.has(dmgDigests.md5)).toBe(false);
    expect(stored.has(dmgDigests.sha1)).toBe(false);
  });

  it('writes nothing when remembering is off, where the same scan with it on writes the container', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const dmg = dmgHolding(content);

    const scanned = json(await scanInline(false)(filesEvent(dmg, 'setup.dmg')));

    expect(scanned.files[0].verdict).toBe('malicious');
    expect((await store.listRecords()).records).toEqual([record]);
    expect((await lookup(record.sha256!)).containedIn).toBeUndefined();

    await scanInline(true)(filesEvent(dmg, 'setup.dmg'));
    expect((await store.listRecords()).records.map((r) => r.kind).sort()).toEqual(['container', 'library']);
  });

  it('remembers an upload found bad through a member, naming the upload as the scan', async () => {
    const { content, record } = knownBadDylib();
    await store.putRecords([record]);
    const dmg = dmgHolding(content);
    const uploadId = '0b7c6f0e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
    const rows = new Map<string, ScanRecord>([
      [
        uploadId,
        {
          uploadId,
          status: 'pending',
          fileName: '3CXDesktopApp-18.12.416.dmg',
          declaredSize: dmg.length,
          createdAt: clock.toISOString(),
          updatedAt: clock.toISOString(),
          expiresAt: Math.floor(clock.getTime() / 1000) + 3600,
        },
      ],
    ]);
    const scans: ScanStore = {
      put: async (row) => void rows.set(row.uploadId, row),
      finish: async (row) => (rows.get(row.uploadId)?.status === 'pending' ? (rows.set(row.uploadId, row), true) : false),
      get: async (id) => rows.get(id),
    };
    const objects = {
      open: async () => ({ size: dmg.length, body: (async function* () { yield dmg; })() }),
      delete: async () => {},
    };

    expect(await scanUploadedObject(`uploads/${uploadId}`, { scans, objects, store, now, inside, remember: { store, now } })).toBe('done');

    expect(await lookup(digestsOf(dmg).md5)).toMatchObject({
      verdict: 'malicious',
      match: { kind: 'container', fileName: '3CXDesktopApp-18.12.416.dmg', derived: { scan: `upload ${uploadId}`, member: { path: [DYLIB] } } },
    });
  });
});
