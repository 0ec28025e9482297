import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Properties of {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /** Whose logs the bucket receives, in words (`the upload bucket`), for the acknowledged cdk-nag finding. */
  readonly logsOf: string;
  /**
   * How long log files are kept.
   * @default Duration.days(90)
   */
  readonly retention?: Duration;
  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether CloudFront standard logging writes to it too: that goes through an ACL grant to the
   * awslogsdelivery account, which needs object ownership `BUCKET_OWNER_PREFERRED`.
   * @default false
   */
  readonly cloudFrontLogs?: boolean;
}

/**
 * A bucket that receives access logs, the same way wherever the stack needs one: public access blocked,
 * S3-managed encryption (S3 server access logging delivers to nothing else), TLS 1.2 or later only, and
 * log files expiring after `retention`. Its own access is not logged (cdk-nag AwsSolutions-S1 is
 * acknowledged with the reason): that would need a further bucket, whose own logs would need another.
 *
 * It is the bucket itself, so its logical id is the id it is given.
 */
export class AccessLogBucket extends Bucket {
  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id, {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      ...(props.cloudFrontLogs && { objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED }),
      lifecycleRules: [{ id: 'expire-access-logs', expiration: props.retention ?? Duration.days(90) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-S1',
      reason: `This is the access log bucket of ${props.logsOf}; only the logging services write to it. Logging it too would need a further bucket, whose own logs would need another.`,
    });
  }
}
