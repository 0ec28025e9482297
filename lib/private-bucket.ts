import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type BucketProps } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket.js';
import { logicalIdToken } from './nag-ids.js';

/** What a bucket of the stack that holds data sets itself, beside the settings every such bucket shares. */
export interface PrivateBucketOptions extends Pick<BucketProps, 'lifecycleRules' | 'cors' | 'notificationsHandlerRole'> {
  /** Whose logs the log bucket receives, in words (`the upload bucket`). */
  readonly logsOf: string;
  /** The prefix of this bucket's server access logs in the log bucket (`upload-bucket/`). */
  readonly logPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  /** @default Duration.days(90) */
  readonly accessLogRetention?: Duration;
}

/**
 * A bucket holding the service's data (uploads, answers, exports) and the bucket receiving its server access
 * logs, made in `scope` as `Bucket` and `AccessLogs`. Every such bucket blocks all public access, takes TLS 1.2
 * or later only (bucket policy), is encrypted with S3-managed keys (presigned URLs act with the signer's
 * permissions; a KMS key would add key grants to every signer and reader) and keeps no versions (a deleted or
 * replaced object must be gone, not kept as a noncurrent version).
 */
export function privateBucketWithLogs(scope: Construct, options: PrivateBucketOptions): { bucket: Bucket; accessLogBucket: Bucket } {
  const { logsOf, logPrefix, removalPolicy, accessLogRetention, ...own } = options;
  const accessLogBucket = new AccessLogBucket(scope, 'AccessLogs', { logsOf, retention: accessLogRetention, removalPolicy });
  const bucket = new Bucket(scope, 'Bucket', {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: false,
    ...own,
    serverAccessLogsBucket: accessLogBucket,
    serverAccessLogsPrefix: logPrefix,
    removalPolicy,
  });
  return { bucket, accessLogBucket };
}

/**
 * Grants `fn` the actions on the objects under `prefix` and sets the variable naming the bucket, in one
 * step, so a function never has the one without the other. The objects' names are chosen per request, so the
 * grant names the prefix: cdk-nag's AwsSolutions-IAM5 finding on that wildcard is acknowledged with `why`.
 */
export function bindObjectPrefix(
  fn: LambdaFunction,
  bucket: Bucket,
  binding: { readonly prefix: string; readonly actions: readonly string[]; readonly variable: string; readonly why: string },
): void {
  Grant.addToPrincipal({ grantee: fn, actions: [...binding.actions], resourceArns: [bucket.arnForObjects(`${binding.prefix}*`)] });
  fn.addEnvironment(binding.variable, bucket.bucketName);
  if (fn.role) {
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdToken(bucket)}.Arn>/${binding.prefix}*]`,
      reason: `${binding.why}, so the grant (${binding.actions.join(', ')}) names the prefix, not single objects.`,
    });
  }
}
