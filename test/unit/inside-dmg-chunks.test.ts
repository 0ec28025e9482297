import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { knownBadRecord, storeOf, useLookInside } from '../support/inside.js';
import { EICAR, fatVolumeOf, hasTool, udifOf, type UdifChunkKind } from '../support/archives.js';

const EICAR_RECORD = knownBadRecord(EICAR, { campaign: 'disk image test', sources: ['disk image test'] });
const store = storeOf(EICAR_RECORD);
const looking = useLookInside();
const scan = (bytes: Buffer, fileName: string) => looking.scan(bytes, fileName, store);

/** A UDF image holding the given files, by `genisoimage -udf` (UDF 1.02 bridged with ISO 9660). */
function udfImageOf(files: Record<string, string>): Buffer {
  const tree = join(looking.workPath(), 'udf-tree');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(tree, path, '..'), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  const out = join(looking.workPath(), 'disc.udf.iso');
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
    const path = join(looking.workPath(), 'udf-only.img');
    execFileSync('truncate', ['-s', '2M', path]);
    execFileSync('mkudffs', ['--media-type=hd', path], { stdio: 'ignore' });
    const file = await scan(readFileSync(path), 'udf-only.img');
    expect(file.inside).toMatchObject({ containers: 1, members: 0, complete: true, reasons: [] });
  });
});
