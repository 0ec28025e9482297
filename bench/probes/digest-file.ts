/**
 * Digests one local file the way the product does and prints one JSON line: the time of the pass, the
 * digests, and the peak RSS of this process. Run in a process of its own so its memory is its own.
 *
 *   node --import tsx bench/probes/digest-file.ts MODE FILE
 *
 * `three` is the local path: `digestStream` over `readFileChunks` (MD5, SHA-1 and SHA-256 in one pass,
 * 1 MiB reads into reused buffers).
 * `sha256` is the SHA-256-only path: the same reads through `digestStream` with `sha256Only`.
 * `three-stream` feeds `digestStream` 64 KiB chunks as they come, which is what an S3 object body read
 * over HTTP delivers; `three-stream-rechunked` is the S3 path as the scan function runs it: the same
 * chunks regrouped by `rechunk` into 1 MiB chunks before the digest.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { digestStream, rechunk } from '../../lambdas/core/digest.js';
import { readFileChunks } from '../../lambdas/adapters/file-source.js';

const MODES = ['three', 'sha256', 'three-stream', 'three-stream-rechunked'] as const;
const [mode = '', path = ''] = process.argv.slice(2);
if (!MODES.includes(mode as (typeof MODES)[number]) || path === '') {
  console.error(`usage: digest-file.ts ${MODES.join('|')} FILE`);
  process.exit(2);
}

/**
 * The file in 64 KiB pieces, the size an S3 object body arrives in over HTTP. The bytes are read 1 MiB at
 * a time and handed on in 64 KiB views, so the row measures what the digest does with small chunks, not
 * the cost of 64 KiB file reads (a read stream of 64 KiB reads alone runs at about 900 MiB/s here).
 */
async function* piecesOf(file: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of readFileChunks(file)) {
    for (let offset = 0; offset < chunk.byteLength; offset += 64 * 1024) yield chunk.subarray(offset, offset + 64 * 1024);
  }
}

function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

const started = performance.now();
const NO_LIMIT = { maxBytes: Number.MAX_SAFE_INTEGER };
let result: { bytes: number; md5?: string; sha1?: string; sha256: string };
if (mode === 'sha256') {
  const digest = await digestStream(readFileChunks(path), { ...NO_LIMIT, sha256Only: true });
  result = { bytes: digest.size, sha256: digest.sha256 };
} else {
  const source = mode === 'three' ? readFileChunks(path) : mode === 'three-stream' ? piecesOf(path) : rechunk(piecesOf(path));
  const digests = await digestStream(source, NO_LIMIT);
  result = { bytes: digests.size, md5: digests.md5, sha1: digests.sha1, sha256: digests.sha256 };
}
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ mode, ms, ...result, peakRssBytes: peakRssBytes() })}\n`);
