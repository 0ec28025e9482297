import { open, readFile, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { INLINE_UPLOAD_BYTES } from '../lambdas/core/limits.js';
import { MAX_UPLOAD_BYTES } from '../lambdas/core/uploads.js';
import type { FileVerdict } from '../lambdas/core/scan.js';
import { createdUploadSchema, filesAnswerSchema, readAnswer, uploadStatusSchema } from './answers.js';
import { ServiceError } from './errors.js';
import { formatBytes } from './progress.js';
import type { ServiceClient } from './service-client.js';
import type { WalkedFile } from './walk.js';

/** Options of {@link uploadFile}. */
export interface UploadOptions {
  /** How long to wait for the service to scan a presigned upload. */
  readonly waitMs: number;
  /** The client's timeout per request; a file upload gets more, in proportion to its size. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Told of bytes sent (negative when an attempt is retried from the start). */
  readonly onBytes?: (bytes: number) => void;
}

/** The service's verdict on the file, or why this file got none (the run then ends with status 2). */
export type UploadOutcome = { readonly file: FileVerdict } | { readonly failure: string };

/**
 * The slowest upload rate a large file is given time for: a 1 GiB file may take 17 minutes on top of
 * the timeout before the upload is abandoned.
 */
const SLOWEST_UPLOAD_BYTES_PER_SECOND = 1024 * 1024;
/** Status polls start quick (small files are scanned in milliseconds) and slow down to this. */
const MAX_POLL_INTERVAL_MS = 2_000;

/**
 * Sends one file to the service to be digested and judged there: up to 4 MiB inline (`POST /v1/files`),
 * larger or empty files through a presigned upload (`POST /v1/uploads`, a PUT of the bytes, then
 * `GET /v1/uploads/{id}` until the scan is done).
 *
 * @throws a file-system error (with `code`) when the file cannot be read.
 * @throws ServiceError when the service cannot be reached or answers out of contract.
 */
export async function uploadFile(client: ServiceClient, file: WalkedFile, options: UploadOptions): Promise<UploadOutcome> {
  if (file.size > 0 && file.size <= INLINE_UPLOAD_BYTES) {
    const bytes = await readFile(file.path);
    // A file that changed size since it was listed goes the way that fits what it holds now.
    if (bytes.length > 0 && bytes.length <= INLINE_UPLOAD_BYTES) return sendInline(client, file, bytes, options);
  }
  const handle = await open(file.path, 'r');
  try {
    return await sendPresigned(client, file, handle, options);
  } finally {
    await handle.close();
  }
}

async function sendInline(client: ServiceClient, file: WalkedFile, bytes: Buffer, options: UploadOptions): Promise<UploadOutcome> {
  const what = `upload of ${file.path}`;
  const answer = await client.request({
    what,
    method: 'POST',
    target: '/v1/files',
    headers: { 'content-type': 'application/octet-stream', 'x-file-name': headerSafeName(file.path) },
    body: () => bytes,
    expect: [200],
    signal: options.signal,
  });
  const { files } = readAnswer(filesAnswerSchema, answer.body, what);
  if (files.length !== 1) throw new ServiceError(`${what} failed: the service answered for ${files.length} files where one was sent`);
  options.onBytes?.(bytes.length);
  return { file: files[0]! };
}

async function sendPresigned(client: ServiceClient, file: WalkedFile, handle: FileHandle, options: UploadOptions): Promise<UploadOutcome> {
  const what = `upload of ${file.path}`;
  const { size } = await handle.stat();
  if (size > MAX_UPLOAD_BYTES) {
    return { failure: `${file.path}: ${formatBytes(size)} is over the 5 GiB upload limit; scan it without --upload to hash it here` };
  }
  const created = readAnswer(
    createdUploadSchema,
    (
      await client.request({
        what,
        method: 'POST',
        target: '/v1/uploads',
        json: { fileName: basename(file.path), size },
        expect: [201],
        signal: options.signal,
      })
    ).body,
    what,
  );

  let sent = 0;
  await client.request({
    what,
    method: 'PUT',
    target: new URL(created.put.url),
    // The declared size is the cap the scan enforces; the exact length also spares S3 a chunked body it refuses.
    headers: { ...created.put.headers, 'content-length': String(size) },
    body: () => {
      options.onBytes?.(-sent);
      sent = 0;
      if (size === 0) return new Uint8Array(0);
      const count = (bytes: number) => {
        sent += bytes;
        options.onBytes?.(bytes);
      };
      const stream = handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
      return Readable.toWeb(Readable.from(counted(stream, count))) as RequestInit['body'];
    },
    expect: [200, 201, 204],
    timeoutMs: options.timeoutMs + Math.ceil(size / SLOWEST_UPLOAD_BYTES_PER_SECOND) * 1000,
    signal: options.signal,
  });

  const deadline = Date.now() + options.waitMs;
  for (let delay = 100; ; delay = Math.min(delay * 1.5, MAX_POLL_INTERVAL_MS)) {
    const answer = await client.request({
      what,
      method: 'GET',
      target: `/v1/uploads/${encodeURIComponent(created.uploadId)}`,
      expect: [200],
      signal: options.signal,
    });
    const status = readAnswer(uploadStatusSchema, answer.body, what);
    if (status.status === 'done') {
      if (!status.file) throw new ServiceError(`${what} failed: the service reported the scan done without its result`);
      return { file: status.file };
    }
    if (status.status === 'failed') {
      const reason = status.error ? `${status.error.code}: ${status.error.message}` : 'no reason given';
      return { failure: `${file.path}: the service could not scan the upload (${reason})` };
    }
    if (Date.now() >= deadline) {
      return { failure: `${file.path}: the service did not finish scanning the upload within ${options.waitMs / 1000} s (see --wait)` };
    }
    await sleep(delay, undefined, { signal: options.signal });
  }
}

async function* counted(source: AsyncIterable<Buffer>, count: (bytes: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of source) {
    count(chunk.byteLength);
    yield chunk;
  }
}

/** Header values must be Latin-1; the name is only informative, so anything else becomes `_`. */
function headerSafeName(path: string): string {
  return basename(path).replace(/[^\x20-\x7e]/g, '_');
}
