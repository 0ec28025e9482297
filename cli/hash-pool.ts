import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FILE_CHUNK_BYTES, type FileDigests } from '../lambdas/core/digest.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import { UsageError } from './errors.js';

/** The variable that sets how many threads `hashcheck scan` hashes with (default: one per core). */
export const SCAN_THREADS_VARIABLE = 'HASHCHECK_SCAN_THREADS';
const MAX_THREADS = 64;

/**
 * The pool size `HASHCHECK_SCAN_THREADS` asks for, or `undefined` when it is unset or empty (one thread per core).
 * @throws UsageError when it is not a whole number from 1 to 64.
 */
export function readScanThreads(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[SCAN_THREADS_VARIABLE]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new UsageError(`${SCAN_THREADS_VARIABLE} must be a whole number from 1 to ${MAX_THREADS}, got '${raw}'`);
  }
  return threads;
}

/** One thread per core the process may use. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism());
}

/** A batch handed to a thread holds at most this many files... */
const BATCH_FILES = 256;
/** ...or about this many bytes, so that a thread's batch never holds up the others for long. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches per thread in flight: the next one is queued in the thread while it hashes the current one. */
const BATCHES_PER_THREAD = 2;

type ToThread = { id: number; paths: string[] };
type ThreadResult =
  | { size: number; md5: string; sha1: string; sha256: string }
  | { error: { message: string; code?: string; syscall?: string; errno?: number; path?: string } };
type FromThread = { id: number; results: ThreadResult[] };

/**
 * The threads' side, as CommonJS evaluated from a string, as the MD5 worker of the digest module is: the
 * command line runs as one bundled file, and a worker file of its own would be left behind by the bundle.
 * Each file of a batch is read whole, in the digest module's 1 MiB chunks into one buffer the thread
 * reuses, through MD5, SHA-1 and SHA-256 in one pass (the algorithms `digestStream` runs). A file that
 * cannot be read is answered with its error; the batch goes on.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buffer = Buffer.allocUnsafeSlow(${FILE_CHUNK_BYTES});
function digest(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const md5 = createHash('md5');
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    let size = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      const chunk = buffer.subarray(0, read);
      md5.update(chunk);
      sha1.update(chunk);
      sha256.update(chunk);
      size += read;
    }
    return { size, md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
  } catch (error) {
    return { error: { message: String((error && error.message) || error), code: error && error.code, syscall: error && error.syscall, errno: error && error.errno, path: error && error.path } };
  } finally {
    if (fd !== undefined) {
      try { closeSync(fd); } catch {}
    }
  }
}
parentPort.on('message', (message) => {
  parentPort.postMessage({ id: message.id, results: message.paths.map(digest) });
});
`;

interface Job {
  readonly path: string;
  readonly size: number;
  resolve(digests: FileDigests): void;
  reject(error: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly batches: Map<number, Job[]>;
}

/**
 * A pool of threads, one per core by default, that digest whole files: the files queued are handed out
 * in batches of up to 256 files or about 4 MiB, so a thread gets a few hundred small files in one message
 * rather than one hand-off per file, and each thread keeps a second batch waiting while it hashes the first.
 * Meant for small files; a large file is better split across threads by `digestStream` itself.
 *
 * Files are answered as their batch completes, in no particular order across threads: callers keep their
 * own order. A file that cannot be read rejects with an error shaped as Node's file-system errors are
 * (`code`, `syscall`, `path`). The threads do not keep the process alive; {@link close} ends them.
 */
export class HashPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private nextBatch = 1;
  private failure: Error | undefined;
  private closed = false;

  constructor(readonly size: number = defaultPoolSize()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  }

  /** Digests the file at `path`; `size` (as the walk found it) only weighs the batches. */
  hash(path: string, size: number): Promise<FileDigests> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('The hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ path, size, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends the threads; files still queued or in flight are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('The hash pool was closed before the file was hashed'));
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private dispatch(): void {
    if (this.queue.length === 0) return;
    // A thread is started only when every running one already holds its batches.
    let thread = this.threads.find((t) => t.batches.size === 0);
    if (!thread && this.threads.length < this.size) thread = this.start();
    thread ??= this.threads.filter((t) => t.batches.size < BATCHES_PER_THREAD).sort((a, b) => a.batches.size - b.batches.size)[0];
    if (!thread) return;
    const batch: Job[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < BATCH_FILES && (batch.length === 0 || bytes + this.queue[0]!.size <= BATCH_BYTES)) {
      const job = this.queue.shift()!;
      bytes += job.size;
      batch.push(job);
    }
    const id = this.nextBatch++;
    thread.batches.set(id, batch);
    if (thread.batches.size === 1) thread.worker.ref();
    thread.worker.postMessage({ id, paths: batch.map((job) => job.path) } satisfies ToThread);
    // More queued files go to the next thread with room.
    this.dispatch();
  }

  private start(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true });
    const thread: Thread = { worker, batches: new Map() };
    worker.unref();
    worker.on('message', (message: FromThread) => {
      const batch = thread.batches.get(message.id);
      if (!batch) return;
      thread.batches.delete(message.id);
      if (thread.batches.size === 0) worker.unref();
      for (const [i, job] of batch.entries()) settle(job, message.results[i]!);
      this.dispatch();
    });
    const fail = (error: Error) => {
      if (this.closed) return;
      this.failure ??= error;
      this.failAll(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`A hashing thread exited with code ${code}`)));
    this.threads.push(thread);
    return thread;
  }

  private failAll(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const thread of this.threads) {
      for (const batch of thread.batches.values()) for (const job of batch) job.reject(error);
      thread.batches.clear();
    }
  }
}

function settle(job: Job, result: ThreadResult): void {
  if ('error' in result) {
    const { message, code, syscall, errno, path } = result.error;
    job.reject(Object.assign(new Error(message), { code, syscall, errno, path }));
    return;
  }
  job.resolve({ size: result.size, md5: result.md5 as HashHex, sha1: result.sha1 as HashHex, sha256: result.sha256 as HashHex });
}
