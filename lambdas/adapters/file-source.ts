import { open } from 'node:fs/promises';
import { FILE_CHUNK_BYTES } from '../core/digest.js';

/**
 * Reads a local file as a sequence of chunks of `chunkBytes` (the last one shorter), for `digestStream`.
 *
 * The chunks live in buffers reused from one read to the next: a chunk stays intact only until the
 * consumer asks for the next one (which `digestStream` allows: it copies what it keeps). A consumer that
 * keeps chunks must copy them. The next chunk is read while the consumer works on the current one, so
 * reading and hashing overlap; each pass holds two buffers, taken from a small pool shared by all passes,
 * so reading many files allocates no buffer per file.
 *
 * The file is closed when the sequence ends, fails, or the consumer stops early.
 */
export async function* readFileChunks(path: string, chunkBytes: number = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const handle = await open(path, 'r');
  const buffers = [takeBuffer(chunkBytes), takeBuffer(chunkBytes)] as const;
  let reading: Promise<number> | undefined;
  try {
    const readInto = (buffer: Buffer) => handle.read(buffer, 0, chunkBytes, null).then(({ bytesRead }) => bytesRead);
    reading = readInto(buffers[0]);
    for (let turn = 0; ; turn++) {
      const buffer = buffers[turn % 2]!;
      const bytesRead = await reading;
      reading = undefined;
      if (bytesRead === 0) return;
      // The other buffer's chunk was handed out before this one was asked for: the consumer is done with it.
      reading = readInto(buffers[(turn + 1) % 2]!);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // A read still under way writes into a buffer: it must land before the buffer goes back to the pool.
    if (reading) await reading.catch(() => undefined);
    await handle.close();
    for (const buffer of buffers) giveBackBuffer(buffer);
  }
}

/** Buffers kept for reuse: two per file for up to eight files read side by side, 16 MiB at most. */
const POOL_LIMIT = 16;
const pool: Buffer[] = [];

/**
 * A buffer of at least `bytes` (only its first `bytes` are read into). Pooled buffers are 1 MiB, so a
 * small file's read takes one as readily as a large file's; larger reads get a buffer of their own.
 */
function takeBuffer(bytes: number): Buffer {
  if (bytes > FILE_CHUNK_BYTES) return Buffer.allocUnsafe(bytes);
  return pool.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK_BYTES);
}

function giveBackBuffer(buffer: Buffer): void {
  if (buffer.byteLength === FILE_CHUNK_BYTES && pool.length < POOL_LIMIT) pool.push(buffer);
}
