import { INLINE_UPLOAD_BYTES } from '../../lambdas/core/limits.js';
import { ApiProblem, type Api } from './api.js';
import { describeStorageRefusal } from './storage-refusal.js';
import type { FileVerdict, UploadStatus } from './types.js';

/**
 * Files up to this size go to `POST /v1/files` in one request. The route takes 4 MiB of body in all, and
 * the multipart form around the file (boundaries, part headers, the name) needs a little room.
 */
export const INLINE_MAX_BYTES = INLINE_UPLOAD_BYTES - 16 * 1024;

/** What the page shows while a file is on its way. */
export type FileStage =
  | { stage: 'sending' }
  | { stage: 'uploading'; loaded: number; total: number }
  | { stage: 'scanning' };

/** The scan of an uploaded file did not finish before the page stopped waiting; it may still finish. */
export class ScanTimeout extends Error {
  constructor(
    readonly uploadId: string,
    readonly waitedMs: number,
  ) {
    super(
      `No verdict yet after ${Math.round(waitedMs / 1000)} seconds. The file was received and may still be being checked.`,
    );
    this.name = 'ScanTimeout';
  }
}

/** How long to wait for a scan: a minute, plus time to read the file at a slow 20 MiB/s. */
export function scanDeadlineMs(size: number): number {
  return 60_000 + Math.ceil(size / (20 * 1024 * 1024)) * 1000;
}

/** Checks one file: inline when small, through a presigned upload and polling when large. */
export async function checkFile(api: Api, file: File, onStage: (stage: FileStage) => void): Promise<FileVerdict> {
  if (file.size <= INLINE_MAX_BYTES) {
    onStage({ stage: 'sending' });
    return api.scanFile(file);
  }
  const upload = await api.createUpload(file.name, file.size);
  onStage({ stage: 'uploading', loaded: 0, total: file.size });
  await postToStorage(upload.post, file, (loaded, total) => onStage({ stage: 'uploading', loaded, total }));
  onStage({ stage: 'scanning' });
  return waitForVerdict(api, upload.uploadId, scanDeadlineMs(file.size));
}

/**
 * Sends the file with the presigned form POST. XMLHttpRequest, because fetch reports no upload progress.
 * A refusal is read from S3's XML (deployed) or the service's JSON error (the single-machine server's own
 * upload URL); its code picks the message, or its own message is shown.
 */
export function postToStorage(
  post: { url: string; fields: Record<string, string> },
  file: File,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', post.url);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(Math.min(event.loaded, file.size), file.size);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(storageProblem(xhr.status, xhr.responseText));
    });
    xhr.addEventListener('error', () =>
      reject(new ApiProblem('network', 'The file could not be sent to storage. Check your network connection, then try again.')),
    );
    xhr.addEventListener('abort', () => reject(new ApiProblem('network', 'The upload was interrupted. Try again.')));
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    // S3 reads the fields before the file: the file must be the last part of the form.
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** What the page says when storage refuses the file, as a problem of its kind. */
function storageProblem(status: number, body: string): ApiProblem {
  const { kind, message } = describeStorageRefusal(status, body);
  return new ApiProblem(kind, message, status);
}

const FAILURE_MESSAGES: Readonly<Record<NonNullable<UploadStatus['error']>['code'], string>> = {
  missing_object: 'The file did not arrive in storage, so it was not checked. Try again.',
  too_large: 'The file sent was larger than announced; it may have changed while it was being sent. Try again.',
  read_error: 'The stored file could not be read for checking. Try again.',
  scan_timeout: 'The check of this file did not finish in time, so it was not checked. Try again.',
};

/** Problems worth another poll: the scan record is still there once the service answers again. */
const TRANSIENT = new Set(['unavailable', 'network', 'rate-limited']);

/**
 * Polls `GET /v1/uploads/{id}` until the scan is done or failed, backing off from a quarter second to two.
 * Transient failures are retried until the deadline; past it, the last of them is reported, or
 * `ScanTimeout` when the service kept answering "pending".
 */
export async function waitForVerdict(api: Api, uploadId: string, deadlineMs: number): Promise<FileVerdict> {
  const started = Date.now();
  let lastProblem: ApiProblem | undefined;
  for (let delay = 250; ; delay = Math.min(delay * 1.5, 2000)) {
    try {
      const status = await api.uploadStatus(uploadId);
      lastProblem = undefined;
      if (status.status === 'done' && status.file) return status.file;
      if (status.status === 'failed') {
        const reason = status.error ? FAILURE_MESSAGES[status.error.code] : undefined;
        throw new ApiProblem('failed', reason ?? status.error?.message ?? 'The check failed. Try again.');
      }
    } catch (error) {
      if (!(error instanceof ApiProblem) || !TRANSIENT.has(error.kind)) throw error;
      lastProblem = error;
    }
    if (Date.now() - started > deadlineMs) throw lastProblem ?? new ScanTimeout(uploadId, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
