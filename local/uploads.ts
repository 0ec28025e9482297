import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { rechunk } from '../lambdas/core/digest.js';
import { loggingFailures, type ContainerMemory } from '../lambdas/core/derived.js';
import { AppError } from '../lambdas/core/errors.js';
import type { LookInside } from '../lambdas/core/inside/look-inside.js';
import type { HashStore } from '../lambdas/core/lookup.js';
import { digestFile, judgeFiles, type DigestedFile } from '../lambdas/core/scan.js';
import { uploadIdOfKey, type PresignedUpload, type ScanRecord, type ScanStore, type UploadSigner } from '../lambdas/core/uploads.js';
import { mapError } from '../lambdas/http/errors.js';
import { BASE_HEADERS, type Log } from '../lambdas/http/handler.js';
import type { LocalScanRecord } from './embedded-scans.js';
import { sendEdgeError, startBodyDeadline, type EdgeError, type RequestDeadline, type RequestTarget } from './http-edge.js';
import { grantQuery, loadUploadKey, verifyGrant, type UploadGrant } from './upload-signing.js';

/** Where upload URLs point on the server: `/uploads/{uploadId}`, outside the API's `/v1` routes. */
export const UPLOAD_PATH_PREFIX = '/uploads/';
/** The folder of the data folder that holds uploads while they are received and scanned. */
export const UPLOADS_FOLDER = 'uploads';
/** What a form POST may carry besides its file: the form's fields and each part's headers. */
export const FORM_OVERHEAD_BYTES = 64 * 1024;
/** A scan whose store read or write fails is tried again after these pauses, as Lambda retries an event. */
const SCAN_RETRY_DELAYS_MS = [200, 1000];
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALLOW = 'PUT, POST, OPTIONS';

/**
 * How long an upload's body may take in all, counted from its headers: `baseMs` plus its declared size at
 * `bytesPerSecond`, at most `maxMs`. A slow link keeps sending as long as it is that fast on average (and no
 * gap reaches the idle limit); a client holding a connection open with a trickle is cut off.
 */
export interface UploadDeadline {
  readonly baseMs: number;
  readonly bytesPerSecond: number;
  readonly maxMs: number;
}

/** A minute, plus the declared size at 1 MiB/s, at most two hours: 5 GiB may take 86 minutes. */
export const DEFAULT_UPLOAD_DEADLINE: UploadDeadline = { baseMs: 60_000, bytesPerSecond: 1024 * 1024, maxMs: 2 * 60 * 60 * 1000 };

/** The time an upload of `size` bytes (as its URL declares) may take in all. */
export function uploadDeadlineMs(size: number, deadline: UploadDeadline = DEFAULT_UPLOAD_DEADLINE): number {
  return Math.min(deadline.maxMs, deadline.baseMs + Math.ceil((size / deadline.bytesPerSecond) * 1000));
}

/** The local server's own upload URLs: signing them, and receiving and scanning what is sent to them. */
export interface LocalUploads {
  /** Signs URLs on the server itself; passed to makeCreateUploadHandler as `objects`. */
  readonly signer: UploadSigner;
  /**
   * Answers a request to an upload URL and returns true; false (touching nothing) for any other path. The
   * request's body deadline (the server's, for API bodies) is moved to the upload's own once its URL is
   * checked; without one, the upload gets a deadline of its own.
   */
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget, requestId: string, deadline?: RequestDeadline): boolean;
  /**
   * Runs `answer` (the API's answer to a request whose Host the server has accepted) so that the upload
   * URLs signed meanwhile name the host and port the client used (`localhost:3000`, a name of
   * HASHCHECK_ALLOWED_HOSTS) rather than the address the server listens on: a page opened at
   * `http://localhost:3000/` may only send to its own origin.
   */
  answering<T>(req: IncomingMessage, target: RequestTarget, answer: () => T): T;
}

/** What {@link makeLocalUploads} needs. */
export interface LocalUploadsDeps {
  /** The data folder: the signing key is kept there, and uploads while they are scanned. */
  readonly dataDir: string;
  /** The server's own address (`http://host:port`), read when a URL is signed. */
  readonly baseUrl: () => string;
  readonly scans: ScanStore;
  readonly store: HashStore;
  /**
   * Opens containers, as on every other path a file enters by. Its scratch space keeps the file while it is
   * looked into, so an upload is then written there alone (give it a scratch folder in the data folder),
   * not also to `uploads/`.
   */
  readonly inside?: LookInside;
  readonly now: () => Date;
  readonly log: Log;
  /** Where an upload found bad through a member is remembered as a derived container record, as on every other path. */
  readonly remember?: ContainerMemory;
  /**
   * How long an upload's body may go without a byte before it is answered 408 and cut off: a slow upload
   * of gigabytes goes on for as long as its bytes keep coming.
   * @default 30_000
   */
  readonly bodyIdleTimeoutMs?: number;
  /** How long an upload's body may take in all, by its declared size. @default DEFAULT_UPLOAD_DEADLINE */
  readonly uploadDeadline?: UploadDeadline;
}

/** An upload refused before its body was in: answered, nothing kept, the scan left pending. */
class Refusal extends Error {
  constructor(
    readonly answer: EdgeError,
    /** Whether the connection closes after the answer: the rest of the body is not read. */
    readonly close = false,
  ) {
    super(answer.message);
  }
}

const refusal = (status: number, code: string, message: string, close = false) => new Refusal({ status, code, message }, close);

/**
 * The server's own upload URLs, in place of a storage service of their own on another port. `POST
 * /v1/uploads` gets a PUT URL and a form POST URL pointing at `/uploads/{uploadId}` on this server, signed
 * with HMAC-SHA256 by a key kept in the data folder and bound to the upload id, the declared size and the
 * expiry. A request to such a URL is checked (signature, expiry, length, the upload still waiting for its
 * file and not being received already) before a byte of its body is read; the body is then written once
 * while it is digested, in one pass: into the look-inside's scratch space, or without one to a `0600` file
 * in the `0700` folder `uploads/` of the data folder; and
 * answered (PUT 200, POST 204, as S3 does) once all the declared bytes are in. The file is then looked
 * inside, judged, its verdict recorded on the scan, and deleted; a refused or broken upload is deleted at once
 * and leaves the scan pending, so the client can send it again. File names and bytes are never logged.
 *
 * Refusals, all in the error shape: a missing or wrong signature 403 `unauthorized`, an expired URL 403
 * `unauthorized`, a URL used already 409 `invalid_request`, a body longer than declared 413
 * `payload_too_large` (connection closed), shorter 400 `invalid_request`, a Content-Length other than the
 * declared size 400 (shorter) or 413 (longer) before the body is read, a malformed form 400, a body that
 * stops arriving for `bodyIdleTimeoutMs` 408.
 *
 * Files left in `uploads/` by a server that was stopped mid-upload are deleted here: nobody will scan them.
 */
export async function makeLocalUploads(deps: LocalUploadsDeps): Promise<LocalUploads> {
  const key = await loadUploadKey(deps.dataDir);
  const folder = join(deps.dataDir, UPLOADS_FOLDER);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  for (const name of await readdir(folder)) await rm(join(folder, name), { recursive: true, force: true });
  /**
   * Uploads whose request is being checked or received here. Each URL takes one file: the scan is marked
   * `receivingSince` in the store before a byte is read, so the mark outlives this process; this set only
   * covers the moment before the mark is written.
   */
  const taken = new Set<string>();
  const remember = loggingFailures(deps.remember, deps.log);
  const idleMs = deps.bodyIdleTimeoutMs ?? 30_000;
  const deadlineOf = (size: number): { ms: number; message: string } => {
    const ms = uploadDeadlineMs(size, deps.uploadDeadline);
    return { ms, message: `The upload did not arrive in time: ${size} bytes may take ${Math.ceil(ms / 1000)} s.` };
  };

  /** The origin the request being answered named, when it named one. */
  const requestOrigin = new AsyncLocalStorage<string>();

  const signer: UploadSigner = {
    async presignUpload(objectKey: string, maxBytes: number, expiresInSeconds: number): Promise<PresignedUpload> {
      const uploadId = uploadIdOfKey(objectKey);
      if (!uploadId) throw new Error(`Not an upload's key: ${objectKey}`);
      const grant: UploadGrant = { uploadId, size: maxBytes, expires: Math.floor(deps.now().getTime() / 1000) + expiresInSeconds };
      const url = `${requestOrigin.getStore() ?? deps.baseUrl()}${UPLOAD_PATH_PREFIX}${uploadId}?${grantQuery(key, grant)}`;
      // The form POST goes to the same signed URL: the signature is checked before the form is parsed.
      return { put: { url, headers: { 'content-length': String(maxBytes) } }, post: { url, fields: {} } };
    },
  };

  async function receive(req: IncomingMessage, res: ServerResponse, target: RequestTarget, requestId: string, deadline: RequestDeadline): Promise<void> {
    const uploadId = target.path.slice(UPLOAD_PATH_PREFIX.length);
    const method = req.method ?? 'GET';
    if (!UPLOAD_ID.test(uploadId)) throw refusal(404, 'not_found', 'No upload URL at this path. Ask POST /v1/uploads for one.');
    if (method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, { ...BASE_HEADERS, allow: ALLOW, 'x-request-id': requestId });
      res.end();
      return;
    }
    if (method !== 'PUT' && method !== 'POST') {
      throw refusal(405, 'method_not_allowed', `${method} is not allowed on an upload URL; use PUT, or POST with a form.`);
    }
    const nowMs = deps.now().getTime();
    const grant = verifyGrant(key, uploadId, target.searchParams, nowMs);
    if (grant === 'unsigned') throw refusal(403, 'unauthorized', 'The upload URL is not signed: use the URL POST /v1/uploads answered, whole.');
    if (grant === 'forged') throw refusal(403, 'unauthorized', 'The upload URL is not signed by this server, or was changed: use the URL POST /v1/uploads answered, whole.');
    if (grant === 'expired') throw refusal(403, 'unauthorized', 'The upload URL has expired. Ask POST /v1/uploads for a new one.');
    deadline.set(deadlineOf(grant.size));
    const lengthProblem = method === 'PUT' ? putLengthProblem(req, grant.size) : formLengthProblem(req, grant.size);
    if (lengthProblem) throw lengthProblem;

    if (taken.has(uploadId)) throw usedAlready();
    // Claimed before anything is awaited, so a second request for the same URL is refused even meanwhile.
    taken.add(uploadId);
    let marked: LocalScanRecord | undefined;
    let received = false;
    try {
      const record: LocalScanRecord | undefined = await deps.scans.get(uploadId);
      if (!record || record.expiresAt * 1000 <= nowMs) throw refusal(404, 'not_found', `No upload ${uploadId}: its scan has expired.`);
      // A file is being received for it, or was when the server stopped: that one counts.
      if (record.status !== 'pending' || record.receivingSince !== undefined) throw usedAlready();
      if (record.declaredSize !== grant.size) throw refusal(403, 'unauthorized', 'The upload URL does not match the upload it names.');
      const marking: LocalScanRecord = { ...record, receivingSince: deps.now().toISOString() };
      await deps.scans.put(marking);
      marked = record;
      // The verdict replaces the marked row with `record` and its outcome: the mark goes with it.
      received = await receiveBody(req, res, { uploadId, method, size: grant.size, record, requestId });
    } finally {
      taken.delete(uploadId);
      // A refused or broken upload leaves the scan waiting for its file: the URL may be used again.
      if (marked && !received) await unmark(marked);
    }
  }

  async function unmark(record: LocalScanRecord): Promise<void> {
    try {
      await deps.scans.put(record);
    } catch (error) {
      deps.log.warn('upload mark could not be removed: its URL takes no other file', { uploadId: record.uploadId, error: describe(error) });
    }
  }

  /**
   * Writes the body to the uploads folder while digesting it, answers once it is all in, then judges it
   * and records the verdict. Returns whether the body was received (the upload URL is then used up); a
   * refusal is thrown before that, with the file deleted.
   */
  async function receiveBody(
    req: IncomingMessage,
    res: ServerResponse,
    upload: { uploadId: string; method: string; size: number; record: ScanRecord; requestId: string },
  ): Promise<boolean> {
    const path = join(folder, upload.uploadId);
    const body = upload.method === 'PUT' ? putBody(req) : formBody(req);
    let file: FileHandle | undefined;
    let bodyIn = false;
    let digested: DigestedFile | undefined;
    try {
      // The look-inside keeps the file in its own scratch space: a second copy here would double the writes.
      file = deps.inside ? undefined : await open(path, 'wx', 0o600);
      const sink = file;
      const answer = () => {
        bodyIn = true;
        res.writeHead(upload.method === 'PUT' ? 200 : 204, {
          ...BASE_HEADERS,
          'x-request-id': upload.requestId,
          ...(upload.method === 'PUT' && { 'content-length': '0' }),
        });
        res.end();
      };
      digested = await digestFile(
        recorded(withIdleLimit(await body.file, idleMs), { size: upload.size, sink, complete: body.complete, onIn: answer }),
        // The upload arrives at the client's pace, within its own deadline; the look-inside's time starts once it is in.
        { fileName: upload.record.fileName, maxBytes: upload.size, readingMs: uploadDeadlineMs(upload.size, deps.uploadDeadline) },
        deps,
      );
    } catch (error) {
      if (!bodyIn) {
        body.stop();
        await discard(file, path);
        throw body.failure() ?? error;
      }
      deps.log.warn('upload could not be read', { uploadId: upload.uploadId, error: describe(error) });
    }
    try {
      const outcome = digested
        ? await recordVerdict(upload.record, digested)
        : await recordOutcome(upload.record, {
            status: 'failed',
            failure: { reason: 'read_error', message: 'The uploaded file could not be read to the end; upload it again.' },
          });
      deps.log.info('upload scanned', { uploadId: upload.uploadId, outcome });
    } finally {
      await discard(file, path);
    }
    return true;
  }

  /** Judges a received file and records its verdict, trying again while the store fails; never `unknown` unread. */
  async function recordVerdict(record: ScanRecord, digested: DigestedFile): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const [file] = await judgeFiles([digested], { store: deps.store, remember, scan: `upload ${record.uploadId}` });
        return await recordOutcome(record, { status: 'done', file: file! });
      } catch (error) {
        const delay = SCAN_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          // Left pending: the status answers `scan_timeout` once the scan's deadline passes.
          deps.log.error('upload scan failed', { uploadId: record.uploadId, error: describe(error) });
          return 'store_unavailable';
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async function recordOutcome(record: ScanRecord, update: Pick<ScanRecord, 'status' | 'file' | 'failure'>): Promise<string> {
    const first = await deps.scans.finish({ ...record, ...update, updatedAt: deps.now().toISOString() });
    return first ? update.status : 'duplicate';
  }

  return {
    signer,
    handle(req, res, target, requestId, deadline) {
      if (!target.path.startsWith(UPLOAD_PATH_PREFIX)) return false;
      // Until its URL is checked, a request gets the time of the smallest upload.
      receive(req, res, target, requestId, deadline ?? startBodyDeadline(req, res, requestId, deadlineOf(0))).catch((error: unknown) => answerError(req, res, error, requestId, deps.log));
      return true;
    },
    answering(req, target, answer) {
      const host = target.host ?? req.headers.host;
      // Only a plain host or host:port (the server has checked it is one of its names) goes into a URL.
      if (host === undefined || !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/.test(host)) return answer();
      return requestOrigin.run(`http://${host}`, answer);
    },
  };
}

/** A PUT's Content-Length must be the declared size; a chunked body is counted as it arrives. */
function putLengthProblem(req: IncomingMessage, size: number): Refusal | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) {
    if (req.headers['transfer-encoding'] !== undefined || size === 0) return undefined;
    return refusal(400, 'invalid_request', `The upload needs its body: send the ${size} bytes declared, with Content-Length: ${size}.`, true);
  }
  const length = Number(header);
  if (length > size) return tooLong(size);
  if (length < size) return refusal(400, 'invalid_request', `Content-Length is ${length}, but this upload takes the ${size} bytes declared.`, true);
  return undefined;
}

/** A form must be multipart, and long enough for the declared file, and not much longer. */
function formLengthProblem(req: IncomingMessage, size: number): Refusal | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'multipart/form-data') {
    return refusal(415, 'unsupported_media_type', 'A form upload is multipart/form-data, its file in the field `file`; or PUT the bytes.', true);
  }
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  if (length > size + FORM_OVERHEAD_BYTES) return tooLong(size);
  if (length < size) return refusal(400, 'invalid_request', `The form has ${length} bytes, fewer than the ${size} of the file declared.`, true);
  return undefined;
}

const tooLong = (size: number) => refusal(413, 'payload_too_large', `The body is longer than the ${size} bytes declared for this upload.`, true);

const usedAlready = () =>
  refusal(409, 'invalid_request', 'This upload URL has been used: each takes one file. Ask POST /v1/uploads for a new one.');

/** Where an upload's bytes come from, how to tell the request is whole, and how to stop reading it. */
interface UploadBody {
  /** The file's bytes; rejects when the request has none. */
  readonly file: Promise<AsyncIterable<Uint8Array>>;
  /** Resolves once the request has ended well after the file: for a form, its closing boundary. */
  complete(): Promise<void>;
  /** Why the request was refused, when the parser found out before the file did. */
  failure(): Refusal | undefined;
  stop(): void;
}

function putBody(req: IncomingMessage): UploadBody {
  return {
    // Not destroyed when reading stops early: the socket must stay open for the refusal.
    file: Promise.resolve(req.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>),
    complete: async () => undefined,
    failure: () => undefined,
    stop: () => req.resume(),
  };
}

/** The file of a form POST, as S3's form uploads take it: the fields (ignored) first, then `file`, one file. */
function formBody(req: IncomingMessage): UploadBody {
  let failure: Refusal | undefined;
  let resolveFile!: (file: Readable) => void;
  let rejectFile!: (error: Refusal) => void;
  const file = new Promise<Readable>((resolve, reject) => ((resolveFile = resolve), (rejectFile = reject)));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { files: 1, fields: 20, fieldSize: 8 * 1024, parts: 21, headerPairs: 20 },
    });
  } catch (error) {
    failure = refusal(400, 'invalid_request', `The form cannot be parsed: ${(error as Error).message}.`, true);
    file.catch(() => undefined);
    rejectFile(failure);
    return { file, complete: async () => Promise.reject(failure), failure: () => failure, stop: () => req.resume() };
  }
  const fail = (problem: Refusal) => {
    failure ??= problem;
    rejectFile(failure);
    parser.destroy();
  };
  let gotFile = false;
  const complete = new Promise<void>((resolve, reject) => {
    parser.on('file', (field: string, stream: Readable) => {
      // The parser ends a part's stream with an error when the form breaks; its reader, if any, hears of it.
      stream.on('error', () => undefined);
      if (field !== 'file' || gotFile) {
        stream.resume();
        fail(refusal(400, 'invalid_request', 'The form carries the file in a field other than `file`: send the fields, then one file named `file`.', true));
        return;
      }
      gotFile = true;
      resolveFile(stream);
    });
    const tooMuch = () => fail(refusal(400, 'invalid_request', 'The form has more than one file or too many fields: send the fields, then one file named `file`.', true));
    parser.on('filesLimit', tooMuch).on('fieldsLimit', tooMuch).on('partsLimit', tooMuch);
    parser.on('error', (error: Error) => {
      fail(refusal(400, 'invalid_request', `The form is malformed: ${error.message}.`, true));
      reject(failure);
    });
    parser.on('close', () => {
      if (failure) return reject(failure);
      if (!gotFile) fail(refusal(400, 'invalid_request', 'The form has no file: add it last, in the field `file`.', true));
      return failure ? reject(failure) : resolve();
    });
  });
  file.catch(() => undefined);
  complete.catch(() => undefined);
  req.on('error', (error) => parser.destroy(error));
  req.pipe(parser);
  return {
    file,
    complete: () => complete,
    failure: () => failure,
    stop: () => {
      req.unpipe(parser);
      parser.destroy();
      req.resume();
    },
  };
}

/**
 * The body on its way to the digest: each chunk is written to the upload's file (when it has one of its own
 * rather than the look-inside's) before it is passed on,
 * the count is checked against the declared size, and once the request has ended with exactly that many
 * bytes the file is closed and `onIn` answers the client, before the digest and the look inside finish.
 */
async function* recorded(
  source: AsyncIterable<Uint8Array>,
  options: { size: number; sink: FileHandle | undefined; complete: () => Promise<void>; onIn: () => void },
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of rechunk(source)) {
    if (received + chunk.byteLength > options.size) throw tooLong(options.size);
    received += chunk.byteLength;
    for (let written = 0; options.sink && written < chunk.byteLength; ) {
      written += (await options.sink.write(chunk, written, chunk.byteLength - written)).bytesWritten;
    }
    yield chunk;
  }
  if (received < options.size) {
    throw refusal(400, 'invalid_request', `The body ended after ${received} of the ${options.size} bytes declared.`, true);
  }
  await options.complete();
  await options.sink?.close();
  options.onIn();
}

/**
 * Passes the body on, failing with 408 when no byte comes for `idleMs`. The read left waiting is not
 * awaited: the answer closes the connection, which ends it.
 */
async function* withIdleLimit(source: AsyncIterable<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array> {
  const reads = source[Symbol.asyncIterator]();
  let stalled = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          stalled = true;
          reject(refusal(408, 'invalid_request', `The upload stopped arriving: no byte for ${idleMs / 1000} s.`, true));
        }, idleMs);
      });
      const next = await Promise.race([reads.next(), idle]).finally(() => clearTimeout(timer));
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (!stalled) await reads.return?.();
  }
}

async function discard(file: FileHandle | undefined, path: string): Promise<void> {
  await file?.close().catch(() => undefined);
  await rm(path, { force: true });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Answers a refusal or failure in the error shape, unless the client is gone or an answer went out already. */
function answerError(req: IncomingMessage, res: ServerResponse, error: unknown, requestId: string, log: Log): void {
  const clientGone = req.destroyed && !req.complete;
  if (!(error instanceof Refusal)) {
    if (!clientGone) log.error('upload failed', { error: describe(error) });
  }
  if (clientGone || res.headersSent || !res.writable) {
    if (!res.headersSent && !res.writableEnded) res.destroy();
    return;
  }
  if (error instanceof Refusal) {
    if (error.answer.status === 405) res.setHeader('allow', ALLOW);
    // Otherwise the rest of the body is read and dropped, so a browser still sending it sees the answer; the
    // request's deadline bounds that.
    if (error.close) res.setHeader('connection', 'close');
    req.resume();
    return sendEdgeError(res, error.answer, requestId);
  }
  const mapped = mapError(error instanceof AppError ? error : new Error('upload failed'), requestId);
  res.setHeader('connection', 'close');
  req.resume();
  sendEdgeError(res, { status: mapped.statusCode, code: mapped.body.error.code, message: mapped.body.error.message }, requestId, mapped.headers);
}
