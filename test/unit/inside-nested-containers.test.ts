import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { RecordStore } from '../../lambdas/core/import.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { EICAR, tarOf, workFolder, zipOf } from '../support/archives.js';

const hex = (algorithm: string, content: string | Buffer) => createHash(algorithm).update(content).digest('hex') as HashHex;

const EICAR_RECORD = {
  sha256: hex('sha256', EICAR),
  fileName: 'ffmpeg.dll',
  platform: 'windows',
  version: '18.12.416',
  kind: 'library',
  stage: 'trojanized library',
  campaign: 'nested containers test',
  confidence: 'high',
  sources: ['nested containers test'],
} as KnownRecord;

/** A record store in memory, as the list keeps records: every digest of a record leads to it. */
function memoryStore(records: readonly KnownRecord[]) {
  const byHash = new Map<HashHex, KnownRecord>();
  const put = (record: KnownRecord) => {
    for (const hash of [record.sha256, record.sha1, record.md5]) if (hash) byHash.set(hash, record);
  };
  records.forEach(put);
  const store: RecordStore = {
    getMany: async (hashes) => new Map(hashes.flatMap((h): [HashHex, KnownRecord][] => (byHash.has(h) && !byHash.get(h)!.revoked ? [[h, byHash.get(h)!]] : []))),
    getStored: async (hashes) => new Map(hashes.flatMap((h): [HashHex, KnownRecord][] => (byHash.has(h) ? [[h, byHash.get(h)!]] : []))),
    putRecords: async (written) => written.forEach(put),
  };
  return { store, byHash };
}

let work: ReturnType<typeof workFolder>;
let inside: SevenZipLookInside;

beforeAll(() => {
  work = workFolder();
  const scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
  inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent });
});
afterAll(() => work.remove());

const innerZip = zipOf({ 'bin/ffmpeg.dll': EICAR, 'bin/readme.txt': 'fine' });
const tarball = tarOf({ 'inner.zip': innerZip, 'notes.txt': 'notes' }, 'gzip');
const outerZip = zipOf({ 'setup.tar.gz': tarball });

async function scanRemembering(store: RecordStore, bytes: Buffer) {
  const remember = { store, now: () => new Date('2026-03-01T10:00:00.000Z') };
  return scanStream((async function* () { yield bytes; })(), { fileName: 'outer.zip', maxBytes: 1 << 24 }, { store, inside, remember, scan: 'scan-nested' });
}

describe('remembering the containers inside a scanned file', () => {
  it('remembers the ZIP inside a tar.gz inside a ZIP by its own digests, with the member path taken from it', async () => {
    const { store } = memoryStore([EICAR_RECORD]);
    const file = await scanRemembering(store, outerZip);
    expect(file.verdict).toBe('malicious');
    // The next hash-only lookup of the inner ZIP (an MD5, as rspamd sends) matches without a scan.
    const [record] = (await store.getMany([hex('md5', innerZip)])).values();
    expect(record).toMatchObject({
      kind: 'container',
      fileName: 'inner.zip',
      sha256: hex('sha256', innerZip),
      size: innerZip.length,
      campaign: 'nested containers test',
      derived: { member: { path: ['bin/ffmpeg.dll'], sha256: EICAR_RECORD.sha256 }, memberRecord: { fileName: 'ffmpeg.dll' }, scan: 'scan-nested' },
    });
    expect(record!.sources[0]).toContain('found inside outer.zip at setup.tar.gz > setup.tar > inner.zip');
    // So are the tarball and the tar inside it, each with the path from itself down to the member.
    const [gz] = (await store.getMany([hex('sha256', tarball)])).values();
    expect(gz).toMatchObject({ kind: 'container', fileName: 'setup.tar.gz', derived: { member: { path: ['setup.tar', 'inner.zip', 'bin/ffmpeg.dll'] } } });
    const [outer] = (await store.getMany([hex('sha1', outerZip)])).values();
    expect(outer).toMatchObject({ kind: 'container', derived: { member: { path: ['setup.tar.gz', 'setup.tar', 'inner.zip', 'bin/ffmpeg.dll'] } } });
  });

  it('leaves an inner container that is on the list to its own record', async () => {
    const curated = { ...EICAR_RECORD, sha256: hex('sha256', innerZip), fileName: 'inner.zip', kind: 'installer' } as KnownRecord;
    const { store, byHash } = memoryStore([EICAR_RECORD, curated]);
    await scanRemembering(store, outerZip);
    expect(byHash.get(hex('sha256', innerZip))).toBe(curated);
    // The tarball around it is remembered through the first member on the list found in it: the listed ZIP.
    expect(byHash.get(hex('sha256', tarball))).toMatchObject({ kind: 'container', derived: { member: { path: ['setup.tar', 'inner.zip'] } } });
  });

  it('never re-creates a derived record of an inner container that an admin revoked', async () => {
    const revoked = { ...EICAR_RECORD, sha256: hex('sha256', innerZip), fileName: 'inner.zip', kind: 'container', revoked: { at: '2026-02-01T00:00:00.000Z', reason: 'wrong' } } as unknown as KnownRecord;
    const { store, byHash } = memoryStore([EICAR_RECORD, revoked]);
    await scanRemembering(store, outerZip);
    expect(byHash.get(hex('sha256', innerZip))).toBe(revoked);
  });
});
