import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { ExportManifest, ExportObjects } from '../core/exports.js';
import { writeText } from './export-sort.js';

/** Every export's object key starts with this; grants are limited to it. */
export const EXPORT_KEY_PREFIX = 'exports/';
/** The manifest's object key: what the export route reads on every request. */
export const EXPORT_MANIFEST_KEY = `${EXPORT_KEY_PREFIX}manifest.json`;
/** The variable naming the exports bucket; the construct that grants access sets it. */
export const EXPORT_BUCKET_VARIABLE = 'EXPORT_BUCKET';

/** The exports bucket named by the environment, read once at cold start. */
export function readExportBucket(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const bucket = env[EXPORT_BUCKET_VARIABLE];
  if (!bucket) throw new Error(`Environment variable ${EXPORT_BUCKET_VARIABLE} is not set`);
  return bucket;
}

export interface S3ExportObjectsOptions {
  readonly bucket: string;
  /** Where an export is written before it is uploaded whole (the function's /tmp). */
  readonly scratchDir: string;
  /** How long a presigned GET of an export stays valid. @default 300 */
  readonly urlExpirySeconds?: number;
}

/**
 * Exports as S3 objects under `exports/`: each export is written to a scratch file and uploaded with one
 * PutObject (S3 takes an object whole or not at all, up to 5 GB), and the manifest beside them. Every SDK
 * failure is `UpstreamUnavailableError`.
 */
export class S3ExportObjects implements ExportObjects {
  private readonly urlExpirySeconds: number;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3ExportObjectsOptions,
  ) {
    this.urlExpirySeconds = options.urlExpirySeconds ?? 300;
  }

  async readManifest(): Promise<ExportManifest | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: EXPORT_MANIFEST_KEY }));
      return JSON.parse(await answer.Body!.transformToString('utf8')) as ExportManifest;
    } catch (error) {
      // Without s3:ListBucket, S3 answers a missing object 403 rather than 404: either way nothing was written yet.
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'AccessDenied' || name === 'NotFound') return undefined;
      throw new UpstreamUnavailableError('The exports could not be read; try again shortly.', { cause: error });
    }
  }

  async writeManifest(manifest: ExportManifest): Promise<void> {
    await this.call(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: EXPORT_MANIFEST_KEY,
          Body: JSON.stringify(manifest),
          ContentType: 'application/json',
        }),
      ),
    );
  }

  async putExport(key: string, chunks: AsyncIterable<string>, contentType: string): Promise<{ size: number }> {
    const file = join(this.options.scratchDir, `export-${randomBytes(6).toString('hex')}`);
    try {
      await writeText(file, chunks);
      const { size } = await stat(file);
      await this.call(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.options.bucket,
            Key: `${EXPORT_KEY_PREFIX}${key}`,
            Body: createReadStream(file),
            ContentLength: size,
            ContentType: contentType,
          }),
        ),
      );
      return { size };
    } finally {
      await rm(file, { force: true });
    }
  }

  async deleteExports(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((key) => ({ Key: `${EXPORT_KEY_PREFIX}${key}` }));
      await this.call(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch, Quiet: true } })));
    }
  }

  /** The whole text of a small export, to answer it in the body. */
  async readExport(key: string): Promise<string> {
    return this.call(async () => {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: `${EXPORT_KEY_PREFIX}${key}` }));
      return answer.Body!.transformToString('utf8');
    });
  }

  /** A short-lived GET URL of an export, saved under `fileName` by browsers and `curl -OJ`. */
  async presignGet(key: string, fileName: string): Promise<string> {
    return this.call(() =>
      getSignedUrl(
        this.client,
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: `${EXPORT_KEY_PREFIX}${key}`,
          ResponseContentDisposition: `attachment; filename="${fileName}"`,
        }),
        { expiresIn: this.urlExpirySeconds },
      ),
    );
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new UpstreamUnavailableError('The exports could not be read or written; try again shortly.', { cause: error });
    }
  }
}

