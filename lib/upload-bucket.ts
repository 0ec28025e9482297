import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Bucket, EventType, HttpMethods, type CorsRule } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { RESOURCE_VARIABLES } from '../lambdas/adapters/config.js';
import { uploadKey } from '../lambdas/core/uploads.js';
import type { Permissions } from '../lambdas/http/routes.js';
import { bindObjectPrefix, privateBucketWithLogs } from './private-bucket.js';

/** The access a function gets to the upload bucket, as the route table names it. */
export type UploadsAccess = NonNullable<Permissions['uploads']>;

/** Every upload's object key starts with this; grants and the notification are limited to it. */
export const UPLOAD_KEY_PREFIX = uploadKey('');

/**
 * The S3 actions behind each access, on `uploads/*` objects only.
 * - `put`: a presigned URL carries the permissions of whoever signed it, so presigning a PUT or a POST
 *   needs `s3:PutObject` itself.
 * - `readDelete`: read the object through the digests, then delete it. `s3:ListBucket` is deliberately
 *   absent: it would let the function enumerate uploads. Without it S3 answers a missing object with 403
 *   `AccessDenied` rather than 404, which the object store reads as a missing object, so the scan ends
 *   `failed` with `missing_object` instead of being retried until its event is dropped.
 */
export const UPLOADS_ACTIONS: Readonly<Record<UploadsAccess, readonly string[]>> = {
  put: ['s3:PutObject'],
  readDelete: ['s3:GetObject', 's3:DeleteObject'],
};

export interface UploadBucketProps {
  /**
   * Origins of web pages that may upload straight to the bucket with a presigned PUT or POST (CORS),
   * such as the web form's. Each is `scheme://host[:port]` with no path; `http:` only for localhost.
   * Scripts and the CLI need none: CORS binds browsers only.
   * @default - none: no CORS rule, so browsers cannot upload directly
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * What happens to the buckets when they leave the stack. CloudFormation cannot delete a bucket that
   * holds objects, and an upload may be in flight; a retained upload bucket empties itself through its
   * lifecycle rule, and the access logs are an audit trail worth keeping.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long server access logs of the upload bucket are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
}

/**
 * The bucket presigned uploads go to. Uploaded files are confidential and possibly live malware: nobody
 * reads them but the scan function, which deletes each one once scanned, and whatever is left expires.
 *
 * Creates:
 * - the upload bucket: all public access blocked, TLS 1.2 or later only (bucket policy), S3-managed
 *   encryption, versioning off, a lifecycle rule expiring every object and aborting every incomplete
 *   multipart upload one day after it began, server access logs into the log bucket, and a CORS rule for
 *   `allowedOrigins` when there are any;
 * - the access log bucket: the same public-access, TLS and encryption settings, logs expiring after
 *   `accessLogRetention`;
 * - the role of the CDK's bucket-notifications handler, which writes the notification configuration;
 * - once {@link UploadBucket.notifyOnUpload} is called, the ObjectCreated notification on `uploads/`
 *   (a CDK custom resource, with the stack's singleton handler function using that role) and the
 *   permission letting S3 invoke the function.
 *
 * Why these choices:
 * - S3-managed keys rather than KMS: presigned URLs act with the signer's permissions, and a KMS key would
 *   add key grants to every signer and reader for objects that live minutes.
 * - Versioning off: a delete must remove the file; with versioning it would only hide it behind a delete
 *   marker and keep the bytes as a noncurrent version.
 *
 * Functions get access only through {@link UploadBucket.bindBucket}, which grants and sets the variable
 * naming the bucket in one step.
 */
export class UploadBucket extends Construct {
  /** The upload bucket. */
  public readonly bucket: Bucket;
  /** The bucket receiving the upload bucket's server access logs. */
  public readonly accessLogBucket: Bucket;
  /** The role of the function that writes the bucket's notification configuration at deploy time. */
  public readonly notificationsHandlerRole: Role;
  private notified: IFunction | undefined;

  constructor(scope: Construct, id: string, props: UploadBucketProps = {}) {
    super(scope, id);
    const origins = props.allowedOrigins ?? [];
    origins.forEach(checkOrigin);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.notificationsHandlerRole = new Role(this, 'NotificationsHandlerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Writes the notification configuration of the upload bucket at deploy time',
    });
    Validations.of(this.notificationsHandlerRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "The CDK's bucket-notifications handler attaches this policy to its role whatever role it is given; it runs only during deployments, to write the notification configuration, and its one other permission is s3:PutBucketNotification on the upload bucket.",
    });

    ({ bucket: this.bucket, accessLogBucket: this.accessLogBucket } = privateBucketWithLogs(this, {
      logsOf: 'the upload bucket',
      logPrefix: 'upload-bucket/',
      accessLogRetention: props.accessLogRetention,
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-leftover-uploads',
          // The scan deletes each object within minutes; this catches objects it never got to. S3 rounds
          // to the next midnight UTC, so an object lives at most two days.
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      cors: origins.length > 0 ? [corsRule(origins)] : undefined,
      notificationsHandlerRole: this.notificationsHandlerRole,
    }));
  }

  /**
   * Grants `fn` the given access (see {@link UPLOADS_ACTIONS}) on `uploads/*` objects and sets
   * `UPLOAD_BUCKET` (the name `readConfig` reads) on it.
   */
  public bindBucket(fn: LambdaFunction, access: UploadsAccess): void {
    bindObjectPrefix(fn, this.bucket, {
      prefix: UPLOAD_KEY_PREFIX,
      actions: UPLOADS_ACTIONS[access],
      variable: RESOURCE_VARIABLES.uploadBucket,
      why: `Object keys of uploads are '${UPLOAD_KEY_PREFIX}' plus a random upload id chosen per request`,
    });
  }

  /**
   * Invokes `fn` (asynchronously) for every object created under `uploads/`. One function scans uploads:
   * S3 refuses two notifications for overlapping keys, so a second call throws at synthesis.
   */
  public notifyOnUpload(fn: IFunction): void {
    if (this.notified) {
      throw new Error(
        `${this.node.path} already notifies ${this.notified.node.path} of uploads; S3 allows one notification per key prefix, so ${fn.node.path} cannot be added.`,
      );
    }
    this.notified = fn;
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(fn), { prefix: UPLOAD_KEY_PREFIX });
  }
}

/**
 * Browsers may PUT (presigned URL) or POST (presigned form) from the allowed origins; nothing else. The
 * presigned signature, not CORS, decides what is accepted, so request headers are limited only to those
 * an upload sends: its content type and any `x-amz-` header the signer asks for.
 */
function corsRule(origins: readonly string[]): CorsRule {
  return {
    id: 'browser-uploads',
    allowedOrigins: [...origins],
    allowedMethods: [HttpMethods.PUT, HttpMethods.POST],
    allowedHeaders: ['content-type', 'x-amz-*'],
    maxAge: 3600,
  };
}

/**
 * Rejects at synthesis an entry a browser would never send as its `Origin` (a path, a trailing slash, a
 * wildcard) and plain-http origins other than localhost. Unresolved tokens (a distribution's domain
 * name) are taken as they are.
 */
function checkOrigin(origin: string): void {
  if (Token.isUnresolved(origin)) return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const local = url !== undefined && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (!url || url.origin !== origin || !(url.protocol === 'https:' || (url.protocol === 'http:' && local))) {
    throw new Error(
      `UploadBucket allowedOrigins: '${origin}' is not an origin such as https://files.example.com (scheme and host, optional port, no path or trailing slash; http only for localhost).`,
    );
  }
}
