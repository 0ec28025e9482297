/**
 * The archives of the `members` benchmark, generated once into the cache of inputs (see `data.ts`) and
 * reused while their marker says they were completed with the same shape:
 * - a ZIP of 10,000 files holding 1 GiB, written by Info-ZIP `zip -6`: half of the files random bytes,
 *   which `zip` stores (deflating them would make them larger), half of them four bits of entropy per
 *   byte, which it deflates to about 55 % — a mix of stored and deflated members, as installers are;
 * - a disk image of about 500 MB shaped like a macOS DMG: a FAT32 volume (`mkfs.fat`, mtools' `mcopy`)
 *   holding 2,000 files of random bytes (477 MiB), wrapped in UDIF with zlib chunks of 1 MiB by a writer
 *   that streams the volume (the test suite's `udifOf` holds a whole image in memory). HFS+ cannot be
 *   written here; 7-Zip reads a FAT volume inside a DMG the same way.
 * The trees they are made from are deleted once they are packed: the benchmark's reference extracts them.
 */
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { cacheDir, treeFileSizes, type TreeSpec } from './data.js';
import { run } from './process.js';
import { describeSize, GIB, MIB } from './stats.js';
import { UDIF_CHUNK_SECTORS, UDIF_SECTOR, UDIF_ZLIB, udifTail, type UdifBlock } from '../../test/support/udif.js';

export const ZIP_SPEC: TreeSpec = { files: 10_000, totalBytes: GIB };
export const DMG_SPEC: TreeSpec = { files: 2_000, totalBytes: 477 * MIB };
/** The FAT32 volume inside the disk image: the files plus room for the file system and cluster slack. */
const DMG_VOLUME_BYTES = 512 * MIB;

/** A generated archive and what went into it. */
export interface MemberArchive {
  readonly path: string;
  readonly spec: TreeSpec;
}

function fromCache(name: string, shape: unknown): { path: string; marker: string; ready: boolean } {
  const path = join(cacheDir(), name);
  const marker = `${path}.complete.json`;
  const ready = existsSync(path) && existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify({ ...(shape as object), size: statSync(path).size });
  return { path, marker, ready };
}

function markComplete(path: string, marker: string, shape: unknown): void {
  writeFileSync(marker, JSON.stringify({ ...(shape as object), size: statSync(path).size }));
}

/**
 * Writes a tree of `spec.files` files (the sizes of {@link treeFileSizes}), 100 per folder. `mixed`: every
 * other file holds four bits of entropy per byte (compressible to about half), the rest random bytes.
 */
async function writeMemberTree(root: string, spec: TreeSpec, mixed: boolean): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  const sizes = treeFileSizes(spec);
  let buffer = Buffer.allocUnsafe(MIB);
  for (const [index, size] of sizes.entries()) {
    const folder = join(root, `d${String(Math.floor(index / 1000)).padStart(2, '0')}`, `s${Math.floor(index / 100) % 10}`);
    if (index % 100 === 0) mkdirSync(folder, { recursive: true });
    if (buffer.length < size) buffer = Buffer.allocUnsafe(size);
    const content = buffer.subarray(0, size);
    randomFillSync(content);
    if (mixed && index % 2 === 1) for (let i = 0; i < content.length; i++) content[i]! &= 0x0f;
    await writeFile(join(folder, `f${String(index).padStart(5, '0')}.bin`), content);
  }
}

/** The 1 GiB ZIP of 10,000 files (stored and deflated members), built on first use (about a minute). */
export async function memberZip(log: (line: string) => void): Promise<MemberArchive> {
  const shape = { ...ZIP_SPEC, mixed: true, zip: '-6' };
  const cached = fromCache(`members-${ZIP_SPEC.files}-${describeSize(ZIP_SPEC.totalBytes).replace(' ', '')}.zip`, shape);
  if (cached.ready) return { path: cached.path, spec: ZIP_SPEC };
  const tree = `${cached.path}.tree`;
  log(`members: generating a ZIP of ${ZIP_SPEC.files} files, ${describeSize(ZIP_SPEC.totalBytes)}, in ${cached.path}`);
  rmSync(cached.path, { force: true });
  try {
    await writeMemberTree(tree, ZIP_SPEC, true);
    await run('zip', ['-q', '-r', '-6', '-X', cached.path, '.'], { cwd: tree, stdout: 'ignore' });
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  markComplete(cached.path, cached.marker, shape);
  return { path: cached.path, spec: ZIP_SPEC };
}

/** The disk image of about 500 MB: UDIF, zlib chunks, around a FAT32 volume of 2,000 files. */
export async function memberDmg(log: (line: string) => void): Promise<MemberArchive> {
  const shape = { ...DMG_SPEC, volume: DMG_VOLUME_BYTES, fat: 32, trimmed: true };
  const cached = fromCache(`members-${DMG_SPEC.files}-${describeSize(DMG_SPEC.totalBytes).replace(' ', '')}.dmg`, shape);
  if (cached.ready) return { path: cached.path, spec: DMG_SPEC };
  const tree = `${cached.path}.tree`;
  const volume = `${cached.path}.volume`;
  log(`members: generating a disk image of ${DMG_SPEC.files} files, ${describeSize(DMG_SPEC.totalBytes)}, in ${cached.path}`);
  rmSync(cached.path, { force: true });
  try {
    await writeMemberTree(tree, DMG_SPEC, false);
    const handle = await open(volume, 'w');
    await handle.truncate(DMG_VOLUME_BYTES);
    await handle.close();
    await run('mkfs.fat', ['-F', '32', '-n', 'INSTALLER', volume], { stdout: 'ignore' });
    // mkfs.fat leaves a few sectors after the last whole cluster, which 7-Zip reports as data after the end
    // of the volume (and hashcheck then as damage): the image is cut to the volume's own size, as a disk
    // image holds it.
    const probe = await run('7zz', ['l', volume]);
    const physical = /^Physical Size = (\d+)$/m.exec(probe.stdout);
    if (!physical) throw new Error(`7zz l ${volume} did not give the volume's size: ${probe.stdout.slice(0, 500)}`);
    await truncate(volume, Number(physical[1]));
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    for (const top of readdirSync(tree).sort()) {
      await run('mcopy', ['-s', '-Q', '-i', volume, join(tree, top), '::/'], { env, stdout: 'ignore' });
    }
    await writeUdif(volume, cached.path);
  } finally {
    rmSync(tree, { recursive: true, force: true });
    rmSync(volume, { force: true });
  }
  markComplete(cached.path, cached.marker, shape);
  return { path: cached.path, spec: DMG_SPEC };
}

/**
 * Wraps a volume image in UDIF as `hdiutil` writes it, reading and writing 1 MiB at a time: the volume in
 * zlib chunks of 2,048 sectors (`0x80000005`), the `mish` block table in an XML property list
 * (`resource-fork` → `blkx`), then the 512-byte `koly` trailer. The same layout as the test suite's `udifOf`.
 */
export async function writeUdif(volumePath: string, outPath: string, partitionName = 'disk image (DOS_FAT_32 : 1)'): Promise<void> {
  const volumeBytes = statSync(volumePath).size;
  const sectors = Math.ceil(volumeBytes / UDIF_SECTOR);
  const blocks: UdifBlock[] = [];
  const input = await open(volumePath, 'r');
  const output = await open(outPath, 'w');
  let offset = 0;
  try {
    const chunk = Buffer.alloc(UDIF_CHUNK_SECTORS * UDIF_SECTOR);
    for (let sector = 0; sector < sectors; sector += UDIF_CHUNK_SECTORS) {
      const count = Math.min(UDIF_CHUNK_SECTORS, sectors - sector);
      const length = count * UDIF_SECTOR;
      chunk.fill(0, 0, length);
      await input.read(chunk, 0, length, sector * UDIF_SECTOR);
      const compressed = deflateSync(chunk.subarray(0, length));
      blocks.push({ type: UDIF_ZLIB, sector, count, offset, length: compressed.length });
      await output.write(compressed);
      offset += compressed.length;
    }
    await output.write(udifTail(blocks, sectors, offset, partitionName));
  } finally {
    await input.close();
    await output.close();
  }
}
