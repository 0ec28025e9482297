import { randomUUID } from 'node:crypto';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { uploadIdOfKey } from '../../lambdas/core/uploads.js';
import { UPLOAD_KEY_PREFIX, UploadBucket, type UploadBucketProps, type UploadsAccess } from '../../lib/upload-bucket.js';
import { actionsOf, inlineFunction, logicalId, resourcesOfType, statementsOfRole, testStack, type TemplateResource } from './synth.js';

function bucketStack(props?: UploadBucketProps) {
  const stack = testStack();
  const uploads = new UploadBucket(stack, 'Uploads', props);
  return { stack, uploads, template: Template.fromStack(stack) };
}

/** The bucket's own resource and the statements of its bucket policy. */
function bucketAndPolicy(template: Template, bucketId: string) {
  const bucket = template.toJSON()['Resources'][bucketId] as TemplateResource;
  const [, policy] = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties['Bucket']) === JSON.stringify({ Ref: bucketId }))!;
  const statements = (policy.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement;
  return { bucket, statements };
}

function boundFunction(access: UploadsAccess) {
  const stack = testStack();
  const uploads = new UploadBucket(stack, 'Uploads');
  const fn = inlineFunction(stack, 'Fn');
  uploads.bindBucket(fn, access);
  const template = Template.fromStack(stack);
  const s3 = statementsOfRole(template, logicalId(fn.role!)).filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')));
  return { template, uploads, s3 };
}

const objectsUnderPrefix = (uploads: UploadBucket) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(uploads.bucket), 'Arn'] }, `/${UPLOAD_KEY_PREFIX}*`]],
});

describe('UploadBucket', () => {
  const { template, uploads } = bucketStack();
  const { bucket, statements } = bucketAndPolicy(template, logicalId(uploads.bucket));

  it('limits grants and notifications to the prefix every upload key has', () => {
    expect(uploadIdOfKey(`${UPLOAD_KEY_PREFIX}${randomUUID()}`)).toBeDefined();
  });

  it('blocks all public access', () => {
    expect(bucket.Properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('denies every request not made over TLS', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('denies TLS versions before 1.2', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
    );
  });

  it('allows nobody through the bucket policy, which only denies', () => {
    expect(statements.every((s) => s['Effect'] === 'Deny')).toBe(true);
  });

  it('encrypts objects with S3-managed keys', () => {
    expect(bucket.Properties['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('keeps no versions, so deleting an object removes the file', () => {
    expect(bucket.Properties['VersioningConfiguration']).toBeUndefined();
  });

  it('expires every object and aborts every incomplete multipart upload after one day', () => {
    expect(bucket.Properties['LifecycleConfiguration']).toEqual({
      Rules: [
        {
          Id: 'expire-leftover-uploads',
          Status: 'Enabled',
          ExpirationInDays: 1,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  it('writes server access logs to the separate log bucket', () => {
    expect(bucket.Properties['LoggingConfiguration']).toEqual({
      DestinationBucketName: { Ref: logicalId(uploads.accessLogBucket) },
      LogFilePrefix: 'upload-bucket/',
    });
  });

  it('retains both buckets by default', () => {
    expect(resourcesOfType(template, 'AWS::S3::Bucket').map(([, b]) => b.DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });

  it('deletes the buckets with the stack when the removal policy says so', () => {
    const destroyed = bucketStack({ removalPolicy: RemovalPolicy.DESTROY }).template;
    expect(resourcesOfType(destroyed, 'AWS::S3::Bucket').map(([, b]) => b.DeletionPolicy)).toEqual(['Delete', 'Delete']);
  });

  describe('access log bucket', () => {
    const logs = bucketAndPolicy(template, logicalId(uploads.accessLogBucket));

    it('blocks public access, denies requests without TLS and encrypts with S3-managed keys', () => {
      expect(logs.bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      });
      expect(logs.statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    });

    it('lets only the S3 logging service of this account write, for the upload bucket', () => {
      const allows = logs.statements.filter((s) => s['Effect'] === 'Allow');
      expect(allows).toEqual([
        expect.objectContaining({
          Action: 's3:PutObject',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Condition: expect.objectContaining({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(uploads.bucket), 'Arn'] } } }),
        }),
      ]);
    });

    it('expires logs after 90 days by default', () => {
      expect(logs.bucket.Properties['LifecycleConfiguration']).toEqual({
        Rules: [{ Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: 90 }],
      });
    });

    it('keeps logs as long as accessLogRetention says', () => {
      const { template: kept, uploads: u } = bucketStack({ accessLogRetention: Duration.days(400) });
      expect(bucketAndPolicy(kept, logicalId(u.accessLogBucket)).bucket.Properties['LifecycleConfiguration']).toMatchObject({
        Rules: [{ ExpirationInDays: 400 }],
      });
    });
  });

  describe('CORS', () => {
    it('has no CORS rule by default, so no browser page can upload', () => {
      expect(bucket.Properties['CorsConfiguration']).toBeUndefined();
    });

    it('lets the allowed origins PUT and POST, and nothing else', () => {
      const origins = ['https://files.example.com', 'http://localhost:8080'];
      const { template: withCors, uploads: u } = bucketStack({ allowedOrigins: origins });
      expect(bucketAndPolicy(withCors, logicalId(u.bucket)).bucket.Properties['CorsConfiguration']).toEqual({
        CorsRules: [
          {
            Id: 'browser-uploads',
            AllowedOrigins: origins,
            AllowedMethods: ['PUT', 'POST'],
            AllowedHeaders: ['content-type', 'x-amz-*'],
            MaxAge: 3600,
          },
        ],
      });
    });

    it('takes an origin that is a token as it is', () => {
      const origin = `https://${Token.asString({ Ref: 'WebFormDomain' })}`;
      const { template: withToken, uploads: u } = bucketStack({ allowedOrigins: [origin] });
      expect(bucketAndPolicy(withToken, logicalId(u.bucket)).bucket.Properties['CorsConfiguration']).toMatchObject({
        CorsRules: [{ AllowedOrigins: [{ 'Fn::Join': ['', ['https://', { Ref: 'WebFormDomain' }]] }] }],
      });
    });

    it.each(['*', 'https://files.example.com/', 'https://files.example.com/upload', 'http://files.example.com', 'files.example.com'])(
      'rejects %s, which is not an origin a browser sends over HTTPS',
      (origin) => {
        expect(() => bucketStack({ allowedOrigins: [origin] })).toThrow(`UploadBucket allowedOrigins: '${origin}' is not an origin`);
      },
    );
  });

  describe('bindBucket', () => {
    it('lets a presigning function put objects under uploads/ and nothing else', () => {
      const { s3, uploads: u } = boundFunction('put');
      expect(s3).toEqual([{ Effect: 'Allow', Action: 's3:PutObject', Resource: objectsUnderPrefix(u) }]);
    });

    it('lets a scanning function read and delete objects under uploads/ and nothing else', () => {
      const { s3, uploads: u } = boundFunction('readDelete');
      expect(s3).toEqual([{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObject'], Resource: objectsUnderPrefix(u) }]);
    });

    it('names the bucket in UPLOAD_BUCKET of the bound function', () => {
      const { template: bound, uploads: u } = boundFunction('put');
      bound.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { UPLOAD_BUCKET: { Ref: logicalId(u.bucket) } } },
      });
    });
  });

  describe('notifyOnUpload', () => {
    function notifiedStack() {
      const stack = testStack();
      const u = new UploadBucket(stack, 'Uploads');
      const fn = inlineFunction(stack, 'Scan');
      u.notifyOnUpload(fn);
      return { stack, uploads: u, fn };
    }
    const notified = notifiedStack();
    const notifiedTemplate = Template.fromStack(notified.stack);

    it('invokes the function for every object created under uploads/', () => {
      notifiedTemplate.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: { Ref: logicalId(notified.uploads.bucket) },
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: UPLOAD_KEY_PREFIX }] } },
              LambdaFunctionArn: { 'Fn::GetAtt': [logicalId(notified.fn), 'Arn'] },
            },
          ],
        },
      });
    });

    it('lets S3 invoke the function for this bucket only', () => {
      notifiedTemplate.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [logicalId(notified.fn), 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [logicalId(notified.uploads.bucket), 'Arn'] },
        SourceAccount: Match.anyValue(),
      });
    });

    it('writes the notification with a role that may change only this bucket', () => {
      const actions = actionsOf(statementsOfRole(notifiedTemplate, logicalId(notified.uploads.notificationsHandlerRole)));
      expect(actions).toEqual(['s3:PutBucketNotification']);
    });

    it('refuses a second function, which S3 would reject for the same prefix', () => {
      const { stack, uploads: u } = notifiedStack();
      expect(() => u.notifyOnUpload(inlineFunction(stack, 'Other'))).toThrow(/already notifies .*Scan of uploads/);
    });
  });
});
