import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PresignedUpload, UploadSigner } from '../core/uploads.js';
import { translated } from './s3-errors.js';

/**
 * Signs uploads into the upload bucket: a PUT URL and a browser POST for one key. Only the function that
 * creates uploads imports it, so the presigners travel in no other function's bundle. The client must be
 * built by `makeS3Client`: a default client signs an empty-body checksum into the PUT URL, which S3 then
 * holds every non-empty upload against. A failure to sign is `UpstreamUnavailableError`, the SDK error its cause.
 */
export class S3UploadSigner implements UploadSigner {
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
}
