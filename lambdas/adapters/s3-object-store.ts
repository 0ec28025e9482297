import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { ObjectReader, ObjectStore, OpenedObject, PresignedUpload } from '../core/uploads.js';
import { translated } from './s3-errors.js';
import { S3UploadSigner } from './s3-upload-signer.js';

/**
 * The upload bucket as the scan reads it: opens and deletes objects, and signs nothing, so the function
 * that scans uploads carries neither presigner. The client must be built by `makeS3Client`, whose checksum
 * settings keep streamed bodies intact. Every SDK failure becomes `UpstreamUnavailableError` saying what
 * failed, with the SDK error as its cause; only a missing object on `open` is an answer (`undefined`).
 */
export class S3ObjectReader implements ObjectReader {
  constructor(
    protected readonly client: S3Client,
    protected readonly options: { bucket: string },
  ) {}

  async open(key: string): Promise<OpenedObject | undefined> {
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { size: output.ContentLength ?? 0, body: output.Body as AsyncIterable<Uint8Array> };
    } catch (error) {
      if (error instanceof NoSuchKey || isMissingObject(error)) return undefined;
      throw new UpstreamUnavailableError('The uploaded file could not be opened in the upload bucket.', { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    await translated('The uploaded file could not be deleted from the upload bucket.', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key })),
    );
  }
}

/**
 * The whole `ObjectStore` port on one bucket: {@link S3ObjectReader} and {@link S3UploadSigner} together,
 * for a process that both creates and scans uploads. A Lambda function takes only the half it calls.
 */
export class S3ObjectStore extends S3ObjectReader implements ObjectStore {
  private readonly signer: S3UploadSigner;

  constructor(client: S3Client, options: { bucket: string }) {
    super(client, options);
    this.signer = new S3UploadSigner(client, options);
  }

  presignUpload(key: string, maxBytes: number, expiresInSeconds: number): Promise<PresignedUpload> {
    return this.signer.presignUpload(key, maxBytes, expiresInSeconds);
  }
}

/**
 * S3 answers a GET of a missing object with 404 `NoSuchKey` only to callers allowed to list the bucket;
 * the scan function is not (listing would let it enumerate uploads), so in AWS a missing object is 403
 * `AccessDenied`. The scan function's role may read every upload key, so a denial on one is an object
 * that is not there: retrying cannot bring it back.
 */
function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'AccessDenied';
}
