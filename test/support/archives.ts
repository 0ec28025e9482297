import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { UDIF_CHUNK_SECTORS, UDIF_SECTOR, UDIF_ZLIB, udifTail, type UdifBlock } from './udif.js';

/**
 * Archives built at test time by the real tools (Info-ZIP `zip`, GNU `tar`, `gzip`, `bzip2`, `xz`), never
 * hand-written bytes. Each builder works in its own folder and returns the archive's bytes.
 */

/** The EICAR test file: on the seed list as a `test-file` record. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** A fresh folder under the OS temporary folder, deleted by `remove`. */
export function workFolder(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'hashcheck-archives-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes files (path → content) under `folder`, creating their folders. */
export function writeTree(folder: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
}

function run(cwd: string, command: string, args: readonly string[]): void {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A ZIP of the given files, with `zip -P` when a password is given. */
export function zipOf(files: Record<string, string | Buffer>, options: { password?: string } = {}): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, files);
    run(tree, 'zip', ['-q', '-X', ...(options.password ? ['-P', options.password] : []), join(work.path, 'out.zip'), ...Object.keys(files)]);
    return readFileSync(join(work.path, 'out.zip'));
  } finally {
    work.remove();
  }
}

/** A tar of the given files, compressed with `gzip`, `bzip2` or `xz` (tar's `-z`, `-j`, `-J`) or not at all. */
export function tarOf(files: Record<string, string | Buffer>, compression: 'gzip' | 'bzip2' | 'xz' | 'none' = 'none'): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, files);
    const flag = { gzip: ['-z'], bzip2: ['-j'], xz: ['-J'], none: [] }[compression];
    run(tree, 'tar', ['-c', '--format=ustar', ...flag, '-f', join(work.path, 'out'), ...Object.keys(files)]);
    return readFileSync(join(work.path, 'out'));
  } finally {
    work.remove();
  }
}

/** One file compressed alone by `gzip`, `bzip2`, `xz` or `zstd`, keeping its name where the format stores one. */
export function compressedOf(name: string, content: string | Buffer, tool: 'gzip' | 'bzip2' | 'xz' | 'zstd'): Buffer {
  const work = workFolder();
  try {
    writeFileSync(join(work.path, name), content);
    run(work.path, tool, ['-k', '-q', name]);
    return readFileSync(join(work.path, `${name}.${{ gzip: 'gz', bzip2: 'bz2', xz: 'xz', zstd: 'zst' }[tool]}`));
  } finally {
    work.remove();
  }
}

/**
 * A hostile tar: a member named with `..` climbing out of any folder, one with an absolute name inside
 * `outside`, a symbolic link to `outside` and then a member written through that link. Each carries EICAR,
 * so a scan that reads them finds it. GNU tar keeps such names with `-P`.
 */
export function traversalTar(outside: string): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, { payload: EICAR });
    symlinkSync(outside, join(tree, 'link'));
    const out = join(work.path, 'out.tar');
    const climb = '../'.repeat(12);
    run(tree, 'tar', ['-c', '-P', '-f', out, '--transform', `s|^payload$|${climb}evil-climbed|`, 'payload']);
    run(tree, 'tar', ['-r', '-P', '-f', out, '--transform', `s|^payload$|${join(outside, 'evil-absolute')}|`, 'payload']);
    run(tree, 'tar', ['-r', '-f', out, 'link']);
    run(tree, 'tar', ['-r', '-P', '-f', out, '--transform', 's|^payload$|link/evil-through-link|', 'payload']);
    return readFileSync(out);
  } finally {
    work.remove();
  }
}

/** `zip -0`-free zip bomb: `megabytes` MiB of zeros deflated into a few KiB. */
export function zerosZip(megabytes: number): Buffer {
  return zipOf({ 'zeros.bin': Buffer.alloc(megabytes * 1024 * 1024) });
}

/**
 * Whether a tool is installed. Tests of formats built by `7zz`, `gcab`, `msibuild`, `genisoimage`, `zstd`, `mkfs.fat`, `bsdtar` or `cpio` skip
 * without it on a developer's machine; in CI (`CI=true`, where `.ci/run` installs them) they run and fail.
 */
export function hasTool(name: string): boolean {
  if (process.env['CI'] === 'true') return true;
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A 7z archive of the given files, by Debian's 7-Zip (`7zz a`). */
export function sevenZipOf(files: Record<string, string | Buffer>, options: { headersPassword?: string } = {}): Buffer {
  // With `headersPassword`, the names are encrypted too (`-mhe=on`): the archive cannot be listed without it.
  const encryption = options.headersPassword === undefined ? [] : [`-p${options.headersPassword}`, '-mhe=on'];
  return built(files, 'out.7z', (tree, out) => run(tree, '7zz', ['a', '-bd', '-y', ...encryption, out, ...Object.keys(files)]));
}

/** A Microsoft cabinet (MSZIP) of the given files, by `gcab -c -z`. */
export function cabinetOf(files: Record<string, string | Buffer>): Buffer {
  return built(files, 'out.cab', (tree, out) => run(tree, 'gcab', ['-c', '-z', out, ...Object.keys(files)]));
}

/** An MSI (by msitools' `msibuild`) carrying the given files in an embedded MSZIP cabinet stream `disk1.cab`. */
export function msiWithCabinet(files: Record<string, string | Buffer>): Buffer {
  return built(files, 'out.msi', (tree, out) => {
    run(tree, 'gcab', ['-c', '-z', join(tree, '..', 'disk1.cab'), ...Object.keys(files)]);
    run(tree, 'msibuild', [out, '-s', 'Installer', 'hashcheck tests', ';1033', '{0B3D5C1E-8F0A-4C51-9D3E-6A1B2C3D4E5F}']);
    run(join(tree, '..'), 'msibuild', [out, '-a', 'disk1.cab', 'disk1.cab']);
  });
}

/** An ISO 9660 image (Rock Ridge and Joliet) of the given files, by `genisoimage`. */
export function isoOf(files: Record<string, string | Buffer>): Buffer {
  return built(files, 'out.iso', (tree, out) => run(tree, 'genisoimage', ['-quiet', '-R', '-J', '-o', out, '.']));
}

function built(files: Record<string, string | Buffer>, outName: string, make: (tree: string, out: string) => void): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, files);
    const out = join(work.path, outName);
    make(tree, out);
    return readFileSync(out);
  } finally {
    work.remove();
  }
}

/**
 * A FAT volume image holding the given files, by `mkfs.fat` and mtools' `mcopy` (dosfstools, mtools): the
 * file system of the disk image {@link udifOf} wraps. Paths keep their folders; names are used as given.
 */
export function fatVolumeOf(files: Record<string, string | Buffer>, megabytes = 4): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, files);
    const image = join(work.path, 'volume.img');
    writeFileSync(image, Buffer.alloc(megabytes * 1024 * 1024));
    run(work.path, 'mkfs.fat', ['-F', '12', '-n', 'INSTALLER', image]);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    for (const path of Object.keys(files)) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        try {
          execFileSync('mmd', ['-i', image, `::/${parts.slice(0, i).join('/')}`], { env, stdio: 'ignore' });
        } catch {
          // The folder is there already.
        }
      }
      execFileSync('mcopy', ['-i', image, join(tree, path), `::/${path}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    return readFileSync(image);
  } finally {
    work.remove();
  }
}

/**
 * How {@link udifOf} stores each chunk of the volume, with the block type its `mish` table names:
 * `zlib` (`0x80000005`, by `node:zlib`), `raw` (`0x00000001`, the sectors as they are), `bzip2` (`0x80000006`,
 * each chunk compressed by Debian's `bzip2`) and `xz` (`0x80000008`, each chunk an XZ stream from Debian's `xz`,
 * the chunk kind 7-Zip's DMG reader decodes as XZ).
 */
export type UdifChunkKind = 'zlib' | 'raw' | 'bzip2' | 'xz';

const UDIF_CHUNK_TYPES: Record<UdifChunkKind, number> = { zlib: UDIF_ZLIB, raw: 0x00000001, bzip2: 0x80000006, xz: 0x80000008 };

function udifChunk(kind: UdifChunkKind, sectors: Buffer): Buffer {
  switch (kind) {
    case 'zlib':
      return deflateSync(sectors);
    case 'raw':
      return sectors;
    case 'bzip2':
      return execFileSync('bzip2', ['-c', '-9'], { input: sectors, maxBuffer: 64 * 1024 * 1024 });
    case 'xz':
      return execFileSync('xz', ['-c', '--format=xz', '--check=crc32'], { input: sectors, maxBuffer: 64 * 1024 * 1024 });
  }
}

/**
 * An Apple disk image (UDIF, as `hdiutil` writes them) around a volume image: the volume in chunks of
 * 1 MiB (zlib, `0x80000005`, unless `chunks` names another kind), a `mish` block table in an XML property list
 * (`resource-fork` → `blkx`), then the 512-byte `koly` trailer. The format is Apple's published one; every
 * compressed chunk is written by `node:zlib` or by the Debian tool of its kind.
 */
export function udifOf(volume: Buffer, partitionName = 'disk image (DOS_FAT_12 : 1)', options: { chunks?: UdifChunkKind } = {}): Buffer {
  const kind = options.chunks ?? 'zlib';
  const sectors = Math.ceil(volume.length / UDIF_SECTOR);
  const padded = Buffer.concat([volume, Buffer.alloc(sectors * UDIF_SECTOR - volume.length)]);
  const chunks: Buffer[] = [];
  const blocks: UdifBlock[] = [];
  let offset = 0;
  for (let sector = 0; sector < sectors; sector += UDIF_CHUNK_SECTORS) {
    const count = Math.min(UDIF_CHUNK_SECTORS, sectors - sector);
    const stored = udifChunk(kind, padded.subarray(sector * UDIF_SECTOR, (sector + count) * UDIF_SECTOR));
    blocks.push({ type: UDIF_CHUNK_TYPES[kind], sector, count, offset, length: stored.length });
    chunks.push(stored);
    offset += stored.length;
  }
  return Buffer.concat([...chunks, udifTail(blocks, sectors, offset, partitionName)]);
}

/** test/support/hostile-zips.py: ZIPs written by Python's zipfile, their headers then made hostile (see the script). */
const HOSTILE_ZIPS = join(dirname(fileURLToPath(import.meta.url)), 'hostile-zips.py');

function hostileZip(kind: 'overlap' | 'sizelie' | 'gzsizelie' | 'names' | 'empties', ...numbers: number[]): Buffer {
  const work = workFolder();
  try {
    const out = join(work.path, 'out.zip');
    run(work.path, 'python3', [HOSTILE_ZIPS, kind, out, ...numbers.map(String)]);
    return readFileSync(out);
  } finally {
    work.remove();
  }
}

/**
 * David Fifield's overlapping-entries zip bomb, fully overlapped: `entries` central directory entries all
 * pointing at one member of `kernelBytes` zeros, so it unpacks to `entries × kernelBytes` without nesting.
 */
export function overlappingZipBomb(entries: number, kernelBytes: number): Buffer {
  return hostileZip('overlap', entries, kernelBytes);
}

/** A ZIP whose one member, `liar.bin`, claims to be `claimed` bytes long and inflates to `realBytes`. */
export function sizeLyingZip(claimed: number, realBytes: number): Buffer {
  return hostileZip('sizelie', claimed, realBytes);
}

/** A gzip file of `realBytes` bytes whose trailer claims `claimed` (the size 7-Zip lists for it). */
export function sizeLyingGzip(claimed: number, realBytes: number): Buffer {
  return hostileZip('gzsizelie', claimed, realBytes);
}

/**
 * A ZIP of members named with `..` climbing to /tmp, an absolute /tmp name, a NUL inside a name and control
 * characters (newline, carriage return, escape, delete); each holds a short text naming what it is.
 */
export function hostileNamesZip(): Buffer {
  return hostileZip('names');
}

/** A ZIP of `count` empty members, written by Python's zipfile (the `zip` tool would need as many files on disk). */
export function emptyMembersZip(count: number): Buffer {
  return hostileZip('empties', count);
}

/**
 * A 42.zip-style nested bomb, by Info-ZIP `zip`: a ZIP of `fanout` copies of a ZIP of `fanout` copies ...
 * (`levels` deep) of a ZIP of `baseMegabytes` MiB of zeros; it claims `fanout ** levels × baseMegabytes` MiB.
 */
export function nestedZipBomb(fanout: number, levels: number, baseMegabytes: number): Buffer {
  let layer = zerosZip(baseMegabytes);
  for (let level = 0; level < levels; level++) {
    const copies: Record<string, Buffer> = {};
    // Not named `.zip`: `zip` would store those as they are instead of deflating the copies together.
    for (let i = 0; i < fanout; i++) copies[`layer-${i}`] = layer;
    layer = zipOf(copies);
  }
  return layer;
}

/**
 * A ZIP (Info-ZIP `zip -y`, which stores links as links) with a symbolic link to `/etc/passwd`, one to the
 * folder `outside`, and a plain file beside them.
 */
export function symlinksZip(outside: string): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, { 'readme.txt': 'links beside me' });
    symlinkSync('/etc/passwd', join(tree, 'passwd'));
    symlinkSync(outside, join(tree, 'outside'));
    run(tree, 'zip', ['-q', '-X', '-y', join(work.path, 'out.zip'), 'readme.txt', 'passwd', 'outside']);
    return readFileSync(join(work.path, 'out.zip'));
  } finally {
    work.remove();
  }
}

/**
 * A tar (GNU tar) with a symbolic link `passwd` to `target` followed by a regular member of the same name
 * holding EICAR, which an extractor following links would write over `target`. Tests point it at a file of
 * their own, never at the real /etc/passwd.
 */
export function linkThenFileTar(target: string): Buffer {
  const work = workFolder();
  try {
    const tree = join(work.path, 'tree');
    writeTree(tree, { payload: EICAR });
    symlinkSync(target, join(tree, 'passwd'));
    const out = join(work.path, 'out.tar');
    run(tree, 'tar', ['-c', '-f', out, 'passwd']);
    run(tree, 'tar', ['-r', '-f', out, '--transform', 's|^payload$|passwd|', 'payload']);
    return readFileSync(out);
  } finally {
    work.remove();
  }
}

/**
 * A cpio archive of the given files by GNU `cpio -o`, in one of its header formats: `odc` (portable ASCII,
 * `070707`), `newc` (`070701`), `crc` (`070702`) or `bin` (old binary, 0x71C7 in this machine's byte order).
 * Names are listed as `find .` lists them, folders first and with the `./` macOS payloads carry.
 */
export function cpioOf(files: Record<string, string | Buffer>, format: 'odc' | 'newc' | 'crc' | 'bin' = 'odc'): Buffer {
  return built(files, 'out.cpio', (tree, out) => {
    const names = execFileSync('find', ['.'], { cwd: tree, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    execFileSync('sh', ['-c', `cpio -o --quiet -H ${format} > "$1"`, 'sh', out], { cwd: tree, input: names.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
  });
}

/**
 * A `pbzx` stream, the chunked payload of newer macOS flat packages, around `data`: the magic `pbzx` and the
 * chunk size (64-bit big-endian), then per chunk of at most that size its length, the length of its XZ stream
 * and the stream, each compressed by the real `xz`. No free tool here writes pbzx, so only this framing is
 * written by hand, as open-source pbzx readers read it; every compressed byte is `xz`'s.
 */
export function pbzxOf(data: Buffer, chunkBytes = 16 * 1024 * 1024): Buffer {
  const header = Buffer.alloc(12);
  header.write('pbzx', 0, 'latin1');
  header.writeBigUInt64BE(BigInt(chunkBytes), 4);
  const parts = [header];
  for (let at = 0; at < Math.max(data.length, 1); at += chunkBytes) {
    const chunk = data.subarray(at, at + chunkBytes);
    const xz = execFileSync('xz', ['-c', '-q'], { input: chunk, maxBuffer: 2 * chunkBytes + 1024 * 1024 });
    const sizes = Buffer.alloc(16);
    sizes.writeBigUInt64BE(BigInt(chunk.length), 0);
    sizes.writeBigUInt64BE(BigInt(xz.length), 8);
    parts.push(sizes, xz);
  }
  return Buffer.concat(parts);
}

/**
 * A macOS flat package (`.pkg`) built like `productbuild`'s, by libarchive's `bsdtar --format xar`: a
 * `Distribution`, and one component `<component>.pkg` with its `Bom`, `PackageInfo` and `Payload`, the files
 * to install as an odc cpio (as `pkgbuild` writes it), gzip'd by `gzip` or wrapped in {@link pbzxOf} as newer
 * packages carry it. The `Bom` holds a placeholder: no free tool here writes Apple's bill of materials.
 */
export function flatPackageOf(payloadFiles: Record<string, string | Buffer>, options: { payload?: 'gzip' | 'pbzx'; component?: string } = {}): Buffer {
  const cpio = cpioOf(payloadFiles, 'odc');
  const payload = options.payload === 'pbzx' ? pbzxOf(cpio) : execFileSync('gzip', ['-c', '-n'], { input: cpio });
  const component = `${options.component ?? 'app'}.pkg`;
  const files = {
    Distribution: `<?xml version="1.0" encoding="utf-8"?>\n<installer-gui-script minSpecVersion="1"><pkg-ref id="com.example.${options.component ?? 'app'}">#${component}</pkg-ref></installer-gui-script>\n`,
    [`${component}/PackageInfo`]: `<?xml version="1.0" encoding="utf-8"?>\n<pkg-info format-version="2" identifier="com.example.${options.component ?? 'app'}" version="1.0" install-location="/"/>\n`,
    [`${component}/Bom`]: 'BOMStore',
    [`${component}/Payload`]: payload,
  };
  return built(files, 'out.pkg', (tree, out) => run(tree, 'bsdtar', ['--format', 'xar', '-cf', out, 'Distribution', component]));
}
