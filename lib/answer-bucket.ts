import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Bucket, HttpMethods, type CorsRule } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESOURCE_VARIABLES } from '../lambdas/adapters/config.js';
import { ANSWER_KEY_PREFIX } from '../lambdas/adapters/s3-answer-store.js';
import type { Permissions } from '../lambdas/http/routes.js';
import { bindObjectPrefix, privateBucketWithLogs } from './private-bucket.js';

/** The access a function gets to the answers bucket, as the route table names it. */
export type AnswersAccess = NonNullable<Permissions['answers']>;

/**
 * The S3 actions behind each access, on `answers/*` objects only. `store`: write an answer, then presign
 * its GET; a presigned URL carries the permissions of whoever signed it, so the signer needs
 * `s3:GetObject` itself. No list, no delete: the lifecycle rule removes answers.
 */
export const ANSWERS_ACTIONS: Readonly<Record<AnswersAccess, readonly string[]>> = {
  store: ['s3:GetObject', 's3:PutObject'],
};

export interface AnswerBucketProps {
  /**
   * Origins of web pages that read large answers by following the API's redirect, such as the web form's.
   * Given any, the bucket's CORS rule lets them GET, and also the origin `null`: that is what a browser
   * sends when the redirect comes from another origin than the page's (the API's), as the Fetch
   * standard says. Scripts and the CLI need none: CORS binds browsers only.
   * @default - none: no CORS rule, so browser pages cannot read answers from the bucket
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * What happens to the buckets when they leave the stack. A retained answers bucket empties itself
   * through its lifecycle rule; the access logs are an audit trail worth keeping.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long server access logs of the answers bucket are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
}

/**
 * The bucket answers too large for a function's result (6 MB) wait in, each under `answers/` with a random
 * name, until the client follows the `303 See Other` to its presigned GET (valid 15 minutes). Answers
 * name the files and records a caller asked about: nobody reads them but through the link.
 *
 * Creates:
 * - the answers bucket: all public access blocked, TLS 1.2 or later only (bucket policy), S3-managed
 *   encryption, versioning off, a lifecycle rule expiring every object one day after it was written,
 *   server access logs into the log bucket, and a CORS rule letting `allowedOrigins` (and `null`) read an
 *   answer with GET when there are any;
 * - the access log bucket: the same public-access, TLS and encryption settings, logs expiring after
 *   `accessLogRetention`.
 *
 * Why CORS allows the origin `null`: a page following a redirect from the API on another origin to the
 * bucket sends `Origin: null` (the cross-origin hop "taints" the request's origin, as the Fetch standard
 * says; Chromium does so), so a rule naming only the web form's origin never matches and the page's fetch
 * fails. The rule lets a page read what the presigned URL already grants, nothing more: the signature,
 * not CORS, decides who may GET an object, and no other method is allowed. The web form's own origin
 * stays in the rule for a form served on the API's origin, whose redirects keep it.
 *
 * Functions get access only through {@link AnswerBucket.bindBucket}, which grants and sets the variable
 * naming the bucket (`ANSWER_BUCKET`) in one step.
 */
export class AnswerBucket extends Construct {
  /** The answers bucket. */
  public readonly bucket: Bucket;
  /** The bucket receiving the answers bucket's server access logs. */
  public readonly accessLogBucket: Bucket;

  constructor(scope: Construct, id: string, props: AnswerBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const origins = props.allowedOrigins ?? [];
    ({ bucket: this.bucket, accessLogBucket: this.accessLogBucket } = privateBucketWithLogs(this, {
      logsOf: 'the answers bucket',
      logPrefix: 'answer-bucket/',
      accessLogRetention: props.accessLogRetention,
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-answers',
          // A link works for 15 minutes; S3 rounds to the next midnight UTC, so an answer lives at most two days.
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      cors: origins.length > 0 ? [answerReadCorsRule(origins)] : undefined,
    }));
  }

  /**
   * Grants `fn` the given access (see {@link ANSWERS_ACTIONS}) on `answers/*` objects and sets
   * `ANSWER_BUCKET` (the name `readConfig` reads) on it.
   */
  public bindBucket(fn: LambdaFunction, access: AnswersAccess): void {
    bindObjectPrefix(fn, this.bucket, {
      prefix: ANSWER_KEY_PREFIX,
      actions: ANSWERS_ACTIONS[access],
      variable: RESOURCE_VARIABLES.answerBucket,
      why: `Object keys of large answers are '${ANSWER_KEY_PREFIX}' plus a random name chosen per answer`,
    });
  }
}

/**
 * The bucket's CORS rule: pages may GET an answer, from the allowed origins and from `null` (a redirected
 * request's origin). A redirected request keeps the headers of the first one (the API key): the preflight
 * allows any, since the presigned signature ignores them.
 */
export function answerReadCorsRule(origins: readonly string[]): CorsRule {
  return {
    id: 'read-answers',
    allowedOrigins: ['null', ...origins],
    allowedMethods: [HttpMethods.GET],
    allowedHeaders: ['*'],
    maxAge: 3600,
  };
}
