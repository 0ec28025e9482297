import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { toRecordView } from '../../lambdas/core/records.js';
import type { ScanRecord } from '../../lambdas/core/uploads.js';
import { DATABASE_FILE, openEmbeddedStore, StoreInUseError, type EmbeddedStore } from '../../local/embedded-store.js';
import { toStoredRecord } from '../../local/embedded-record-format.js';
import { makeRecord, randomHex as hex } from '../support/dynamodb.js';

let parent: string;
let dataDir: string;
const opened: EmbeddedStore[] = [];

async function openStore(options?: Parameters<typeof openEmbeddedStore>[1]): Promise<EmbeddedStore> {
  const store = await openEmbeddedStore(dataDir, options);
  opened.push(store);
  return store;
}

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'hashcheck-embedded-'));
  dataDir = join(parent, 'data');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await rm(parent, { recursive: true, force: true });
});

const revocation = { at: '2026-01-02T00:00:00.000Z', by: 'admin', reason: 'false positive' };
const primary = (r: KnownRecord) => (r.sha256 ?? r.sha1 ?? r.md5)!;

describe('openEmbeddedStore: the data folder', () => {
  it('creates the data folder 0700 and keeps every file in it 0600', async () => {
    const store = await openStore();
    await store.hashes.putRecords([makeRecord(1)]);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dataDir);
    expect(files).toContain(DATABASE_FILE);
    for (const file of files) expect({ file, mode: (await stat(join(dataDir, file))).mode & 0o777 }).toEqual({ file, mode: 0o600 });
  });

  it('makes an existing folder that others could read private before using it', async () => {
    await mkdir(dataDir, { mode: 0o755 });
    await chmod(dataDir, 0o755);
    await openStore();
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });
});

describe('EmbeddedHashStore', () => {
  it('finds a record by each of its digests with the whole record', async () => {
    const { hashes } = await openStore();
    const record = { ...makeRecord(1), size: 68 };
    await hashes.putRecords([record]);
    for (const digest of [record.sha256!, record.sha1!, record.md5!]) {
      expect((await hashes.getMany([digest])).get(digest)).toEqual(record);
      expect((await hashes.getStored([digest, hex(32)])).get(digest)).toEqual(record);
    }
    expect((await hashes.getMany([hex(32), hex(20), hex(16)])).size).toBe(0);
  });

  it('answers a lookup of thousands of hashes whole, each by the digest it was asked by', async () => {
    const { hashes } = await openStore();
    const records = Array.from({ length: 3000 }, (_, i) => makeRecord(i));
    await hashes.putRecords(records);
    const asked = [...records.map((r, i) => [r.sha256!, r.sha1!, r.md5!][i % 3]!), ...Array.from({ length: 3000 }, () => hex(32))];
    const found = await hashes.getMany(asked);
    expect(found.size).toBe(3000);
    expect(found.get(records[2222]!.md5!)?.fileName).toBe('sample-2222.dll');
    expect(found.get(records[2223]!.sha256!)?.fileName).toBe('sample-2223.dll');
  });

  it('leaves revoked records out of lookups, listings and the count, and returns them to getStored', async () => {
    const { hashes } = await openStore();
    const kept = makeRecord(1);
    const revoked = { ...makeRecord(2), revoked: revocation };
    await hashes.putRecords([kept, revoked]);
    expect((await hashes.getMany([revoked.md5!, kept.md5!])).has(revoked.md5!)).toBe(false);
    expect((await hashes.getStored([revoked.md5!])).get(revoked.md5!)).toEqual(revoked);
    expect((await hashes.listRecords()).records).toEqual([kept]);
    expect(await hashes.countRecords()).toBe(1);
  });

  it('counts records, not the digests stored for them, as records are added, replaced and revoked', async () => {
    const { hashes } = await openStore();
    const records = [makeRecord(5), makeRecord(6), { ...makeRecord(7), sha256: undefined, sha1: undefined }];
    await hashes.putRecords(records);
    expect(await hashes.countRecords()).toBe(3);
    await hashes.putRecords([{ ...records[0]!, fileName: 'renamed.dll' }]);
    expect(await hashes.countRecords()).toBe(3);
    await hashes.putRecords([{ ...records[1]!, revoked: revocation }]);
    expect(await hashes.countRecords()).toBe(2);
    // A record that gains a stronger digest is the same record, found by its new primary digest.
    await hashes.putRecords([{ ...records[2]!, sha256: hex(32) }]);
    expect(await hashes.countRecords()).toBe(2);
    expect((await hashes.listRecords()).records).toHaveLength(2);
  });

  it('lists every record once, in the order of its primary digest, whatever digests it has', async () => {
    const { hashes } = await openStore();
    const records = [...Array.from({ length: 50 }, (_, i) => makeRecord(i)), makeRecord(100, { sha1: hex(20) }), makeRecord(101, { md5: hex(16) })];
    await hashes.putRecords(records);
    const listed: KnownRecord[] = [];
    for await (const record of hashes.records()) listed.push(record);
    expect(listed.map(primary)).toEqual(records.map(primary).sort());
    expect(listed.find((r) => r.fileName === 'sample-101.dll')).toEqual(records.at(-1));
  });

  it('dates the list by its latest write, so a change or a revocation moves the date forward', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const { hashes } = await openStore({ now: () => now });
    expect((await hashes.listRecords()).updatedAt).toBeUndefined();
    const record = makeRecord(1);
    await hashes.putRecords([record]);
    expect((await hashes.listRecords()).updatedAt).toBe('2026-01-01T00:00:00.000Z');
    now += 60_000;
    await hashes.putRecords([{ ...record, revoked: { ...revocation, at: '2025-12-31T00:00:00.000Z' } }]);
    expect((await hashes.listRecords()).updatedAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('bumps the list version once per write, from 0 for an empty list, and keeps it and the list across restarts', async () => {
    const store = await openStore();
    expect(store.listVersion()).toBe(0);
    const record = makeRecord(1);
    await store.hashes.putRecords([record, makeRecord(2)]);
    await store.hashes.putRecords([{ ...record, revoked: revocation }]);
    expect(store.listVersion()).toBe(2);
    // Nothing to write is no change of the list.
    await store.hashes.putRecords([]);
    expect(store.listVersion()).toBe(2);
    await store.close();
    const reopened = await openStore();
    expect(reopened.listVersion()).toBe(2);
    expect(await reopened.hashes.countRecords()).toBe(1);
    expect((await reopened.hashes.getStored([record.sha1!])).get(record.sha1!)?.revoked).toEqual(revocation);
  });

  it('stops finding a record by a digest it no longer has, and by a digest another record took', async () => {
    const { hashes } = await openStore();
    const first = makeRecord(1);
    const onlyMd5 = makeRecord(2, { md5: hex(16) });
    await hashes.putRecords([first, onlyMd5]);
    const changed = { ...first, md5: onlyMd5.md5 };
    await hashes.putRecords([changed]);
    const found = await hashes.getMany([first.md5!, onlyMd5.md5!]);
    expect(found.has(first.md5!)).toBe(false);
    expect(found.get(onlyMd5.md5!)).toEqual(changed);
    expect(await hashes.countRecords()).toBe(1);
  });

  it('keeps a record compactly, without its primary digest (the key) or field names, and reads it back whole, a file named by its digest included', async () => {
    const store = await openStore();
    const record = makeRecord(1);
    const named = { ...makeRecord(2), fileName: 'x' };
    const namedByDigest = { ...named, fileName: named.sha256! };
    const md5Only = makeRecord(3, { md5: hex(16) });
    await store.hashes.putRecords([record, namedByDigest, md5Only]);
    const found = await store.hashes.getMany([record.sha1!, namedByDigest.md5!, md5Only.md5!]);
    expect(found.get(record.sha1!)).toEqual(record);
    expect(found.get(namedByDigest.md5!)).toEqual(namedByDigest);
    expect(found.get(md5Only.md5!)).toEqual(md5Only);
    await store.close();
    const raw = open({ path: join(dataDir, DATABASE_FILE), maxDbs: 8, readOnly: true });
    const records = raw.openDB<unknown, Buffer>({ name: 'records', keyEncoding: 'binary', encoding: 'binary' });
    const bytes = records.get(Buffer.from(record.sha256!, 'hex')) as Buffer;
    expect({
      primaryAsText: bytes.includes(record.sha256!),
      primaryAsBytes: bytes.includes(Buffer.from(record.sha256!, 'hex')),
      fieldNames: bytes.includes('fileName') || bytes.includes('campaign'),
      fileName: bytes.includes(record.fileName),
    }).toEqual({ primaryAsText: false, primaryAsBytes: false, fieldNames: false, fileName: true });
    expect(bytes.length).toBeLessThan(JSON.stringify(record).length / 2);
    await raw.close();
  });

  it('reads records written as objects, as the list kept them at first', async () => {
    const store = await openStore();
    await store.close();
    const record = makeRecord(4);
    const withoutKey = { ...makeRecord(5), revoked: revocation };
    const raw = open({ path: join(dataDir, DATABASE_FILE), maxDbs: 8 });
    const records = raw.openDB({ name: 'records', keyEncoding: 'binary' });
    await records.put(Buffer.from(record.sha256!, 'hex'), { ...record });
    const { sha256: _key, ...rest } = withoutKey;
    await records.put(Buffer.from(withoutKey.sha256!, 'hex'), rest);
    await raw.close();
    const { hashes } = await openStore();
    expect((await hashes.getStored([record.sha256!, withoutKey.sha256!])).get(withoutKey.sha256!)).toEqual(withoutKey);
    expect((await hashes.getMany([record.sha256!])).get(record.sha256!)).toEqual(record);
  });

  it('writes a call larger than one transaction as if record after record, a digest taken across transactions included', async () => {
    const store = await openStore();
    const records = Array.from({ length: 9000 }, (_, i) => makeRecord(i));
    await store.hashes.putRecords(records);
    // Records that share digests are written in the order they came, however far apart in the call.
    const first = makeRecord(20_000);
    const takesItsMd5 = makeRecord(20_001, { sha256: hex(32), md5: first.md5! });
    const renamed = { ...records[0]!, fileName: 'renamed.dll' };
    await store.hashes.putRecords([first, ...records.slice(1, 8500), takesItsMd5, renamed]);
    const found = await store.hashes.getMany([first.md5!, first.sha256!, records[0]!.sha1!, records[8999]!.md5!]);
    expect(found.get(first.md5!)).toEqual(takesItsMd5);
    expect(found.get(first.sha256!)).toEqual(first);
    expect(found.get(records[0]!.sha1!)).toEqual(renamed);
    expect(found.get(records[8999]!.md5!)).toEqual(records[8999]);
    expect(await store.hashes.countRecords()).toBe(9002);
    expect((await store.hashes.listRecords()).records).toHaveLength(9002);
  });

  it('refuses a stored value that is not a valid record with UpstreamUnavailableError naming it, instead of answering it', async () => {
    const store = await openStore();
    const record = makeRecord(8);
    const other = makeRecord(9);
    await store.hashes.putRecords([record, other]);
    await store.close();
    const raw = open({ path: join(dataDir, DATABASE_FILE), maxDbs: 8 });
    await raw.openDB({ name: 'records', keyEncoding: 'binary' }).put(Buffer.from(record.sha256!, 'hex'), { ...record, kind: 'worm' });
    await raw.close();

    const { hashes } = await openStore();
    for (const asked of [[record.md5!], [record.sha256!, hex(20)]]) {
      const error = await hashes.getMany(asked).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toContain(`item for ${record.sha256} that is not a valid record`);
    }
    await expect(hashes.listRecords()).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect((await hashes.getMany([other.sha1!])).get(other.sha1!)).toEqual(other);
  });

  it('refuses a damaged record kept in the compact form even after a record with the same shared fields was read', async () => {
    const store = await openStore();
    // One feed's records: everything but their digests alike.
    const fromFeed = (n: number): KnownRecord => ({ ...makeRecord(n), fileName: 'shared.dll', sources: ['one feed'], addedAt: '2026-01-02T03:04:05.006Z' });
    const good = fromFeed(30);
    const victims = [31, 32, 33, 34].map(fromFeed);
    await store.hashes.putRecords([good, ...victims]);
    expect((await store.hashes.getMany([good.sha256!])).get(good.sha256!)).toEqual(good);
    await store.close();
    const damage: ((stored: unknown[]) => void)[] = [
      (stored) => (stored[3] = 'worm'), // kind
      (stored) => (stored[10] = Buffer.alloc(19)), // a SHA-1 one byte short
      (stored) => (stored[8] = Date.parse('9999-12-31T23:59:59.999Z') + 1), // a time no ISO 8601 year of four digits holds
      (stored) => (stored[12] = -1), // size
    ];
    const raw = open({ path: join(dataDir, DATABASE_FILE), maxDbs: 8 });
    const records = raw.openDB({ name: 'records', keyEncoding: 'binary' });
    for (const [i, victim] of victims.entries()) {
      const stored = toStoredRecord(victim, victim.sha256!);
      damage[i]!(stored);
      await records.put(Buffer.from(victim.sha256!, 'hex'), stored);
    }
    await raw.close();

    const { hashes } = await openStore();
    expect((await hashes.getMany([good.sha256!])).get(good.sha256!)).toEqual(good);
    for (const victim of victims) {
      const error = await hashes.getMany([victim.sha256!]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toContain(`item for ${victim.sha256} that is not a valid record`);
    }
  });
});

describe('EmbeddedStore fails closed', () => {
  it('answers every read after close with UpstreamUnavailableError, never an empty answer', async () => {
    const store = await openStore();
    const record = makeRecord(1);
    await store.hashes.putRecords([record]);
    await store.close();
    await expect(store.hashes.getMany([record.md5!])).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(store.hashes.getStored([record.md5!])).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(store.hashes.countRecords()).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(store.hashes.listRecords()).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(store.hashes.putRecords([makeRecord(2)])).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(store.scans.get(randomUUID())).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(() => store.listVersion()).toThrow(UpstreamUnavailableError);
  });

  it('ends a listing under way with UpstreamUnavailableError when the store closes, rather than a short list', async () => {
    const store = await openStore();
    await store.hashes.putRecords(Array.from({ length: 10 }, (_, i) => makeRecord(i)));
    const listing = store.hashes.records()[Symbol.asyncIterator]();
    expect((await listing.next()).done).toBe(false);
    await store.close();
    await expect(listing.next()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('refuses to open a data file that is not a database with UpstreamUnavailableError naming it', async () => {
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(join(dataDir, DATABASE_FILE), Buffer.alloc(64 * 1024, 0x5a), { mode: 0o600 });
    const error = await openStore().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain(join(dataDir, DATABASE_FILE));
    // The folder is free again for a server once the file is put right.
    await rm(join(dataDir, DATABASE_FILE));
    await rm(join(dataDir, `${DATABASE_FILE}-lock`), { force: true });
    expect((await openStore()).listVersion()).toBe(0);
  });

  it('refuses a second open of the same folder in this process with StoreInUseError naming the folder', async () => {
    await openStore();
    const error = await openEmbeddedStore(dataDir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreInUseError);
    expect((error as Error).message).toContain(dataDir);
  });
});

describe('EmbeddedStore scans', () => {
  function pendingScan(): ScanRecord {
    return {
      uploadId: randomUUID(),
      status: 'pending',
      fileName: 'invoice.iso',
      declaredSize: 1024,
      createdAt: '2026-03-02T10:00:00.000Z',
      updatedAt: '2026-03-02T10:00:00.000Z',
      expiresAt: 4_102_444_800,
    };
  }

  it('reads back a finished scan as written, and lets only the first finish of a pending scan replace it', async () => {
    const { scans } = await openStore();
    const pending = pendingScan();
    await scans.put(pending);
    expect(await scans.get(pending.uploadId)).toEqual(pending);
    const record = makeRecord(1);
    const done: ScanRecord = {
      ...pending,
      status: 'done',
      updatedAt: '2026-03-02T10:01:00.000Z',
      file: { fileName: 'invoice.iso', size: 1024, md5: record.md5!, sha1: record.sha1!, sha256: record.sha256!, verdict: 'malicious', matches: [toRecordView(record)] },
    };
    const late: ScanRecord = { ...pending, status: 'failed', failure: { reason: 'read_error', message: 'late' } };
    expect(await Promise.all([scans.finish(done), scans.finish(late)])).toEqual([true, false]);
    expect(await scans.get(pending.uploadId)).toEqual(done);
    expect(await scans.get(randomUUID())).toBeUndefined();
  });

  it('removes scans past their expiry as new ones are recorded', async () => {
    const { scans } = await openStore();
    const expired = { ...pendingScan(), expiresAt: 1_000_000 };
    await scans.put(expired);
    const store = opened.pop()!;
    await store.close();
    const { scans: reopened } = await openStore();
    await reopened.put(pendingScan());
    const raw = opened.pop()!;
    await raw.close();
    const db = open({ path: join(dataDir, DATABASE_FILE), maxDbs: 8 });
    expect(db.openDB({ name: 'scans' }).get(expired.uploadId)).toBeUndefined();
    await db.close();
  });
});
