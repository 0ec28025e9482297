import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ANSWER_KEY_PREFIX } from '../../lambdas/adapters/s3-answer-store.js';
import { FUNCTIONS } from '../../lambdas/http/routes.js';
import { AnswerBucket, type AnswerBucketProps } from '../../lib/answer-bucket.js';
import { actionsOf, inlineFunction, logicalId, resourcesOfType, statementsOfRole, synthHashLookupStack, testStack, type TemplateResource } from './synth.js';

function bucketStack(props?: AnswerBucketProps) {
  const stack = testStack();
  const answers = new AnswerBucket(stack, 'Answers', props);
  return { stack, answers, template: Template.fromStack(stack) };
}

/** The bucket's own resource and the statements of its bucket policy. */
function bucketAndPolicy(template: Template, bucketId: string) {
  const bucket = template.toJSON()['Resources'][bucketId] as TemplateResource;
  const [, policy] = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties['Bucket']) === JSON.stringify({ Ref: bucketId }))!;
  const statements = (policy.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement;
  return { bucket, statements };
}

describe('AnswerBucket', () => {
  const { template, answers } = bucketStack();
  const { bucket, statements } = bucketAndPolicy(template, logicalId(answers.bucket));

  it('blocks all public access', () => {
    expect(bucket.Properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('denies every request not made over TLS 1.2 or later, and allows nobody through its policy', () => {
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }));
    expect(statements.every((s) => s['Effect'] === 'Deny')).toBe(true);
  });

  it('encrypts answers with S3-managed keys and keeps no versions', () => {
    expect(bucket.Properties['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties['VersioningConfiguration']).toBeUndefined();
  });

  it('expires every answer one day after it was written', () => {
    expect(bucket.Properties['LifecycleConfiguration']).toEqual({
      Rules: [{ Id: 'expire-answers', Status: 'Enabled', ExpirationInDays: 1, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
    });
  });

  it('writes server access logs to its own log bucket, kept 90 days by default or as long as asked', () => {
    expect(bucket.Properties['LoggingConfiguration']).toEqual({
      DestinationBucketName: { Ref: logicalId(answers.accessLogBucket) },
      LogFilePrefix: 'answer-bucket/',
    });
    const logs = bucketAndPolicy(template, logicalId(answers.accessLogBucket)).bucket;
    expect(logs.Properties['LifecycleConfiguration']).toEqual({ Rules: [{ Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: 90 }] });
    const kept = bucketStack({ accessLogRetention: Duration.days(400) });
    expect(bucketAndPolicy(kept.template, logicalId(kept.answers.accessLogBucket)).bucket.Properties['LifecycleConfiguration']).toMatchObject({
      Rules: [{ ExpirationInDays: 400 }],
    });
  });

  it('retains both buckets by default, and deletes them when the removal policy says so', () => {
    expect(resourcesOfType(template, 'AWS::S3::Bucket').map(([, b]) => b.DeletionPolicy)).toEqual(['Retain', 'Retain']);
    const destroyed = bucketStack({ removalPolicy: RemovalPolicy.DESTROY }).template;
    expect(resourcesOfType(destroyed, 'AWS::S3::Bucket').map(([, b]) => b.DeletionPolicy)).toEqual(['Delete', 'Delete']);
  });

  it('has no CORS rule by default, so no browser page can read answers', () => {
    expect(bucket.Properties['CorsConfiguration']).toBeUndefined();
  });

  it('lets the allowed origins, and null, which a browser sends after the API redirect, GET answers and nothing else', () => {
    const { template: withCors, answers: a } = bucketStack({ allowedOrigins: ['https://form.example.com'] });
    expect(bucketAndPolicy(withCors, logicalId(a.bucket)).bucket.Properties['CorsConfiguration']).toEqual({
      CorsRules: [{ Id: 'read-answers', AllowedOrigins: ['null', 'https://form.example.com'], AllowedMethods: ['GET'], AllowedHeaders: ['*'], MaxAge: 3600 }],
    });
  });

  it('passes the cdk-nag AwsSolutions checks with nothing acknowledged but the log bucket own logs', () => {
    const { stack } = bucketStack();
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  describe('bindBucket', () => {
    it('lets a function put and read objects under answers/ and nothing else, and names the bucket in ANSWER_BUCKET', () => {
      const stack = testStack();
      const bound = new AnswerBucket(stack, 'Answers');
      const fn = inlineFunction(stack, 'Fn');
      bound.bindBucket(fn, 'store');
      const built = Template.fromStack(stack);
      const s3 = statementsOfRole(built, logicalId(fn.role!)).filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(bound.bucket), 'Arn'] }, `/${ANSWER_KEY_PREFIX}*`]] },
        },
      ]);
      built.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { ANSWER_BUCKET: { Ref: logicalId(bound.bucket) } } } });
    });
  });
});

describe('the answers bucket in the stack', () => {
  const { stack, template } = synthHashLookupStack();

  it('lets the web form read answers, and names no browser origin with the web form left out', () => {
    const rules = (template.toJSON()['Resources'][logicalId(stack.answers.bucket)] as TemplateResource).Properties['CorsConfiguration'] as {
      CorsRules: { AllowedOrigins: unknown[] }[];
    };
    expect(rules.CorsRules[0]!.AllowedOrigins).toEqual(['null', stack.webForm!.origin].map((o) => stack.resolve(o)));
    const without = synthHashLookupStack({ webForm: false });
    const bucket = without.template.toJSON()['Resources'][logicalId(without.stack.answers.bucket)] as TemplateResource;
    expect(bucket.Properties['CorsConfiguration']).toBeUndefined();
  });

  it('is granted to exactly the functions whose answers can outgrow a function result: lookups, inline scans and upload verdicts', () => {
    const granted = FUNCTIONS.filter((spec) => spec.permissions.answers !== undefined).map((spec) => spec.id);
    expect(granted.sort()).toEqual(['lookup', 'scan-inline', 'upload-status']);
    for (const [id, fn] of stack.functions) {
      const resource = template.toJSON()['Resources'][logicalId(fn)] as TemplateResource;
      const variables = (resource.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect(variables['ANSWER_BUCKET'], id).toEqual(granted.includes(id) ? { Ref: logicalId(stack.answers.bucket) } : undefined);
    }
  });
});
