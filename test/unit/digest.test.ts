import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestStream, FILE_CHUNK_BYTES, rechunk, type FileDigests } from '../../lambdas/core/digest.js';
import { PayloadTooLargeError } from '../../lambdas/core/errors.js';
import { readFileChunks } from '../../lambdas/adapters/file-source.js';

const MiB = 1024 * 1024;
const NO_LIMIT = { maxBytes: Number.MAX_SAFE_INTEGER };
const EICAR = String.raw`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`;

async function* chunksOf(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

function referenceDigests(data: Uint8Array): FileDigests {
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { size: data.byteLength, md5: hex('md5'), sha1: hex('sha1'), sha256: hex('sha256') } as FileDigests;
}

/** A seeded generator, so a failing split can be reproduced from the seed in the test name. */
function makeRandom(seed: number): (below: number) => number {
  let state = seed >>> 0 || 1;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

/** Splits `data` at random places, with runs of 1-byte chunks and empty chunks mixed in. */
function splitRandomly(data: Uint8Array, seed: number, maxChunk: number): Uint8Array[] {
  const random = makeRandom(seed);
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const pick = random(10);
    if (pick === 0) {
      parts.push(new Uint8Array(0));
    } else if (pick === 1) {
      for (let i = 0, run = 1 + random(64); i < run && offset < data.byteLength; i++, offset++) {
        parts.push(data.subarray(offset, offset + 1));
      }
    } else {
      const length = 1 + random(maxChunk);
      parts.push(data.subarray(offset, offset + length));
      offset += length;
    }
  }
  parts.push(new Uint8Array(0));
  return parts;
}

/** A source of `chunks` chunks of `chunkBytes` that records how far it was read and whether it was closed. */
function countingSource(chunks: number, chunkBytes: number) {
  const state = { pulled: 0, closed: false };
  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < chunks; i++) {
        state.pulled++;
        yield new Uint8Array(chunkBytes).fill(i);
      }
    } finally {
      state.closed = true;
    }
  }
  return { source: generate(), state };
}

describe('digestStream', () => {
  it('gives the published MD5, SHA-1 and SHA-256 of the empty input', async () => {
    expect(await digestStream(chunksOf([]), NO_LIMIT)).toEqual({
      size: 0,
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
      sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  it('gives the published MD5, SHA-1 and SHA-256 of "abc"', async () => {
    expect(await digestStream(chunksOf([Buffer.from('abc')]), NO_LIMIT)).toEqual({
      size: 3,
      md5: '900150983cd24fb0d6963f7d28e17f72',
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
  });

  it('gives the published SHA-256 of the 68-byte EICAR test file', async () => {
    const eicar = Buffer.from(EICAR, 'latin1');
    expect(eicar.byteLength).toBe(68);

    const digests = await digestStream(chunksOf([eicar]), NO_LIMIT);

    expect(digests.sha256).toBe('275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    expect(digests.size).toBe(68);
  });

  it('chunking never changes the digests', async () => {
    const data = randomBytes(256 * 1024);
    const expected = referenceDigests(data);
    const splits: Uint8Array[][] = [
      [data],
      Array.from({ length: 4096 }, (_, i) => data.subarray(i, i + 1)).concat([data.subarray(4096)]),
      [new Uint8Array(0), data.subarray(0, 1), new Uint8Array(0), data.subarray(1), new Uint8Array(0)],
    ];
    for (let seed = 1; seed <= 20; seed++) splits.push(splitRandomly(data, seed, 20_000));

    for (const parts of splits) {
      expect(await digestStream(chunksOf(parts), NO_LIMIT)).toEqual(expected);
    }
  });

  it('chunking never changes the digests of sources large enough to hash in parallel', async () => {
    const data = randomBytes(21 * MiB + 12_345);
    const expected = referenceDigests(data);
    const splits = [
      Array.from({ length: Math.ceil(data.byteLength / MiB) }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB)),
      splitRandomly(data, 7, 3 * MiB),
      splitRandomly(data, 99, 300_000),
    ];

    for (const parts of splits) {
      expect(await digestStream(chunksOf(parts), NO_LIMIT)).toEqual(expected);
    }
  });

  it('gives the right digests when the source refills one buffer for every chunk', async () => {
    for (const size of [3 * MiB + 17, 21 * MiB + 5]) {
      const data = randomBytes(size);
      async function* refilled(): AsyncGenerator<Uint8Array> {
        const buffer = Buffer.alloc(256 * 1024);
        for (let offset = 0; offset < data.byteLength; offset += buffer.byteLength) {
          const length = data.copy(buffer, 0, offset, offset + buffer.byteLength);
          yield buffer.subarray(0, length);
        }
      }
      expect(await digestStream(refilled(), NO_LIMIT)).toEqual(referenceDigests(data));
    }
  });

  it('gives the right digests when the source refills one Uint8Array of 1 MiB for every chunk, around the size that starts the MD5 worker', async () => {
    for (const size of [8 * MiB, 8 * MiB + 1, 9 * MiB - 1, 21 * MiB + 5]) {
      const data = randomBytes(size);
      async function* refilled(): AsyncGenerator<Uint8Array> {
        const buffer = new Uint8Array(MiB);
        for (let offset = 0; offset < data.byteLength; offset += MiB) {
          const piece = data.subarray(offset, offset + MiB);
          buffer.set(piece);
          yield buffer.subarray(0, piece.byteLength);
          // What the pass left behind in this buffer must not matter: scribble over it before the next refill.
          buffer.fill(0xa5);
        }
      }
      expect(await digestStream(refilled(), NO_LIMIT)).toEqual(referenceDigests(data));
      expect(await digestStream(refilled(), { ...NO_LIMIT, sha256Only: true })).toEqual({ size, sha256: referenceDigests(data).sha256 });
    }
  });

  it('keeps concurrent passes apart', async () => {
    const inputs = [randomBytes(12 * MiB), randomBytes(17 * MiB + 1), randomBytes(100_000)];

    const results = await Promise.all(
      inputs.map((data, i) => digestStream(chunksOf(splitRandomly(data, i + 1, 2 * MiB)), NO_LIMIT)),
    );

    expect(results).toEqual(inputs.map(referenceDigests));
  });

  it('accepts a source of exactly maxBytes', async () => {
    const { source } = countingSource(10, 100);

    const digests = await digestStream(source, { maxBytes: 1000 });

    expect(digests.size).toBe(1000);
  });

  it('throws PayloadTooLargeError for maxBytes + 1, naming the limit', async () => {
    const data = randomBytes(1001);

    const failure = digestStream(chunksOf([data]), { maxBytes: 1000 });

    await expect(failure).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(failure).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('1000 bytes'),
      details: { limitBytes: 1000 },
    });
  });

  it('stops reading and closes the source as soon as the limit is passed', async () => {
    const { source, state } = countingSource(10, 100);

    await expect(digestStream(source, { maxBytes: 250 })).rejects.toBeInstanceOf(PayloadTooLargeError);

    expect(state.pulled).toBe(3);
    expect(state.closed).toBe(true);
  });

  it('stops reading and closes the source past the limit while hashing in parallel, and recovers', async () => {
    const { source, state } = countingSource(40, MiB);

    await expect(digestStream(source, { maxBytes: 12 * MiB })).rejects.toMatchObject({
      details: { limitBytes: 12 * MiB },
      message: expect.stringContaining('12 MiB'),
    });
    expect(state.pulled).toBe(13);
    expect(state.closed).toBe(true);

    const data = randomBytes(10 * MiB);
    expect(await digestStream(chunksOf([data]), NO_LIMIT)).toEqual(referenceDigests(data));
  });

  it('closes the source when the source itself fails', async () => {
    let closed = false;
    async function* failing(): AsyncGenerator<Uint8Array> {
      try {
        yield new Uint8Array(9 * MiB);
        throw new Error('connection reset');
      } finally {
        closed = true;
      }
    }

    await expect(digestStream(failing(), NO_LIMIT)).rejects.toThrow('connection reset');
    expect(closed).toBe(true);
  });

  it('rejects a source that yields text instead of bytes', async () => {
    const text = (async function* () {
      yield 'abc';
    })() as unknown as AsyncIterable<Uint8Array>;

    await expect(digestStream(text, NO_LIMIT)).rejects.toBeInstanceOf(TypeError);
  });

  it('rejects a negative limit', async () => {
    await expect(digestStream(chunksOf([]), { maxBytes: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('digestStream, SHA-256 only', () => {
  const SHA256_ONLY = { ...NO_LIMIT, sha256Only: true } as const;

  it('gives only the published SHA-256 and the size of the empty input', async () => {
    expect(await digestStream(chunksOf([]), SHA256_ONLY)).toEqual({
      size: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  it('gives only the published SHA-256 and the size of "abc"', async () => {
    expect(await digestStream(chunksOf([Buffer.from('abc')]), SHA256_ONLY)).toEqual({
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
  });

  it('chunking never changes the digest', async () => {
    const data = randomBytes(12 * MiB + 3);
    const expected = { size: data.byteLength, sha256: referenceDigests(data).sha256 };

    for (const seed of [1, 2, 3]) {
      expect(await digestStream(chunksOf(splitRandomly(data, seed, 3 * MiB)), SHA256_ONLY)).toEqual(expected);
    }
  });

  it('stops reading and closes the source as soon as the limit is passed', async () => {
    const { source, state } = countingSource(10, 100);

    await expect(digestStream(source, { maxBytes: 250, sha256Only: true })).rejects.toMatchObject({ details: { limitBytes: 250 } });

    expect(state.pulled).toBe(3);
    expect(state.closed).toBe(true);
  });
});

describe('rechunk', () => {
  it('regroups small pieces into chunks of the size asked for, the last one shorter, bytes unchanged', async () => {
    const data = randomBytes(3 * MiB + 7);
    const pieces = Array.from({ length: Math.ceil(data.byteLength / (64 * 1024)) }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));

    const sizes: number[] = [];
    const copies: Buffer[] = [];
    for await (const chunk of rechunk(chunksOf(pieces))) {
      sizes.push(chunk.byteLength);
      copies.push(Buffer.from(chunk));
    }

    expect(sizes).toEqual([MiB, MiB, MiB, 7]);
    expect(Buffer.concat(copies).equals(data)).toBe(true);
  });

  it('chunking never changes the digest of a body regrouped into 1 MiB chunks', async () => {
    const data = randomBytes(10 * MiB + 12_345);
    const expected = referenceDigests(data);
    const splits = [
      Array.from({ length: Math.ceil(data.byteLength / (64 * 1024)) }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)),
      [data],
      splitRandomly(data, 5, 3 * MiB),
      splitRandomly(data, 11, 100_000),
    ];

    for (const parts of splits) {
      expect(await digestStream(rechunk(chunksOf(parts)), NO_LIMIT)).toEqual(expected);
      expect(await digestStream(rechunk(chunksOf(parts), 100_000), NO_LIMIT)).toEqual(expected);
    }
  });

  it('gives the right digests when the body refills one buffer for every 64 KiB piece, as a socket stream may', async () => {
    const data = randomBytes(9 * MiB + 100);
    async function* refilled(): AsyncGenerator<Uint8Array> {
      const buffer = new Uint8Array(64 * 1024);
      for (let offset = 0; offset < data.byteLength; offset += buffer.byteLength) {
        const piece = data.subarray(offset, offset + buffer.byteLength);
        buffer.set(piece);
        yield buffer.subarray(0, piece.byteLength);
      }
    }

    expect(await digestStream(rechunk(refilled()), NO_LIMIT)).toEqual(referenceDigests(data));
  });

  it('closes the body when the digest stops at the limit', async () => {
    const { source, state } = countingSource(40, 64 * 1024);

    await expect(digestStream(rechunk(source), { maxBytes: MiB })).rejects.toBeInstanceOf(PayloadTooLargeError);

    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(40);
  });
});

describe('readFileChunks', () => {
  const execFileAsync = promisify(execFile);
  let dir: string;
  let file: string;
  let data: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-digest-'));
    file = join(dir, 'random.bin');
    data = randomBytes(3 * MiB + 7);
    await writeFile(file, data);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function openssl(algorithm: string): Promise<string> {
    const { stdout } = await execFileAsync('openssl', ['dgst', `-${algorithm}`, '-r', file]);
    return stdout.split(' ')[0]!;
  }

  it('gives the same digests as openssl dgst for the same file', async () => {
    const digests = await digestStream(readFileChunks(file), NO_LIMIT);

    expect(digests).toEqual({
      size: data.byteLength,
      md5: await openssl('md5'),
      sha1: await openssl('sha1'),
      sha256: await openssl('sha256'),
    });
  });

  it('reads in chunks of 1 MiB by default, the last one shorter', async () => {
    const sizes: number[] = [];
    for await (const chunk of readFileChunks(file)) sizes.push(chunk.byteLength);

    expect(FILE_CHUNK_BYTES).toBe(MiB);
    expect(sizes).toEqual([MiB, MiB, MiB, 7]);
  });

  it('hands out each chunk intact until the next one is asked for', async () => {
    const copies: Buffer[] = [];
    for await (const chunk of readFileChunks(file, 100_000)) copies.push(Buffer.from(chunk));

    expect(Buffer.concat(copies).equals(data)).toBe(true);
  });

  it('reads into two buffers used in turn, not a new buffer per read', async () => {
    const buffers = new Set<ArrayBufferLike>();
    let chunks = 0;
    for await (const chunk of readFileChunks(file, 100_000)) {
      buffers.add(chunk.buffer);
      chunks++;
    }

    expect(chunks).toBe(Math.ceil(data.byteLength / 100_000));
    expect(buffers.size).toBe(2);
  });

  it('gives the right digests to files read side by side, and after a read stopped early', async () => {
    const other = join(dir, 'other.bin');
    const otherData = randomBytes(2 * MiB + 3);
    await writeFile(other, otherData);
    for await (const chunk of readFileChunks(file)) {
      expect(chunk.byteLength).toBe(MiB);
      break;
    }

    const [first, second] = await Promise.all([digestStream(readFileChunks(file), NO_LIMIT), digestStream(readFileChunks(other, 4096), NO_LIMIT)]);

    expect(first).toEqual(referenceDigests(data));
    expect(second).toEqual(referenceDigests(otherData));
  });

  it('gives the SHA-256 that openssl dgst gives for the same file, in SHA-256-only mode', async () => {
    expect(await digestStream(readFileChunks(file), { ...NO_LIMIT, sha256Only: true })).toEqual({ size: data.byteLength, sha256: await openssl('sha256') });
  });

  it('fails for a file that does not exist', async () => {
    await expect(digestStream(readFileChunks(join(dir, 'missing.bin')), NO_LIMIT)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
