import { open } from 'node:fs/promises';
import { FILE_CHUNK_BYTES } from '../core/digest.js';

/**
 * Reads a local file as a sequence of chunks of `chunkBytes` (the last one shorter), for
 * `digestStream`. Each chunk is a fresh buffer the consumer may keep; nothing is reused behind its back.
 * The file is closed when the sequence ends, fails, or the consumer stops early.
 */
export async function* readFileChunks(path: string, chunkBytes: number = FILE_CHUNK_BYTES): AsyncIterable<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const handle = await open(path, 'r');
  try {
    for (;;) {
      // A new buffer per read, so a consumer may hold on to a chunk; allocUnsafe is safe because only the
      // bytes the read filled are handed out.
      const buffer = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
