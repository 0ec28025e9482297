import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { ObjectStore, OpenedObject, PresignedUpload } from '../core/uploads.js';

/**
 * The upload bucket behind the `ObjectStore` port. The client must be built by `makeS3Client`, whose
 * checksum settings keep presigned PUTs usable and streamed bodies intact. Every SDK failure becomes
 * `UpstreamUnavailableError` saying what failed, with the SDK error as its cause; only a missing object
 * on `open` is an answer (`undefined`).
 */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly options: { bucket: string },
  ) {}

  async presignUpload(key: string, maxBytes: number, expiresInSeconds: number): Promise<PresignedUpload> {
    return translated('The upload URL could not be signed; try again shortly.', () => this.presign(key, maxBytes, expiresInSeconds));
  }

  private async presign(key: string, maxBytes: number, expiresInSeconds: number): Promise<PresignedUpload> {
    // The length is part of the signature: S3 refuses a PUT of any other size before it stores a byte, so a
    // client that declared 10 bytes cannot send 5 GiB for the scan to read.
    const putUrl = await getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.options.bucket, Key: key, ContentLength: maxBytes }), {
      expiresIn: expiresInSeconds,
      signableHeaders: new Set(['content-length']),
    });
    const post = await createPresignedPost(this.client, {
      Bucket: this.options.bucket,
      Key: key,
      // S3 refuses a browser upload past the declared size before it stores a byte; the scan checks again.
      Conditions: [['content-length-range', 0, maxBytes]],
      Expires: expiresInSeconds,
    });
    return { put: { url: putUrl, headers: { 'content-length': String(maxBytes) } }, post: { url: post.url, fields: post.fields } };
  }

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

/** Runs one S3 call, turning its failure into the domain error that says what failed, keeping the cause. */
async function translated<T>(failed: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new UpstreamUnavailableError(failed, { cause: error });
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
