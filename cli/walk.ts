import { statSync, type Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A regular file found by the walk, with its size when it was found. */
export interface WalkedFile {
  readonly path: string;
  readonly size: number;
}

/**
 * Something the walk could not scan, or chose not to:
 * - `unreadable`: a folder that cannot be listed or an entry that cannot be examined; what it holds is not checked.
 * - `not-found`: a path given to scan that does not exist.
 * - `symlink-loop`: a link that leads back to a folder the walk is already inside; following it would never end.
 * - `broken-symlink`: a link to nothing.
 * - `vanished`: an entry removed between being listed and being examined.
 * - `special-file`: a device, FIFO or socket; reading one could block forever or never end.
 * - `symlink-not-followed`: a symbolic link inside a folder, left alone as links are unless `follow` is set.
 */
export type WalkProblemKind =
  | 'unreadable'
  | 'not-found'
  | 'symlink-loop'
  | 'broken-symlink'
  | 'vanished'
  | 'special-file'
  | 'symlink-not-followed';

/** One thing the walk could not scan or chose not to, with a one-line message naming the path. */
export interface WalkProblem {
  readonly kind: WalkProblemKind;
  readonly path: string;
  readonly message: string;
}

/** Callbacks of {@link walkPaths}. */
export interface WalkHooks {
  readonly onFile?: (file: WalkedFile) => void;
  readonly onProblem: (problem: WalkProblem) => void;
  /**
   * Follow symbolic links found inside folders. Off by default, as `find` and `hashdeep` do: a link may
   * lead out of the tree (to `/`, to a network share). A path given to walk is followed either way.
   */
  readonly follow?: boolean;
}

/**
 * Lists every regular file under the given paths, depth first, in name order. Symbolic links inside
 * folders are reported as `symlink-not-followed` unless `hooks.follow` is set; a path given is followed.
 *
 * Following links can lead in circles (`dir/up -> ..`): a folder is identified by device and inode, and a
 * link back to a folder the walk is already inside is reported as a loop and not followed. A folder
 * reached a second time by another way (a link to a sibling) is not listed again: its files are already
 * on the list once. Problems are reported through `onProblem` and never stop the walk.
 */
export async function walkPaths(roots: readonly string[], hooks: WalkHooks): Promise<WalkedFile[]> {
  const files: WalkedFile[] = [];
  const seen = new Set<string>();
  /** The folders the walk is inside, by identity, with the path it entered them by. */
  const ancestors = new Map<string, string>();

  const visit = async (path: string, isRoot: boolean, isLink = false): Promise<void> => {
    if (isLink && !hooks.follow) {
      return hooks.onProblem({ kind: 'symlink-not-followed', path, message: `${path}: symbolic link; not followed (see --follow)` });
    }
    let stats;
    try {
      // Synchronous: the answer comes from the kernel's caches in microseconds, where the asynchronous call
      // spends more than that handing the work to another thread and back, once per file.
      stats = statSync(path, { bigint: true });
    } catch (error) {
      return hooks.onProblem(await describeStatFailure(path, error as NodeJS.ErrnoException, isRoot));
    }
    if (stats.isFile()) {
      const file = { path, size: Number(stats.size) };
      files.push(file);
      hooks.onFile?.(file);
      return;
    }
    if (!stats.isDirectory()) {
      return hooks.onProblem({ kind: 'special-file', path, message: `${path}: not a regular file (a device, FIFO or socket); skipped` });
    }
    const identity = `${stats.dev}:${stats.ino}`;
    const loopsTo = ancestors.get(identity);
    if (loopsTo !== undefined) {
      return hooks.onProblem({ kind: 'symlink-loop', path, message: `${path}: symbolic link loop (leads back to ${loopsTo}); not followed` });
    }
    if (seen.has(identity)) return;
    seen.add(identity);
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      return hooks.onProblem({ kind: 'unreadable', path, message: `${path}: cannot list the folder: ${describeErrno(error)}` });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    ancestors.set(identity, path);
    try {
      for (const [i, entry] of entries.entries()) {
        // Now and then the walk lets the rest of the program run (the hashing threads' answers, lookups).
        if (i > 0 && i % YIELD_EVERY === 0) await new Promise(setImmediate);
        await visit(join(path, entry.name), false, entry.isSymbolicLink());
      }
    } finally {
      ancestors.delete(identity);
    }
  };

  for (const root of roots) await visit(root, true);
  return files;
}

/** Entries examined between two turns of the event loop. */
const YIELD_EVERY = 256;

async function describeStatFailure(path: string, error: NodeJS.ErrnoException, isRoot: boolean): Promise<WalkProblem> {
  if (error.code === 'ELOOP') {
    return { kind: 'symlink-loop', path, message: `${path}: symbolic links that point at each other; not followed` };
  }
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
    const link = await lstat(path).then(
      (stats) => stats.isSymbolicLink(),
      () => false,
    );
    if (link) return { kind: 'broken-symlink', path, message: `${path}: symbolic link to nothing; skipped` };
    if (isRoot) return { kind: 'not-found', path, message: `${path}: no such file or folder` };
    // Listed a moment ago, gone now: nothing is left to check.
    return { kind: 'vanished', path, message: `${path}: removed while the walk ran; skipped` };
  }
  return { kind: 'unreadable', path, message: `${path}: cannot examine: ${describeErrno(error)}` };
}

/** `permission denied (EACCES)` from a file-system error. */
export function describeErrno(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const reason = (message ?? String(error)).replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return code ? `${reason} (${code})` : reason;
}
