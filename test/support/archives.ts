import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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

/** One file compressed alone by `gzip`, `bzip2` or `xz`, keeping its name where the format stores one. */
export function compressedOf(name: string, content: string | Buffer, tool: 'gzip' | 'bzip2' | 'xz'): Buffer {
  const work = workFolder();
  try {
    writeFileSync(join(work.path, name), content);
    run(work.path, tool, ['-k', name]);
    return readFileSync(join(work.path, `${name}.${{ gzip: 'gz', bzip2: 'bz2', xz: 'xz' }[tool]}`));
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
 * Whether a tool is installed. Tests of formats built by `7zz`, `gcab`, `msibuild` or `genisoimage` skip
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
export function sevenZipOf(files: Record<string, string | Buffer>): Buffer {
  return built(files, 'out.7z', (tree, out) => run(tree, '7zz', ['a', '-bd', '-y', out, ...Object.keys(files)]));
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
