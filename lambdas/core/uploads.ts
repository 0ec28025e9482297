import { randomUUID } from 'node:crypto';
import { rechunk } from './digest.js';
import { NotFoundError, PayloadTooLargeError, UpstreamUnavailableError } from './errors.js';
import type { LookInside } from './inside/look-inside.js';
import type { HashStore } from './lookup.js';
import type { ContainerMemory } from './derived.js';
import { digestFile, judgeFiles } from './scan.js';
import type {
  CreateUploadBody as CreateUploadInput,
  CreatedUpload,
  FileVerdict,
  PresignedUpload,
  ScanFailureReason,
  ScanStatus,
  UploadStatusView,
} from './schemas.js';

/** Presigned uploads take up to 5 GiB: the limit of a single S3 PUT. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
/** How long a presigned upload URL stays valid. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
/** How long a scan's result stays readable. */
export const SCAN_RESULT_TTL_SECONDS = 7 * 24 * 3600;
/**
 * How long after the upload was asked for its scan may stay `pending`. Past it the status answers `failed`
 * with `scan_timeout`: the file never arrived, or its scan kept failing until its event was given up. It
 * covers the latest a scan can still end: an upload started as its URL expires (15 minutes), 5 GiB sent at
 * 1 MiB/s (85 minutes), Lambda keeping the event and retrying it for at most six hours, and a last run of
 * 15 minutes; eight hours in all. A verdict recorded later still replaces the timeout.
 */
export const SCAN_DEADLINE_SECONDS = 8 * 3600;

export type { CreateUploadBody as CreateUploadInput, CreatedUpload, PresignedUpload, ScanFailureReason, ScanStatus, UploadStatusView } from './schemas.js';

/** One upload's row in the Scans table. */
export interface ScanRecord {
  uploadId: string;
  status: ScanStatus;
  fileName: string;
  /** The size the client declared when it asked for the upload URL. */
  declaredSize: number;
  createdAt: string;
  updatedAt: string;
  /** Epoch seconds after which the row is gone (DynamoDB TTL; also checked on read). */
  expiresAt: number;
  file?: FileVerdict;
  failure?: { reason: ScanFailureReason; message: string };
}

/** The Scans table. */
export interface ScanStore {
  put(record: ScanRecord): Promise<void>;
  /**
   * Writes the final state of a scan only if the row is still `pending`; returns false when another
   * delivery of the same event finished first, so a late duplicate never overwrites a verdict.
   */
  finish(record: ScanRecord): Promise<boolean>;
  get(uploadId: string): Promise<ScanRecord | undefined>;
}

/** An uploaded object opened for reading. */
export interface OpenedObject {
  size: number;
  body: AsyncIterable<Uint8Array>;
}

/** The upload bucket as the scan of an upload reads it. */
export interface ObjectReader {
  /** Opens an object for streaming, or `undefined` when it does not exist. */
  open(key: string): Promise<OpenedObject | undefined>;
  delete(key: string): Promise<void>;
}

/** The upload bucket as an upload is asked for. */
export interface UploadSigner {
  presignUpload(key: string, maxBytes: number, expiresInSeconds: number): Promise<PresignedUpload>;
}

/** The upload bucket. */
export interface ObjectStore extends ObjectReader, UploadSigner {}

const UPLOAD_KEY = /^uploads\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The object key of an upload. The file name is never part of it: names can be confidential. */
export function uploadKey(uploadId: string): string {
  return `uploads/${uploadId}`;
}

/** The upload id of an object key, or `undefined` for a key that is not an upload's. */
export function uploadIdOfKey(key: string): string | undefined {
  return UPLOAD_KEY.exec(key)?.[1];
}

/**
 * Starts a large-file scan: records a `pending` scan and presigns a PUT and a POST for the object.
 * The size the client declares is the cap the scan enforces.
 */
export async function createUpload(
  input: CreateUploadInput,
  deps: { scans: ScanStore; objects: UploadSigner; now: () => Date; newId?: () => string },
): Promise<CreatedUpload> {
  if (input.size > MAX_UPLOAD_BYTES) {
    throw new PayloadTooLargeError(`The file is ${input.size} bytes; uploads take at most ${MAX_UPLOAD_BYTES} bytes (5 GiB).`, {
      details: { limitBytes: MAX_UPLOAD_BYTES },
    });
  }
  const uploadId = (deps.newId ?? randomUUID)();
  const now = deps.now();
  const presigned = await deps.objects.presignUpload(uploadKey(uploadId), input.size, UPLOAD_URL_TTL_SECONDS);
  await deps.scans.put({
    uploadId,
    status: 'pending',
    fileName: input.fileName,
    declaredSize: input.size,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + SCAN_RESULT_TTL_SECONDS,
  });
  return {
    uploadId,
    ...presigned,
    expiresAt: new Date(now.getTime() + UPLOAD_URL_TTL_SECONDS * 1000).toISOString(),
    maxBytes: input.size,
  };
}

/**
 * Reads a scan's state; unknown and expired ids are `NotFoundError`. A scan still pending past
 * {@link SCAN_DEADLINE_SECONDS} is reported `failed` with `scan_timeout`, so a caller never waits for a
 * result that cannot come.
 */
export async function getUploadStatus(uploadId: string, deps: { scans: ScanStore; now: () => Date }): Promise<UploadStatusView> {
  const record = UPLOAD_ID.test(uploadId) ? await deps.scans.get(uploadId) : undefined;
  const now = deps.now().getTime();
  if (!record || record.expiresAt * 1000 <= now) {
    throw new NotFoundError(`No upload ${uploadId}: it never existed or its result has expired.`);
  }
  if (record.status === 'pending' && now >= Date.parse(record.createdAt) + SCAN_DEADLINE_SECONDS * 1000) {
    return {
      uploadId,
      status: 'failed',
      file: null,
      error: {
        code: 'scan_timeout',
        message: 'No scan result arrived in time: the file was never uploaded, or it could not be scanned. Upload it again.',
      },
    };
  }
  return {
    uploadId,
    status: record.status,
    file: record.file ?? null,
    ...(record.failure && { error: { code: record.failure.reason, message: record.failure.message } }),
  };
}

export type ObjectScanOutcome = 'done' | 'failed' | 'duplicate' | 'not_an_upload';

/**
 * Scans one uploaded object: streams it through the digest function with the declared size as the cap,
 * looks the digests up, records the result, then deletes the object. Safe to run twice for one object.
 * With `inside`, the object is written to a scratch folder of its own while it is digested (S3 is read
 * once, nothing is held in memory), and when its bytes say it is a container it is opened as
 * `POST /v1/files` opens files: the file and every member are judged in one batch, and the verdict carries
 * `inside`. The scratch folder is deleted before this returns or throws. The look-inside's time limit runs
 * from the first byte read: reached while the object is still being read, the object is digested to its
 * end all the same and judged by its own digests, its `inside` incomplete for `time`.
 * A missing object, one over its limit or one that cannot be read ends the scan as `failed`; a store
 * failure propagates so the event is retried, and is never recorded as `unknown`. With `remember`, an
 * upload found bad through a member is remembered as a derived container record (scan `upload <id>`).
 */
export async function scanUploadedObject(
  key: string,
  deps: { scans: ScanStore; objects: ObjectReader; store: HashStore; now: () => Date; inside?: LookInside; remember?: ContainerMemory },
): Promise<ObjectScanOutcome> {
  const uploadId = uploadIdOfKey(key);
  const record = uploadId ? await deps.scans.get(uploadId) : undefined;
  if (!record) {
    // Nobody asked for this object: it is confidential and possibly live malware, so it goes.
    await deps.objects.delete(key);
    return 'not_an_upload';
  }
  if (record.status !== 'pending') {
    await deps.objects.delete(key);
    return 'duplicate';
  }
  const finish = async (update: Pick<ScanRecord, 'status' | 'file' | 'failure'>): Promise<boolean> => {
    const first = await deps.scans.finish({ ...record, ...update, updatedAt: deps.now().toISOString() });
    await deps.objects.delete(key);
    return first;
  };
  const fail = async (reason: ScanFailureReason, message: string): Promise<'failed' | 'duplicate'> =>
    (await finish({ status: 'failed', failure: { reason, message } })) ? 'failed' : 'duplicate';

  const opened = await deps.objects.open(key);
  if (!opened) return fail('missing_object', 'The uploaded file was not found; upload it again.');
  if (opened.size > record.declaredSize) {
    return fail('too_large', `The uploaded file has ${opened.size} bytes, more than the ${record.declaredSize} declared.`);
  }
  let file: FileVerdict;
  try {
    // Object bodies arrive in the 64 KiB pieces of a socket stream; digested in 1 MiB chunks they hash at full speed.
    // With `inside`, the upload is kept in scratch on the way and opened when it is a container; when the time
    // limit comes before the last byte, it is still digested and marked not fully checked for `time`.
    const digested = await digestFile(rechunk(opened.body), { fileName: record.fileName, maxBytes: record.declaredSize }, deps);
    [file] = (await judgeFiles([digested], { ...deps, scan: `upload ${record.uploadId}` })) as [FileVerdict];
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) throw error;
    if (error instanceof PayloadTooLargeError) {
      return fail('too_large', `The uploaded file has more than the ${record.declaredSize} bytes declared.`);
    }
    return fail('read_error', 'The uploaded file could not be read to the end; upload it again.');
  }
  return (await finish({ status: 'done', file })) ? 'done' : 'duplicate';
}
