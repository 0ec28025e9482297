import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import { digestAndLookInside } from '../../lambdas/core/inside/look-inside.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { hasTool, workFolder } from '../support/archives.js';

/**
 * RAR archives made by WinRAR/rar, taken from libarchive's test suite (test/fixtures/rar/README.md): no free
 * tool writes RAR, so these real archives stand in for the ones users upload. 7-Zip reads RAR 1.5 to 5 with
 * its own code; each member's digests are checked against what libarchive (`bsdtar`), a reader of its own,
 * extracts from the same archive, and against the contents libarchive's tests expect.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/rar/', import.meta.url));
const fixturePath = (name: string) => join(FIXTURES, name);
const fixture = (name: string) => readFileSync(fixturePath(name));

const digestsOf = (content: string | Buffer) => ({
  size: Buffer.byteLength(content),
  md5: createHash('md5').update(content).digest('hex'),
  sha1: createHash('sha1').update(content).digest('hex'),
  sha256: createHash('sha256').update(content).digest('hex') as HashHex,
});

/** The member as libarchive extracts it (`bsdtar -xOf`), digested here. */
const libarchiveDigests = (archive: string, member: string) => digestsOf(execFileSync('bsdtar', ['-xOf', fixturePath(archive), member], { maxBuffer: 16 * 1024 * 1024 }));

/** The text of `test.txt` and `testdir/test.txt` in libarchive's RAR 4 archive, as its test asserts it. */
const TEST_TXT = 'test text document\r\n';

/** A record for the corpus's `test.txt`: known-bad for these tests only. */
const TEST_TXT_RECORD = {
  sha256: digestsOf(TEST_TXT).sha256,
  fileName: 'test.txt',
  platform: 'any',
  version: '1',
  kind: 'test-file',
  stage: 'payload',
  campaign: 'look-inside test',
  confidence: 'high',
  sources: ['look-inside test'],
} as KnownRecord;

const store: HashStore = {
  getMany: async (hashes: readonly HashHex[]) =>
    new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (hash === TEST_TXT_RECORD.sha256 ? [[hash, TEST_TXT_RECORD]] : []))),
};

const hasBsdtar = hasTool('bsdtar');

let work: ReturnType<typeof workFolder>;
let scratchParent: string;

beforeAll(() => {
  work = workFolder();
  scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
});
afterAll(() => work.remove());

const source = (bytes: Buffer) =>
  (async function* () {
    yield bytes;
  })();

/** The members 7-Zip extracted from a fixture (path chain joined by ` > `), with their digests, and the reasons. */
async function lookInto(name: string) {
  const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent });
  const { inside: found } = await digestAndLookInside(source(fixture(name)), { fileName: name, maxBytes: 64 * 1024 * 1024 }, inside);
  const members = Object.fromEntries(found.members.map((member) => [member.path.join(' > '), { ...member.digests }]));
  return { members, containers: found.containers, reasons: found.reasons };
}

async function scan(name: string) {
  const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent });
  return scanStream(source(fixture(name)), { fileName: name, maxBytes: 64 * 1024 * 1024 }, { store, inside });
}

describe('RAR archives', () => {
  it('opens a RAR 4 archive: each file member digested as libarchive expects it, folders left out', async () => {
    const { members, containers, reasons } = await lookInto('test_read_format_rar.rar');
    expect(reasons).toEqual([]);
    expect(containers).toBe(1);
    // `testlink` is a Unix symbolic link to `test.txt`: RAR 4 stores its target as its data, and 7-Zip reads it
    // as a small file holding that name, written inside the scratch folder like any member.
    expect(Object.keys(members).sort()).toEqual(['test.txt', 'testdir/test.txt', 'testlink']);
    expect(members['test.txt']).toEqual(digestsOf(TEST_TXT));
    expect(members['testdir/test.txt']).toEqual(digestsOf(TEST_TXT));
    expect(members['testlink']).toEqual(digestsOf('test.txt'));
  });

  it('answers a RAR 4 archive holding a known-bad file malicious, naming both places it is', async () => {
    const file = await scan('test_read_format_rar.rar');
    expect(file.verdict).toBe('malicious');
    expect(file.inside).toMatchObject({ complete: true, reasons: [], containers: 1, members: 3 });
    expect(file.inside!.matches.map((match) => match.path)).toEqual([['test.txt'], ['testdir/test.txt']]);
    expect(file.inside!.matches[0]).toMatchObject({ sha256: TEST_TXT_RECORD.sha256, size: 20 });
  });

  it('answers a RAR 5 archive of files it does not know unknown and complete', async () => {
    const file = await scan('test_read_format_rar5_solid.rar');
    expect(file).toMatchObject({ verdict: 'unknown', inside: { complete: true, reasons: [], containers: 1, members: 7 } });
  });

  it.each([
    ['a RAR 4 archive', 'test_read_format_rar4_encrypted.rar', 'a.txt c.txt', 'b.txt d.txt'],
    ['a RAR 5 archive', 'test_read_format_rar5_encrypted.rar', 'a.txt c.txt', 'b.txt d.txt'],
  ])('digests the plain members of %s and reports its encrypted ones encrypted, never digested', async (_kind, name, plain, encrypted) => {
    const { members, reasons } = await lookInto(name);
    expect(Object.keys(members).sort()).toEqual(plain.split(' '));
    expect(reasons).toEqual(encrypted.split(' ').map((member) => ({ reason: 'encrypted', path: [member] })));
  });

  it('reports a RAR 5 archive whose names are encrypted encrypted at the archive, nothing digested', async () => {
    const { members, containers, reasons } = await lookInto('test_read_format_rar5_encrypted_filenames.rar');
    expect(members).toEqual({});
    expect(containers).toBe(0);
    expect(reasons).toEqual([{ reason: 'encrypted', path: [] }]);
  });

  it('never answers the first volume of a multi-volume set, alone, as fully read', async () => {
    const file = await scan('test_rar_multivolume_single_file.part1.rar');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'corrupt', path: [] }] });
  });
});

describe.skipIf(!hasBsdtar)('RAR members read by 7-Zip and by libarchive', () => {
  it('gives the RAR 4 archive the same member digests as libarchive', async () => {
    const { members } = await lookInto('test_read_format_rar.rar');
    for (const name of ['test.txt', 'testdir/test.txt']) expect(members[name]).toEqual(libarchiveDigests('test_read_format_rar.rar', name));
  });

  it('gives a compressed RAR 5 archive the same member digests as libarchive', async () => {
    const { members, reasons } = await lookInto('test_read_format_rar5_compressed.rar');
    expect(reasons).toEqual([]);
    expect(Object.keys(members)).toEqual(['test.bin']);
    expect(members['test.bin']).toMatchObject({ size: 1200 });
    expect(members['test.bin']).toEqual(libarchiveDigests('test_read_format_rar5_compressed.rar', 'test.bin'));
  });

  it('gives a solid RAR 5 archive the same member digests as libarchive, member by member', async () => {
    const { members, reasons } = await lookInto('test_read_format_rar5_solid.rar');
    expect(reasons).toEqual([]);
    const names = ['test.bin', 'test1.bin', 'test2.bin', 'test3.bin', 'test4.bin', 'test5.bin', 'test6.bin'];
    expect(Object.keys(members).sort()).toEqual(names);
    for (const name of names) expect(members[name]).toEqual(libarchiveDigests('test_read_format_rar5_solid.rar', name));
  });

  it('gives the plain members of encrypted RAR 4 and RAR 5 archives the same digests as libarchive', async () => {
    for (const name of ['test_read_format_rar4_encrypted.rar', 'test_read_format_rar5_encrypted.rar']) {
      const { members } = await lookInto(name);
      for (const member of ['a.txt', 'c.txt']) expect(members[member]).toEqual(libarchiveDigests(name, member));
    }
  });
});
