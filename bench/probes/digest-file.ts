/**
 * Digests one local file the way the product does and prints one JSON line: the time of the pass, the
 * digests, and the peak RSS of this process. Run in a process of its own so its memory is its own.
 *
 *   node --import tsx bench/probes/digest-file.ts MODE FILE
 *
 * `three` is the product path: `digestStream` over `readFileChunks` (MD5, SHA-1 and SHA-256 in one pass).
 * `sha256` is the SHA-256-only path as the product would run it, with the same 1 MiB reads; core has no
 * SHA-256-only entry point, so this pass calls `createHash('sha256')` directly.
 * `three-reused` and `sha256-reused` read into a few 1 MiB buffers used in turn instead of a fresh buffer
 * per read: they show what the allocation of a buffer per read costs.
 * `three-64k` is the product path fed 64 KiB chunks, the size Node streams (and so S3 object bodies
 * read over HTTP) deliver.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { digestStream, FILE_CHUNK_BYTES } from '../../lambdas/core/digest.js';
import { readFileChunks } from '../../lambdas/adapters/file-source.js';

const MODES = ['three', 'sha256', 'three-reused', 'sha256-reused', 'three-64k'] as const;
const [mode = '', path = ''] = process.argv.slice(2);
if (!MODES.includes(mode as (typeof MODES)[number]) || path === '') {
  console.error(`usage: digest-file.ts ${MODES.join('|')} FILE`);
  process.exit(2);
}

/**
 * More buffers than the bytes `digestStream` holds back before its MD5 worker starts (8 MiB): that
 * hold-back keeps views of the first chunks rather than copies (`Buffer#slice` does not copy), so a
 * source that reuses a buffer sooner gets a wrong MD5. The SHA-256-only pass needs two.
 */
const REUSED_BUFFERS = mode === 'three-reused' ? 16 : 2;

/** Like `readFileChunks`, but each read lands in one of a few buffers used in turn. */
async function* readIntoReusedBuffers(file: string): AsyncIterable<Uint8Array> {
  const handle = await open(file, 'r');
  const buffers = Array.from({ length: REUSED_BUFFERS }, () => Buffer.allocUnsafe(FILE_CHUNK_BYTES));
  try {
    for (let turn = 0; ; turn++) {
      const buffer = buffers[turn % buffers.length]!;
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

const started = performance.now();
const source = mode.endsWith('-reused')
  ? readIntoReusedBuffers(path)
  : readFileChunks(path, mode === 'three-64k' ? 64 * 1024 : FILE_CHUNK_BYTES);
let result: { bytes: number; md5?: string; sha1?: string; sha256: string };
if (mode.startsWith('three')) {
  const digests = await digestStream(source, { maxBytes: Number.MAX_SAFE_INTEGER });
  result = { bytes: digests.size, md5: digests.md5, sha1: digests.sha1, sha256: digests.sha256 };
} else {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  result = { bytes, sha256: hash.digest('hex') };
}
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ mode, ms, ...result, peakRssBytes: peakRssBytes() })}\n`);
