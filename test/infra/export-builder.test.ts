import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EXPORT_BUCKET_VARIABLE } from '../../lambdas/adapters/export-objects.js';
import { ExportBucket } from '../../lib/export-bucket.js';
import { ExportBuilder } from '../../lib/export-builder.js';
import { HashTable } from '../../lib/hash-table.js';
import { HashcheckFunction } from '../../lib/hashcheck-function.js';
import { logicalId, testStack } from './synth.js';

/** The table, the exports bucket, the builder and a stand-in export route function given `read`. */
function exportsStack(props: { batchingWindow?: Duration } = {}) {
  const stack = testStack();
  const table = new HashTable(stack, 'KnownHashes');
  const exports = new ExportBucket(stack, 'Exports');
  const builder = new ExportBuilder(stack, 'ExportBuilder', { table, exports, ...props });
  const route = new HashcheckFunction(stack, 'ExportFunction', {
    spec: { entry: 'lambdas/functions/export.ts', description: 'export route', memorySize: 512, timeoutSeconds: 10 },
  });
  exports.bindBucket(route, 'read');
  return { stack, table, exports, builder, route, template: Template.fromStack(stack) };
}

/** The statements of a role's policies: their actions and resources, as CloudFormation has them. */
function allowedActions(template: Template, roleLogicalId: string): { actions: string[]; resources: unknown[] }[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleLogicalId),
  );
  return policies.flatMap((p) =>
    (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map((s) => ({
      actions: [s.Action].flat(),
      resources: [s.Resource].flat(),
    })),
  );
}

describe('ExportBuilder', () => {
  it('triggers the builder from the table’s stream of keys, in batches gathered for 60 s by default', () => {
    const { template, table } = exportsStack();
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'KEYS_ONLY' } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(table.table), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 60,
      MaximumRetryAttempts: 2,
      ParallelizationFactor: 1,
    });
  });

  it('takes another batching window', () => {
    exportsStack({ batchingWindow: Duration.seconds(10) }).template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumBatchingWindowInSeconds: 10,
    });
  });

  it('runs one rebuild at a time, for up to 15 minutes, with 4 GB of /tmp', () => {
    const { template, builder } = exportsStack();
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      ReservedConcurrentExecutions: 1,
      Timeout: 900,
      EphemeralStorage: { Size: 4096 },
      Environment: { Variables: Match.objectLike({ [EXPORT_BUCKET_VARIABLE]: Match.anyValue(), KNOWN_HASHES_TABLE: Match.anyValue() }) },
    });
    expect(builder.function.executionRole).toBeDefined();
  });

  it('lets the builder scan the table, read its stream and write the exports prefix, and the export route only read that prefix', () => {
    const { template, builder, route, exports } = exportsStack();
    const bucket = logicalId(exports.bucket);
    const builderGrants = allowedActions(template, logicalId(builder.function.executionRole));
    const routeGrants = allowedActions(template, logicalId(route.executionRole));
    const on = (grants: typeof builderGrants, action: string) => grants.filter((g) => g.actions.includes(action)).flatMap((g) => g.resources);

    expect(builderGrants.flatMap((g) => g.actions).filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'dynamodb:Scan'].sort(),
    );
    expect(builderGrants.flatMap((g) => g.actions).filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(on(builderGrants, 's3:PutObject'))).toContain(`${bucket}`);
    expect(JSON.stringify(on(builderGrants, 's3:PutObject'))).toContain('/exports/*');
    expect(routeGrants.flatMap((g) => g.actions).filter((a) => a.startsWith('s3:') || a.startsWith('dynamodb:'))).toEqual(['s3:GetObject']);
    expect(JSON.stringify(on(routeGrants, 's3:GetObject'))).toContain('/exports/*');
  });
});

describe('ExportBucket', () => {
  it('keeps the exports private: public access blocked, TLS only, encrypted, unversioned, access logged', () => {
    const { template, exports } = exportsStack();
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(exports.accessLogBucket) }, LogFilePrefix: 'exports-bucket/' },
      VersioningConfiguration: Match.absent(),
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('passes the cdk-nag AwsSolutions checks with every finding acknowledged for a reason', () => {
    const { stack } = exportsStack();
    const app = stack.node.root;
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
