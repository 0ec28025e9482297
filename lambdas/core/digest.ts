import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PayloadTooLargeError } from './errors.js';
import type { HashHex } from './hashes.js';

/** The digests and byte count of one file, computed together in a single pass. */
export interface FileDigests {
  readonly size: number;
  readonly md5: HashHex;
  readonly sha1: HashHex;
  readonly sha256: HashHex;
}

/** The SHA-256 and byte count of one file, for callers that need only that ({@link DigestOptions.sha256Only}). */
export interface Sha256Digest {
  readonly size: number;
  readonly sha256: HashHex;
}

/** Options of {@link digestStream}. */
export interface DigestOptions {
  /** The most bytes the source may hold; one byte more and the digest fails with `PayloadTooLargeError`. */
  readonly maxBytes: number;
  /**
   * Computes SHA-256 alone: the result has only `sha256` and `size`, and the pass runs at the speed of
   * SHA-256 rather than of MD5, the slowest of the three.
   * @default false
   */
  readonly sha256Only?: boolean;
}

/**
 * The read size every file source should use: with 1 MiB reads the per-chunk overhead vanishes behind
 * the hashing itself, while the 64 KiB default of Node streams halves the throughput.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/**
 * Computes MD5, SHA-1, SHA-256 and the byte count of a source in one pass, whatever the size, with flat
 * memory. Every input path (inline body, S3 object stream, multipart part, local file) goes through it,
 * so a file gets the same digests whichever way it arrives. How the bytes are split into chunks never
 * changes the result; empty chunks are allowed.
 *
 * A chunk is never read once the next one has been asked for: what the pass keeps past that point it
 * copies, so a source may refill the buffer of a chunk as soon as it is asked for the next.
 *
 * MD5 is the slowest of the three and, on one thread, caps the whole pass at about half of what SHA-256
 * alone reaches. So when the machine has a second core and the source runs past a few MiB, MD5 moves to
 * a worker thread that lives as long as the process (and never keeps it alive), while SHA-1 and SHA-256
 * stay on the calling thread; the bytes reach the worker through shared memory. Smaller sources never
 * pay for a thread.
 *
 * Reading stops as soon as the count passes `maxBytes`: the iterator is returned early, so a stream
 * source is closed instead of being drained.
 *
 * @throws PayloadTooLargeError when the source holds more than `maxBytes` bytes (`details.limitBytes`).
 * @throws RangeError when `maxBytes` is negative or not a number.
 * @throws TypeError when the source yields anything but bytes (a stream with an encoding set, say).
 */
export function digestStream(source: AsyncIterable<Uint8Array>, options: DigestOptions & { sha256Only: true }): Promise<Sha256Digest>;
export function digestStream(source: AsyncIterable<Uint8Array>, options: DigestOptions & { sha256Only?: false }): Promise<FileDigests>;
export function digestStream(source: AsyncIterable<Uint8Array>, options: DigestOptions): Promise<FileDigests | Sha256Digest>;
export async function digestStream(source: AsyncIterable<Uint8Array>, options: DigestOptions): Promise<FileDigests | Sha256Digest> {
  const { maxBytes } = options;
  if (Number.isNaN(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be zero or more, got ${maxBytes}`);
  if (options.sha256Only) return digestSha256(source, maxBytes);
  const md5 = PARALLEL ? new DeferredMd5() : new InlineMd5();
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  try {
    // Leaving the loop by a throw makes `for await` call the iterator's return(), which closes the source.
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) throw notBytes(chunk);
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      // MD5 first, so a worker hashes this chunk while this thread does the other two.
      const pending = md5.update(chunk);
      sha1.update(chunk);
      sha256.update(chunk);
      if (pending) await pending;
    }
    return {
      size,
      md5: (await md5.digest()) as HashHex,
      sha1: sha1.digest('hex') as HashHex,
      sha256: sha256.digest('hex') as HashHex,
    };
  } catch (error) {
    md5.abort();
    throw error;
  }
}

async function digestSha256(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Sha256Digest> {
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) throw notBytes(chunk);
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    sha256.update(chunk);
  }
  return { size, sha256: sha256.digest('hex') as HashHex };
}

/**
 * Regroups a source's bytes into chunks of `chunkBytes` (the last one shorter), for sources that deliver
 * small pieces: the 64 KiB chunks of an S3 object body cost the digest pass per chunk, 1 MiB chunks do not.
 * Small pieces are gathered in one buffer that is refilled for the next chunk as soon as the consumer asks
 * for it (which {@link digestStream} allows); a piece that arrives when nothing is gathered and that is at
 * least `chunkBytes` long is passed on as it is, without a copy. The bytes and their order never change.
 * Stopping early closes the source.
 *
 * @throws RangeError when `chunkBytes` is not a positive integer.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, chunkBytes: number = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  let buffer: Uint8Array | undefined;
  let filled = 0;
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw notBytes(piece);
    if (filled === 0 && piece.byteLength >= chunkBytes) {
      yield piece;
      continue;
    }
    let offset = 0;
    while (offset < piece.byteLength) {
      buffer ??= new Uint8Array(chunkBytes);
      const length = Math.min(chunkBytes - filled, piece.byteLength - offset);
      buffer.set(piece.subarray(offset, offset + length), filled);
      filled += length;
      offset += length;
      if (filled === chunkBytes) {
        filled = 0;
        // The consumer is done with this chunk when it asks for the next, so the buffer is filled again.
        yield buffer;
      }
    }
  }
  if (filled > 0) yield buffer!.subarray(0, filled);
}

function notBytes(chunk: unknown): TypeError {
  return new TypeError(`The source yielded ${typeof chunk} instead of bytes`);
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The content is larger than the limit of ${describeBytes(maxBytes)}.`, {
    details: { limitBytes: maxBytes },
  });
}

/** `4194304` → `4 MiB (4194304 bytes)`; sizes that are not whole KiB, MiB or GiB stay in bytes. */
function describeBytes(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit} (${bytes} bytes)`;
  }
  return `${bytes} bytes`;
}

/** The MD5 side of a pass. `update` returns a promise only when the caller must wait before the next chunk. */
interface Md5Sink {
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<string>;
  abort(): void;
}

class InlineMd5 implements Md5Sink {
  private readonly hash = createHash('md5');
  update(chunk: Uint8Array): undefined {
    this.hash.update(chunk);
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }
  abort(): void {}
}

/** With one core a worker only adds hand-over costs. */
const PARALLEL = availableParallelism() > 1;
/** Below this the worker hand-over costs more than it saves: inline bodies (4 MiB) never use it. */
const WORKER_THRESHOLD_BYTES = 8 * 1024 * 1024;
/** The unit handed to the worker: large enough that one message per slot costs nothing measurable. */
const SLOT_BYTES = 1024 * 1024;
/** Slots in flight per pass: enough to ride out jitter between the threads, small enough to keep memory flat. */
const RING_SLOTS = 8;
/** Rings kept for reuse between passes: enough for the passes a process runs side by side. */
const SPARE_RINGS = 4;

/**
 * Holds the first bytes back (as copies: a source may reuse its buffers) until the source proves large
 * enough for the worker; a source that ends before is hashed here, so small inputs never touch a thread.
 */
class DeferredMd5 implements Md5Sink {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private job: WorkerMd5 | undefined;
  private inline: Hash | undefined;

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.job) return this.job.update(chunk);
    if (this.inline) {
      this.inline.update(chunk);
      return undefined;
    }
    if (chunk.byteLength === 0) return undefined;
    // A real copy: Buffer#slice is a view, and a source may refill the same buffer for its next chunk.
    this.held.push(Uint8Array.prototype.slice.call(chunk));
    this.heldBytes += chunk.byteLength;
    return this.heldBytes > WORKER_THRESHOLD_BYTES ? this.handOver() : undefined;
  }

  private handOver(): Promise<void> | undefined {
    const held = this.held;
    this.held = [];
    try {
      this.job = md5Worker().open();
    } catch {
      // A thread may be refused (resource limits); hashing here is slower but gives the same digest.
      this.inline = createHash('md5');
      for (const chunk of held) this.inline.update(chunk);
      return undefined;
    }
    return feed(this.job, held);
  }

  digest(): Promise<string> {
    if (this.job) return this.job.digest();
    const hash = this.inline ?? createHash('md5');
    for (const chunk of this.held) hash.update(chunk);
    return Promise.resolve(hash.digest('hex'));
  }

  abort(): void {
    this.held = [];
    this.job?.abort();
  }
}

async function feed(job: WorkerMd5, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    const pending = job.update(chunk);
    if (pending) await pending;
  }
}

type ToWorker =
  | { op: 'open'; job: number; ring: SharedArrayBuffer }
  | { op: 'update'; job: number; slot: number; length: number }
  | { op: 'digest'; job: number }
  | { op: 'close'; job: number };
type FromWorker =
  | { op: 'free'; job: number; slot: number }
  | { op: 'digest'; job: number; md5: string }
  | { op: 'error'; job: number; message: string };

/**
 * The worker's side, as CommonJS evaluated from a string: a separate file would be left behind by the
 * bundler that packs each Lambda function into one file. Each job has its own MD5 state and ring of
 * slots in shared memory; a slot is handed back once hashed, so the caller may fill it again.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const SLOT_BYTES = ${SLOT_BYTES};
const jobs = new Map();
parentPort.on('message', (message) => {
  const job = jobs.get(message.job);
  try {
    switch (message.op) {
      case 'open':
        jobs.set(message.job, { hash: createHash('md5'), ring: new Uint8Array(message.ring) });
        break;
      case 'update':
        if (!job) break;
        job.hash.update(job.ring.subarray(message.slot * SLOT_BYTES, message.slot * SLOT_BYTES + message.length));
        parentPort.postMessage({ op: 'free', job: message.job, slot: message.slot });
        break;
      case 'digest':
        if (!job) break;
        jobs.delete(message.job);
        parentPort.postMessage({ op: 'digest', job: message.job, md5: job.hash.digest('hex') });
        break;
      case 'close':
        jobs.delete(message.job);
        break;
    }
  } catch (error) {
    jobs.delete(message.job);
    parentPort.postMessage({ op: 'error', job: message.job, message: String((error && error.message) || error) });
  }
});
`;

/** The process-wide MD5 worker, started on first need and replaced if it ever dies. */
class Md5Worker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, WorkerMd5>();
  private nextJob = 1;
  /**
   * Rings of passes that ended with their digest, for the next passes: a ring is shared with the worker,
   * so a new one per pass is only freed once both threads collect it, and a scan of many large members
   * piled them up by the hundred megabytes.
   */
  private readonly spareRings: SharedArrayBuffer[] = [];

  open(): WorkerMd5 {
    const worker = this.ensureWorker();
    const id = this.nextJob++;
    const ring = this.spareRings.pop() ?? new SharedArrayBuffer(SLOT_BYTES * RING_SLOTS);
    const job = new WorkerMd5(id, ring, (message) => worker.postMessage(message), (reusable) => {
      // Every slot is back once the digest is: the worker no longer reads the ring.
      if (reusable && this.spareRings.length < SPARE_RINGS) this.spareRings.push(ring);
      this.release(id);
    });
    // A pass in progress must keep the process alive until the digest comes back; an idle worker must not.
    if (this.jobs.size === 0) worker.ref();
    this.jobs.set(id, job);
    return job;
  }

  private release(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker?.unref();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (message: FromWorker) => this.jobs.get(message.job)?.receive(message));
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const jobs = [...this.jobs.values()];
      this.jobs.clear();
      for (const job of jobs) job.fail(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The MD5 worker thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

let sharedWorker: Md5Worker | undefined;
function md5Worker(): Md5Worker {
  sharedWorker ??= new Md5Worker();
  return sharedWorker;
}

/**
 * One pass's MD5 in the worker: bytes are packed into whole slots, so the worker sees the same byte
 * sequence however the source chunked it, and the message count stays one per MiB.
 */
class WorkerMd5 implements Md5Sink {
  private readonly bytes: Uint8Array;
  private readonly free: number[] = Array.from({ length: RING_SLOTS }, (_, slot) => slot);
  private slot: number | undefined;
  private filled = 0;
  private waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private result: { resolve: (md5: string) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private done = false;

  constructor(
    private readonly id: number,
    ring: SharedArrayBuffer,
    private readonly post: (message: ToWorker) => void,
    private readonly release: (reusable: boolean) => void,
  ) {
    this.bytes = new Uint8Array(ring);
    post({ op: 'open', job: id, ring });
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.slot === undefined) {
        const slot = this.free.pop();
        if (slot === undefined) return this.waitForSlot().then(() => this.update(chunk.subarray(offset)));
        this.slot = slot;
      }
      const length = Math.min(SLOT_BYTES - this.filled, chunk.byteLength - offset);
      this.bytes.set(chunk.subarray(offset, offset + length), this.slot * SLOT_BYTES + this.filled);
      this.filled += length;
      offset += length;
      if (this.filled === SLOT_BYTES) this.flush();
    }
    return undefined;
  }

  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.slot !== undefined && this.filled > 0) this.flush();
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      this.post({ op: 'digest', job: this.id });
    });
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.post({ op: 'close', job: this.id });
    this.release(false);
  }

  receive(message: FromWorker): void {
    switch (message.op) {
      case 'free':
        this.free.push(message.slot);
        this.waiting?.resolve();
        this.waiting = undefined;
        break;
      case 'digest':
        this.done = true;
        this.release(true);
        this.result?.resolve(message.md5);
        break;
      case 'error':
        this.fail(new Error(`MD5 worker: ${message.message}`));
        break;
    }
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.done = true;
    this.release(false);
    this.waiting?.reject(error);
    this.waiting = undefined;
    this.result?.reject(error);
    this.result = undefined;
  }

  private flush(): void {
    // The worker reads the slot only after this message; the slot is not written again until it is handed back.
    this.post({ op: 'update', job: this.id, slot: this.slot!, length: this.filled });
    this.slot = undefined;
    this.filled = 0;
  }

  private waitForSlot(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }
}
