import { digestStream, FILE_CHUNK_BYTES, type FileDigests } from '../lambdas/core/digest.js';
import { MAX_BULK_HASHES } from '../lambdas/core/limits.js';
import type { HashStore } from '../lambdas/core/lookup.js';
import { judgeFiles, type FileVerdict } from '../lambdas/core/scan.js';
import { readFileChunks } from '../lambdas/adapters/file-source.js';
import { containerFormat, HEAD_BYTES, TAIL_BYTES } from '../lambdas/core/inside/formats.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../lambdas/core/inside/limits.js';
import { lookInside, type LookedInside, type LookInside } from '../lambdas/core/inside/look-inside.js';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { mapLimit } from './concurrency.js';
import { defaultPoolSize, HashPool } from './hash-pool.js';
import { CliError, EXIT_ERROR, EXIT_KNOWN_BAD, EXIT_NOTHING_KNOWN_BAD } from './errors.js';
import { writeScanRows, type OutputFormat, type ScanRow } from './output.js';
import { formatBytes, formatCount, formatCounted, formatDuration, type ProgressSnapshot } from './progress.js';
import type { ServiceClient } from './service-client.js';
import { ServiceHashStore } from './service-hash-store.js';
import type { OutputWriter, Reporter } from './terminal.js';
import { uploadFile } from './upload-file.js';
import { describeErrno, walkPaths, type WalkedFile, type WalkProblemKind } from './walk.js';

/** What `hashcheck scan` was asked to do. */
export interface ScanOptions {
  readonly paths: readonly string[];
  /** Send the files to the service instead of hashing them here. */
  readonly upload: boolean;
  /** Print every file checked, not only the known-bad ones. */
  readonly all: boolean;
  /** Follow symbolic links inside folders; left alone and counted otherwise. */
  readonly follow: boolean;
  /** Files and folders that cannot be read are still reported, but no longer make the exit status 2. */
  readonly ignoreUnreadable: boolean;
  /** Open archives here and digest their members too (`--no-members` leaves them closed). @default true */
  readonly members?: boolean;
  /** The limits archives are opened within (`HASHCHECK_INSIDE_*`, as on the service). @default DEFAULT_INSIDE_LIMITS */
  readonly insideLimits?: InsideLimits;
  readonly format: OutputFormat;
  /** Files uploaded at once, and lookups in flight. */
  readonly concurrency: number;
  /** Threads hashing small files (`HASHCHECK_SCAN_THREADS`). @default one per core */
  readonly threads?: number;
  /** How long an upload's scan may take on the service. */
  readonly waitMs: number;
  readonly timeoutMs: number;
}

/** What `hashcheck scan` works with. */
export interface ScanDeps {
  readonly client: ServiceClient;
  readonly reporter: Reporter;
  readonly out: OutputWriter;
  readonly colour: boolean;
}

/** Three digests per file, and a bulk lookup takes 10,000 hashes. */
const FILES_PER_LOOKUP = Math.floor(MAX_BULK_HASHES / 3);
/** A lookup is sent before it is full while fewer than this many are in flight... */
const EARLY_LOOKUPS_IN_FLIGHT = 2;
/** ...once it holds this many files. */
const EARLY_LOOKUP_FILES = 256;
/**
 * Files from this size on are digested one at a time on the main thread by `digestStream`, which splits
 * the three digests across two threads; smaller ones go whole to the pool, one thread per file.
 */
const LARGE_FILE_BYTES = 8 * 1024 * 1024;

/** Problems that leave something unchecked: the answer is then incomplete. */
const INCOMPLETE: ReadonlySet<WalkProblemKind> = new Set(['unreadable', 'not-found']);

/**
 * Walks the paths, digests every regular file here with the core streaming digest function (or sends it
 * to the service with `upload`), looks the digests up in bulk and prints the known-bad files (every file
 * with `all`), in walk order. A progress line runs on standard error when it is a terminal.
 *
 * A link loop, a broken link or a special file is reported and skipped: nothing readable is left out.
 * A file or folder that cannot be read is reported and the scan goes on, but its content was not checked,
 * so the run ends with exit status 2 even if known-bad files were found (unless `ignoreUnreadable`): an
 * incomplete scan must not pass for a complete one. A service failure stops the scan (exit status 2); the
 * results already answered are printed first.
 *
 * @returns 0 nothing known-bad, 1 known-bad files found, 2 the scan is incomplete.
 */
export async function runScan(options: ScanOptions, deps: ScanDeps): Promise<number> {
  const { reporter } = deps;
  const started = Date.now();
  const progress = {
    phase: 'finding' as ProgressSnapshot['phase'],
    files: 0,
    totalFiles: 0,
    bytes: 0,
    totalBytes: 0,
    malicious: 0,
    linksNotFollowed: 0,
    since: started,
  };
  reporter.startProgress(() => ({ ...progress, elapsedMs: Date.now() - progress.since }));

  const problems = new Map<ProblemKind, number>();
  const count = (kind: ProblemKind) => problems.set(kind, (problems.get(kind) ?? 0) + 1);
  const unreadable = (file: WalkedFile, error: unknown) => {
    count('unreadable');
    reporter.warn(`${file.path}: cannot read: ${describeErrno(error)}`);
  };

  const rows: { index: number; row: ScanRow }[] = [];
  /** Archives not fully opened, reported in walk order once the scan ends. */
  const notFullyOpened: { index: number; message: string }[] = [];
  const record = (index: number, path: string, file: FileVerdict) => {
    if (file.verdict === 'malicious') progress.malicious++;
    // Known-bad through a member found before the stop is known-bad; anything else is only as good as what was read.
    else if (file.inside && !file.inside.complete) {
      count('inside');
      notFullyOpened.push({ index, message: `${path}: could not be fully checked inside: ${describeReasons(path, file.inside.reasons)}` });
    }
    if (options.all || file.verdict === 'malicious') rows.push({ index, row: { path, file } });
  };
  let checked = 0;
  /** Files and bytes done, counted from the start: hashing starts while the walk is still finding files. */
  const done = { files: 0, bytes: 0 };
  const hashing = options.upload
    ? undefined
    : new TreeHasher(options, deps, {
        onBytes: (bytes) => {
          done.bytes += bytes;
          if (progress.phase === 'checking') progress.bytes = done.bytes;
        },
        onFileDone: () => {
          done.files++;
          if (progress.phase === 'checking') progress.files = done.files;
        },
        onUnreadable: unreadable,
        onJudged: (index, path, file) => {
          checked++;
          record(index, path, file);
        },
      });

  let files: WalkedFile[];
  try {
    files = await walkPaths(options.paths, {
      follow: options.follow,
      onFile: (file) => {
        // Hashed as soon as it is found: the walk goes on while the threads hash.
        hashing?.add(file, progress.files);
        progress.files++;
        progress.bytes += file.size;
      },
      onProblem: (problem) => {
        count(problem.kind);
        // Links are left alone as find and hashdeep leave them: counted, not listed one by one.
        if (problem.kind === 'symlink-not-followed') progress.linksNotFollowed++;
        else if (problem.kind === 'special-file' || problem.kind === 'vanished') reporter.note(problem.message);
        else reporter.warn(problem.message);
      },
    });
  } catch (error) {
    reporter.stopProgress();
    await hashing?.abort(error);
    throw error;
  }
  Object.assign(progress, {
    phase: 'checking',
    files: done.files,
    totalFiles: files.length,
    bytes: done.bytes,
    totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    since: Date.now(),
  });

  let failure: unknown;
  try {
    if (hashing) {
      await hashing.finish();
    } else {
      await mapLimit(files, options.concurrency, async (file, index, signal) => {
        let outcome;
        try {
          outcome = await uploadFile(deps.client, file, {
            waitMs: options.waitMs,
            timeoutMs: options.timeoutMs,
            signal,
            onBytes: (bytes) => (progress.bytes += bytes),
          });
        } catch (error) {
          if (!isFileSystemError(error)) throw error;
          unreadable(file, error);
          return;
        } finally {
          progress.files++;
        }
        if ('failure' in outcome) {
          count('failed');
          reporter.warn(outcome.failure);
          return;
        }
        checked++;
        record(index, file.path, outcome.file);
      });
    }
  } catch (error) {
    failure = error;
  } finally {
    reporter.stopProgress();
  }

  rows.sort((a, b) => a.index - b.index);
  await writeScanRows(
    rows.map(({ row }) => row),
    options.format,
    deps.out,
    { colour: deps.colour },
  );
  notFullyOpened.sort((a, b) => a.index - b.index);
  for (const { message } of notFullyOpened) reporter.warn(message);

  if (failure !== undefined) {
    if (failure instanceof CliError) {
      throw new CliError(`${failure.message}; the scan stopped after ${formatCount(checked)} of ${formatCounted(files.length, 'file')}`, {
        cause: failure,
      });
    }
    throw failure;
  }

  const malicious = progress.malicious;
  const elapsed = formatDuration((Date.now() - started) / 1000);
  const totalBytes = formatBytes(progress.totalBytes);
  reporter.note(
    `checked ${formatCount(checked)} of ${formatCounted(files.length, 'file')} (${totalBytes}) in ${elapsed}: ` +
      `${formatCount(malicious)} malicious, ${formatCount(checked - malicious)} unknown${describeProblems(problems)}`,
  );
  const incomplete = [...problems].filter(
    ([kind]) => kind === 'failed' || kind === 'inside' || (INCOMPLETE.has(kind as WalkProblemKind) && !(kind === 'unreadable' && options.ignoreUnreadable)),
  );
  if (incomplete.length > 0) {
    const total = incomplete.reduce((sum, [kind, n]) => sum + (kind === 'inside' ? 0 : n), 0);
    const partly = problems.get('inside') ?? 0;
    const what = [
      ...(total > 0 ? [`${formatCounted(total, 'path was', 'paths were')} not checked`] : []),
      ...(partly > 0 ? [`${formatCounted(partly, 'file was', 'files were')} not fully checked inside`] : []),
    ];
    reporter.warn(
      `the scan is incomplete: ${what.join(' and ')} (see above)` +
        (malicious > 0 ? `, and ${formatCounted(malicious, 'known-bad file was', 'known-bad files were')} found` : '') +
        (problems.has('unreadable') ? '; --ignore-unreadable accepts unreadable files' : ''),
    );
    return EXIT_ERROR;
  }
  return malicious > 0 ? EXIT_KNOWN_BAD : EXIT_NOTHING_KNOWN_BAD;
}

interface HashHooks {
  onBytes(bytes: number): void;
  onFileDone(): void;
  onUnreadable(file: WalkedFile, error: unknown): void;
  onJudged(index: number, path: string, file: FileVerdict): void;
}

type Digested = { file: WalkedFile; index: number; digests: FileDigests; inside?: LookedInside };

/**
 * Digests files here as the walk finds them, and looks them up while hashing goes on:
 * - small files go whole to a pool of threads (one per core, or `threads`), in batches;
 * - large ones are digested on this thread by `digestStream`, which moves MD5 to a thread of its own, so
 *   a large file uses two cores: one at a time per two threads of the pool;
 * - digested files are looked up in bulk requests of up to 3,333 files (10,000 hashes) while hashing
 *   continues, up to `concurrency` in flight (see {@link maybeLookUp}).
 * A lookup failure stops the hashing at once. Files are judged in whatever order the threads finish;
 * the caller orders the output by the walk's index.
 */
class TreeHasher {
  private readonly controller = new AbortController();
  private readonly store: HashStore;
  private readonly pool: HashPool;
  private readonly work: Promise<void>[] = [];
  /** Large files are digested one after the other on each lane. */
  private readonly lanes: Promise<void>[];
  private nextLane = 0;
  private pending: Digested[] = [];
  private readonly lookups = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  /** 7-Zip's engine, loaded with the first archive met. */
  private engine: Promise<LookInside> | undefined;

  constructor(
    private readonly options: ScanOptions,
    deps: ScanDeps,
    private readonly hooks: HashHooks,
  ) {
    this.store = new ServiceHashStore(deps.client, { concurrency: options.concurrency, signal: this.controller.signal });
    this.pool = new HashPool(options.threads ?? defaultPoolSize());
    // Each large file keeps two cores busy.
    this.lanes = Array.from({ length: Math.max(1, Math.floor(this.pool.size / 2)) }, () => Promise.resolve());
  }

  /** Starts on a file the walk found; `index` is its place in the walk. */
  add(file: WalkedFile, index: number): void {
    if (this.failure) return;
    let digested: Promise<FileDigests>;
    if (file.size >= LARGE_FILE_BYTES) {
      const lane = this.nextLane++ % this.lanes.length;
      digested = this.lanes[lane]!.then(() => this.digestHere(file));
      this.lanes[lane] = digested.then(
        () => undefined,
        () => undefined,
      );
    } else {
      digested = this.pool.hash(file.path, file.size).then((digests) => {
        this.hooks.onBytes(digests.size);
        return digests;
      });
    }
    this.work.push(
      digested.then(
        (digests) => (this.options.members === false ? this.digested({ file, index, digests }) : this.lookedInto({ file, index, digests })),
        (error: unknown) => this.unreadable(file, error),
      ),
    );
  }

  /** Waits for every file added to be judged. @throws the first failure (a lookup, an unexpected error). */
  async finish(): Promise<void> {
    try {
      // Files keep being added until the walk ends, so this waits for all of them.
      await Promise.all(this.work);
      if (this.pending.length > 0) this.lookUp();
      await Promise.all(this.lookups);
    } finally {
      await this.pool.close();
    }
    if (this.failure) throw this.failure.error;
  }

  /** Stops everything after a failure outside (the walk's). */
  async abort(error: unknown): Promise<void> {
    this.fail(error);
    await this.pool.close();
  }

  private async digestHere(file: WalkedFile): Promise<FileDigests> {
    this.controller.signal.throwIfAborted();
    let read = 0;
    try {
      const chunks = counted(readFileChunks(file.path, FILE_CHUNK_BYTES), this.controller.signal, (bytes) => {
        read += bytes;
        this.hooks.onBytes(bytes);
      });
      return await digestStream(chunks, { maxBytes: Number.MAX_SAFE_INTEGER });
    } catch (error) {
      // The bar counts the file's size as done, read or not.
      this.hooks.onBytes(Math.max(0, file.size - read));
      throw error;
    }
  }

  /**
   * Opens a digested file when its bytes say it is an archive, then hands it on to be looked up. Ordinary
   * files cost one read of their first 32 KiB; archives are looked into one at a time per lane, like large files.
   */
  private async lookedInto(digested: Digested): Promise<void> {
    const { file } = digested;
    let inside: LookedInside | undefined;
    try {
      if (!this.failure && (await isContainer(file.path, file.size))) {
        const lane = this.nextLane++ % this.lanes.length;
        const looked = this.lanes[lane]!.then(() => this.lookInto(file));
        this.lanes[lane] = looked.then(
          () => undefined,
          () => undefined,
        );
        inside = await looked;
      }
    } catch (error) {
      this.hooks.onFileDone();
      if (this.failure) return;
      if (!isFileSystemError(error)) return this.fail(error);
      return this.hooks.onUnreadable(file, error);
    }
    this.digested(inside === undefined ? digested : { ...digested, inside });
  }

  /** Copies an archive to a scratch folder of its own and opens it, and every archive inside, within the limits. */
  private async lookInto(file: WalkedFile): Promise<LookedInside> {
    this.controller.signal.throwIfAborted();
    this.engine ??= import('../lambdas/adapters/sevenzip-inside.js').then(
      ({ SevenZipLookInside }) => new SevenZipLookInside(this.options.insideLimits ?? DEFAULT_INSIDE_LIMITS, { maxWorkers: this.lanes.length }),
    );
    const engine = await this.engine;
    const workspace = engine.open(engine.limits);
    try {
      const sink = workspace.create(basename(file.path) || 'file');
      for await (const chunk of counted(readFileChunks(file.path, FILE_CHUNK_BYTES), this.controller.signal, () => undefined)) await sink.write(chunk);
      return await lookInside(await sink.close(), workspace, engine.limits);
    } finally {
      await workspace.close();
    }
  }

  private digested(digested: Digested): void {
    this.hooks.onFileDone();
    if (this.failure) return;
    this.pending.push(digested);
    this.maybeLookUp();
  }

  private unreadable(file: WalkedFile, error: unknown): void {
    this.hooks.onFileDone();
    if (this.failure) return;
    if (!isFileSystemError(error)) return this.fail(error);
    if (file.size < LARGE_FILE_BYTES) this.hooks.onBytes(file.size);
    this.hooks.onUnreadable(file, error);
  }

  /**
   * Sends a lookup once 3,333 files (10,000 hashes) are waiting, or sooner, from 256 files on, while fewer
   * than two lookups are in flight: the service then always has the next batch in hand, so its answers
   * overlap the hashing instead of waiting for batches to fill. When hashing outpaces the service, the
   * files pile up and batches fill to the limit.
   */
  private maybeLookUp(): void {
    if (this.failure) return;
    const idle = this.lookups.size < EARLY_LOOKUPS_IN_FLIGHT;
    if (this.pending.length >= FILES_PER_LOOKUP || (idle && this.pending.length >= EARLY_LOOKUP_FILES)) this.lookUp();
  }

  /** Sends the files digested so far in one bulk lookup, without waiting for it. */
  private lookUp(): void {
    const batch = this.pending;
    this.pending = [];
    // Up to `concurrency` lookups in flight; a further one starts as soon as one of them is answered.
    const turn = this.lookups.size >= this.options.concurrency ? Promise.race(this.lookups) : Promise.resolve();
    const lookup = turn.then(() => (this.failure ? undefined : judgeBatch(batch, this.store, this.hooks))).then(
      () => {
        this.lookups.delete(lookup);
        this.maybeLookUp();
      },
      (error: unknown) => {
        this.lookups.delete(lookup);
        this.fail(error);
      },
    );
    this.lookups.add(lookup);
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.pending = [];
    // A failed lookup ends the scan: hashing on would only delay the error.
    this.controller.abort(error);
    void this.pool.close();
  }
}

/** Judges a batch of digested files from one bulk lookup, with the core's own verdict logic. */
async function judgeBatch(digested: readonly Digested[], store: HashStore, hooks: HashHooks): Promise<void> {
  const verdicts = await judgeFiles(
    digested.map(({ file, digests, inside }) => ({ digests, fileName: file.path, ...(inside && { inside }) })),
    { store },
  );
  for (const [i, { file, index }] of digested.entries()) hooks.onJudged(index, file.path, verdicts[i]!);
}

/** Passes the chunks on, counting them, and stops between chunks once the scan is aborted. */
async function* counted(source: AsyncIterable<Uint8Array>, signal: AbortSignal, count: (bytes: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of source) {
    signal.throwIfAborted();
    count(chunk.byteLength);
    yield chunk;
  }
}

/** Whether a file's first and last bytes are those of an archive this scan opens (see {@link containerFormat}). */
async function isContainer(path: string, size: number): Promise<boolean> {
  if (size === 0) return false;
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(Math.min(size, HEAD_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let tail = new Uint8Array();
    if (size >= TAIL_BYTES) {
      tail = new Uint8Array(TAIL_BYTES);
      await handle.read(tail, 0, TAIL_BYTES, size - TAIL_BYTES);
    }
    return containerFormat(head.subarray(0, bytesRead), tail) !== null;
  } finally {
    await handle.close();
  }
}

/** `encrypted (setup.zip → secret.txt), unsupported (setup.zip)`: why, and where from the file down. */
function describeReasons(path: string, reasons: readonly { reason: string; path: readonly string[] }[]): string {
  return reasons.map(({ reason, path: chain }) => `${reason} (${[basename(path), ...chain].join(' → ')})`).join(', ');
}

/** Errors of the file system carry a code and the call that failed (`EACCES`, `open`). */
function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}

type ProblemKind = WalkProblemKind | 'failed' | 'inside';

const PROBLEM_WORDS: Readonly<Record<ProblemKind, [string, string]>> = {
  inside: ['archive not fully checked inside', 'archives not fully checked inside'],
  unreadable: ['unreadable', 'unreadable'],
  'not-found': ['path not found', 'paths not found'],
  'symlink-loop': ['symbolic link loop', 'symbolic link loops'],
  'broken-symlink': ['broken link', 'broken links'],
  vanished: ['file removed during the scan', 'files removed during the scan'],
  'special-file': ['special file skipped', 'special files skipped'],
  failed: ['upload not scanned', 'uploads not scanned'],
  'symlink-not-followed': ['symbolic link not followed (see --follow)', 'symbolic links not followed (see --follow)'],
};

function describeProblems(problems: ReadonlyMap<ProblemKind, number>): string {
  const parts = [...problems].map(([kind, n]) => formatCounted(n, ...PROBLEM_WORDS[kind]));
  return parts.length === 0 ? '' : `; ${parts.join(', ')}`;
}
