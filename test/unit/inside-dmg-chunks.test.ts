import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { EICAR, fatVolumeOf, hasTool, udifOf, workFolder, type UdifChunkKind } from '../support/archives.js';

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex') as HashHex;

const EICAR_RECORD = {
  sha256: sha256(EICAR),
  fileName: 'eicar.com',
  platform: 'any',
  version: '1',
  kind: 'test-file',
  stage: 'payload',
  campaign: 'disk image test',
  confidence: 'high',
  sources: ['disk image test'],
} as KnownRecord;

const store: HashStore = {
  getMany: async (hashes: readonly HashHex[]) =>
    new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (hash === EICAR_RECORD.sha256 ? [[hash, EICAR_RECORD]] : []))),
};

let work: ReturnType<typeof workFolder>;
let scratchParent: string;

beforeAll(() => {
  work = workFolder();
  scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
});
afterAll(() => work.remove());

async function scan(bytes: Buffer, fileName: string) {
  const inside = new SevenZipLookInside({ ...DEFAULT_INSIDE_LIMITS }, { scratchParent });
  async function* source() {
    yield bytes;
  }
  return scanStream(source(), { fileName, maxBytes: 64 * 1024 * 1024 }, { store, inside });
}

/** A UDF image holding the given files, by `genisoimage -udf` (UDF 1.02 bridged with ISO 9660). */
function udfImageOf(files: Record<string, string>): Buffer {
  const tree = join(work.path, 'udf-tree');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(tree, path, '..'), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  const out = join(work.path, 'disc.udf.iso');
  execFileSync('genisoimage', ['-quiet', '-udf', '-o', out, '.'], { cwd: tree, stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

/** The block types of a disk image's `mish` table, its terminator left out: what each chunk of the data fork is. */
function chunkTypes(dmg: Buffer): number[] {
  const koly = dmg.subarray(dmg.length - 512);
  const xml = dmg.subarray(Number(koly.readBigUInt64BE(216)), Number(koly.readBigUInt64BE(216) + koly.readBigUInt64BE(224))).toString('latin1');
  const mish = Buffer.from(/<data>([^<]*)<\/data>/.exec(xml)![1]!.replace(/\s/g, ''), 'base64');
  const types = Array.from({ length: mish.readUInt32BE(200) }, (_, i) => mish.readUInt32BE(204 + 40 * i));
  return types.filter((type) => type !== 0xffffffff);
}

const CHUNK_TYPES: Record<UdifChunkKind, number> = { raw: 0x00000001, zlib: 0x80000005, bzip2: 0x80000006, xz: 0x80000008 };

const DYLIB = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const hasFat = hasTool('mkfs.fat') && hasTool('mcopy');

describe('disk images of each chunk kind', () => {
  const kinds: UdifChunkKind[] = ['raw', 'zlib', 'bzip2', 'xz'];
  it.skipIf(!hasFat || !hasTool('bzip2') || !hasTool('xz')).each(kinds)('answers malicious for a DMG in %s chunks, naming the member inside its FAT volume', async (kind) => {
    const dmg = udifOf(fatVolumeOf({ [DYLIB]: EICAR, '3CX Desktop App.app/Contents/Info.plist': '<plist/>' }), undefined, { chunks: kind });
    expect(new Set(chunkTypes(dmg))).toEqual(new Set([CHUNK_TYPES[kind]]));
    const file = await scan(dmg, '3CXDesktopApp-18.12.416.dmg');
    expect(file.verdict).toBe('malicious');
    expect(file.inside!.matches.map((m) => m.path)).toEqual([[DYLIB]]);
    expect(file.inside).toMatchObject({ complete: true, members: 2, reasons: [] });
  });
});

describe('UDF images', () => {
  it.skipIf(!hasTool('genisoimage'))('answers malicious for a UDF disc image, naming the member', async () => {
    const file = await scan(udfImageOf({ 'setup/ffmpeg.dll': EICAR, 'readme.txt': 'fine' }), 'disc.iso');
    expect(file.verdict).toBe('malicious');
    expect(file.inside!.matches).toEqual([expect.objectContaining({ path: expect.arrayContaining([expect.stringContaining('ffmpeg.dll')]), sha256: EICAR_RECORD.sha256 })]);
  });

  it.skipIf(!hasTool('mkudffs'))('opens a UDF image with no ISO 9660 part, as mkudffs writes one', async () => {
    // mkudffs (Debian udftools) writes an empty UDF file system: its recognition sequence starts with BEA01.
    const path = join(work.path, 'udf-only.img');
    execFileSync('truncate', ['-s', '2M', path]);
    execFileSync('mkudffs', ['--media-type=hd', path], { stdio: 'ignore' });
    const file = await scan(readFileSync(path), 'udf-only.img');
    expect(file.inside).toMatchObject({ containers: 1, members: 0, complete: true, reasons: [] });
  });
});
