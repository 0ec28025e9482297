import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXPORT_BUCKET_VARIABLE, EXPORT_KEY_PREFIX } from '../lambdas/adapters/export-objects.js';
import { bindObjectPrefix, privateBucketWithLogs } from './private-bucket.js';

/** The access a function gets to the exports: `read` to answer the export route, `write` to rebuild them. */
export type ExportsAccess = 'read' | 'write';

/**
 * The S3 actions behind each access, on `exports/*` objects only. The export route reads the manifest,
 * reads small exports and presigns GETs of large ones (a presigned URL acts with its signer's
 * permissions, so `s3:GetObject` is all it needs). The builder reads the manifest, writes exports and the
 * manifest, and deletes the previous version's objects, whose keys the manifest names: it needs no
 * `s3:ListBucket`.
 */
export const EXPORTS_ACTIONS: Readonly<Record<ExportsAccess, readonly string[]>> = {
  read: ['s3:GetObject'],
  write: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
};

export interface ExportBucketProps {
  /**
   * What happens to the buckets when they leave the stack. The exports are rebuilt from the table at its
   * next change, but CloudFormation cannot delete a bucket that holds objects, and access logs are an
   * audit trail worth keeping.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long server access logs of the exports bucket are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
}

/**
 * The private bucket the export builder writes the list's exports to, once per change, and the export
 * route answers from (304s from the manifest, small exports in the body, large ones by a presigned GET).
 *
 * Creates:
 * - the exports bucket: all public access blocked, TLS 1.2 or later only, S3-managed encryption,
 *   versioning off (a replaced export is gone, not kept as a noncurrent version), incomplete multipart
 *   uploads aborted after a day, server access logs into the log bucket;
 * - the access log bucket, logs expiring after `accessLogRetention`.
 *
 * Functions get access only through {@link ExportBucket.bindBucket}, which grants and sets the variable
 * naming the bucket in one step.
 */
export class ExportBucket extends Construct {
  /** The exports bucket. */
  public readonly bucket: Bucket;
  /** The bucket receiving the exports bucket's server access logs. */
  public readonly accessLogBucket: Bucket;

  constructor(scope: Construct, id: string, props: ExportBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    ({ bucket: this.bucket, accessLogBucket: this.accessLogBucket } = privateBucketWithLogs(this, {
      logsOf: 'the exports bucket',
      logPrefix: 'exports-bucket/',
      accessLogRetention: props.accessLogRetention,
      removalPolicy,
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    }));
  }

  /**
   * Grants `fn` the given access (see {@link EXPORTS_ACTIONS}) on `exports/*` objects and sets
   * `EXPORT_BUCKET` on it.
   */
  public bindBucket(fn: LambdaFunction, access: ExportsAccess): void {
    bindObjectPrefix(fn, this.bucket, {
      prefix: EXPORT_KEY_PREFIX,
      actions: EXPORTS_ACTIONS[access],
      variable: EXPORT_BUCKET_VARIABLE,
      why: `Export object keys are '${EXPORT_KEY_PREFIX}' plus the list version and the format, new at every rebuild`,
    });
  }
}
