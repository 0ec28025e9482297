/**
 * The inputs of the suite: random files and a file tree, generated once into a cache folder and reused
 * while they are present and the right size, so a second run spends its time measuring.
 *
 * Cache policy: the folder is `HASHCHECK_BENCH_CACHE`, or `hashcheck-bench-cache` in the OS temporary
 * folder. It holds up to about 5.3 GiB (random files of 256 MiB, 1 GiB and 2 GiB, the 2 GiB tree) and is
 * kept between runs on purpose; `npm run bench -- --clean` deletes it at the end of the run. Everything
 * else a benchmark writes (server data, bundles, hash lists) goes to a fresh temporary folder that is
 * removed when the benchmark ends.
 */
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './process.js';
import { describeSize, MIB } from './stats.js';

export function cacheDir(): string {
  const dir = process.env['HASHCHECK_BENCH_CACHE'] || join(tmpdir(), 'hashcheck-bench-cache');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeCache(): void {
  rmSync(cacheDir(), { recursive: true, force: true });
}

/** A fresh temporary folder, removed by `dispose`. */
export async function scratchDir(prefix: string): Promise<{ path: string; dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `hashcheck-bench-${prefix}-`));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A file of `bytes` random bytes in the cache, written on first use (about 2 s per GiB here). Random
 * bytes defeat any compression or deduplication on the way, as real installers mostly do.
 */
export async function randomFile(bytes: number, log: (line: string) => void): Promise<string> {
  const path = join(cacheDir(), `random-${describeSize(bytes).replace(' ', '')}.bin`);
  if (existsSync(path) && statSync(path).size === bytes) return path;
  log(`generating ${describeSize(bytes)} of random bytes in ${path}`);
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    const buffer = Buffer.allocUnsafe(16 * MIB);
    for (let written = 0; written < bytes; ) {
      const length = Math.min(buffer.length, bytes - written);
      randomFillSync(buffer, 0, length);
      await handle.write(buffer, 0, length);
      written += length;
    }
  } finally {
    await handle.close();
  }
  renameSync(partial, path);
  return path;
}

export interface ReferenceDigests {
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
}

/** `openssl dgst -r` of one algorithm: the hex digest. */
export async function opensslDigest(algorithm: 'md5' | 'sha1' | 'sha256', path: string): Promise<string> {
  const { stdout } = await run('openssl', ['dgst', `-${algorithm}`, '-r', path]);
  const hex = stdout.split(' ')[0] ?? '';
  if (!/^[0-9a-f]{32,64}$/.test(hex)) throw new Error(`Unexpected openssl output for ${path}: ${stdout.slice(0, 200)}`);
  return hex;
}

/**
 * The three digests of a cached file according to openssl, the reference every scan is checked against.
 * Kept next to the file (keyed by its size and modification time) so they are computed once.
 */
export async function referenceDigests(path: string): Promise<ReferenceDigests> {
  const sidecar = `${path}.digests.json`;
  const { size, mtimeMs } = statSync(path);
  if (existsSync(sidecar)) {
    const saved = JSON.parse(readFileSync(sidecar, 'utf8')) as ReferenceDigests & { size: number; mtimeMs: number };
    if (saved.size === size && saved.mtimeMs === mtimeMs) return { md5: saved.md5, sha1: saved.sha1, sha256: saved.sha256 };
  }
  const digests = {
    md5: await opensslDigest('md5', path),
    sha1: await opensslDigest('sha1', path),
    sha256: await opensslDigest('sha256', path),
  };
  writeFileSync(sidecar, JSON.stringify({ ...digests, size, mtimeMs }));
  return digests;
}

/** Reads files through once so every contender then finds them in the page cache. */
export async function warmPageCache(paths: readonly string[]): Promise<void> {
  const buffer = Buffer.allocUnsafe(4 * MIB);
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
    } finally {
      await handle.close();
    }
  }
}

/** Every regular file under `root`, depth first. */
export async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push(path);
    }
  };
  await walk(root);
  return found;
}

/** The shape of a generated tree. */
export interface TreeSpec {
  readonly files: number;
  readonly totalBytes: number;
}

/**
 * A deterministic pseudo-random sequence (mulberry32): the same tree, file for file, on every machine.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * File sizes of a tree that looks like a software share: three quarters small files (256 B–32 KiB:
 * scripts, configs, icons), a quarter medium (32–256 KiB: DLLs), and one percent large files (installers,
 * archives) holding the rest of the bytes, log-uniformly spread, in a shuffled order.
 */
export function treeFileSizes(spec: TreeSpec): number[] {
  const random = seededRandom(20230329);
  const logUniform = (low: number, high: number) => Math.round(Math.exp(Math.log(low) + random() * (Math.log(high) - Math.log(low))));
  const large = Math.max(1, Math.round(spec.files / 100));
  const small = Math.round(spec.files * 0.75);
  const medium = spec.files - large - small;
  const sizes: number[] = [];
  for (let i = 0; i < small; i++) sizes.push(logUniform(256, 32 * 1024));
  for (let i = 0; i < medium; i++) sizes.push(logUniform(32 * 1024, 256 * 1024));
  const used = sizes.reduce((a, b) => a + b, 0);
  const rest = spec.totalBytes - used;
  if (rest < large) throw new RangeError(`A tree of ${spec.files} files cannot hold only ${spec.totalBytes} bytes`);
  const weights = Array.from({ length: large }, () => logUniform(MIB, 64 * MIB));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const largeSizes = weights.map((w) => Math.floor((w / weightSum) * rest));
  largeSizes[0]! += rest - largeSizes.reduce((a, b) => a + b, 0);
  sizes.push(...largeSizes);
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
  }
  return sizes;
}

/**
 * A tree of `spec.files` files holding `spec.totalBytes` in all, cut from a random file of the same size
 * (so every file has its own content), 100 files per folder, ten folders per top folder. Reused while the
 * marker file says it was completed with the same spec.
 */
export async function fileTree(spec: TreeSpec, log: (line: string) => void): Promise<string> {
  const root = join(cacheDir(), `tree-${spec.files}-${describeSize(spec.totalBytes).replace(' ', '')}`);
  const marker = join(cacheDir(), `${root.split('/').pop()}.complete.json`);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(spec) && existsSync(root)) return root;
  const source = await randomFile(spec.totalBytes, log);
  log(`generating a tree of ${spec.files} files, ${describeSize(spec.totalBytes)}, in ${root}`);
  rmSync(marker, { force: true });
  rmSync(root, { recursive: true, force: true });
  const sizes = treeFileSizes(spec);
  const input = await open(source, 'r');
  try {
    let buffer = Buffer.allocUnsafe(MIB);
    for (const [index, size] of sizes.entries()) {
      const folder = join(root, `d${String(Math.floor(index / 1000)).padStart(3, '0')}`, `s${Math.floor(index / 100) % 10}`);
      if (index % 100 === 0) mkdirSync(folder, { recursive: true });
      if (buffer.length < size) buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await input.read(buffer, 0, size, null);
      if (bytesRead !== size) throw new Error(`Short read from ${source} while cutting the tree`);
      writeFileSync(join(folder, `f${String(index).padStart(5, '0')}.bin`), buffer.subarray(0, size));
    }
  } finally {
    await input.close();
  }
  writeFileSync(marker, JSON.stringify(spec));
  return root;
}

/** The total size of the regular files under `root`. */
export async function treeBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}
