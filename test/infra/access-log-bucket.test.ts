import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AccessLogBucket, type AccessLogBucketProps } from '../../lib/access-log-bucket.js';
import { logicalId, testStack, type TemplateResource } from './synth.js';

function logStack(props: Partial<AccessLogBucketProps> = {}) {
  const stack = testStack();
  const bucket = new AccessLogBucket(stack, 'Logs', { logsOf: 'the test bucket', ...props });
  const template = Template.fromStack(stack);
  const resource = template.toJSON()['Resources'][logicalId(bucket)] as TemplateResource & { DeletionPolicy?: string };
  return { stack, bucket, template, resource };
}

describe('AccessLogBucket', () => {
  const { stack, bucket, template, resource } = logStack();

  it('is the bucket itself, so its logical id follows the id it is given', () => {
    expect(logicalId(bucket)).toMatch(/^Logs[0-9A-F]{8}$/);
    template.resourceCountIs('AWS::S3::Bucket', 1);
  });

  it('blocks all public access and encrypts with S3-managed keys, the only ones S3 access logging delivers to', () => {
    expect(resource.Properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(resource.Properties['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('keeps log files 90 days by default, and as long as retention says when set', () => {
    expect(resource.Properties['LifecycleConfiguration']).toEqual({
      Rules: [{ Id: 'expire-access-logs', ExpirationInDays: 90, Status: 'Enabled' }],
    });
    expect(logStack({ retention: Duration.days(7) }).resource.Properties['LifecycleConfiguration']).toEqual({
      Rules: [{ Id: 'expire-access-logs', ExpirationInDays: 7, Status: 'Enabled' }],
    });
  });

  it('is retained by default when it leaves the stack, and removed when removalPolicy says so', () => {
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(logStack({ removalPolicy: RemovalPolicy.DESTROY }).resource.DeletionPolicy).toBe('Delete');
  });

  it('lets CloudFront logging write through its ACL grant only when cloudFrontLogs is set', () => {
    expect(resource.Properties['OwnershipControls']).toBeUndefined();
    expect(logStack({ cloudFrontLogs: true }).resource.Properties['OwnershipControls']).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }],
    });
  });

  it('passes the AwsSolutions checks, its own access logging acknowledged with a reason naming whose logs it holds', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    const acknowledged = bucket.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged).toEqual([[expect.stringMatching(/AwsSolutions-S1$/), expect.stringContaining('access log bucket of the test bucket')]]);
  });
});
