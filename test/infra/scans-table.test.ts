import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { describe, expect, it } from 'vitest';
import { SCANS_KEY, SCANS_TTL_ATTRIBUTE } from '../../lambdas/adapters/table-schemas.js';
import { ScansTable, type ScansAccess, type ScansTableProps } from '../../lib/scans-table.js';
import { actionsOf, inlineFunction, logicalId, statementsOfRole, testStack } from './synth.js';

function tableStack(props?: ScansTableProps) {
  const stack = testStack();
  const scans = new ScansTable(stack, 'Scans', props);
  return { stack, scans };
}

function boundFunction(access: ScansAccess, props?: ScansTableProps) {
  const { stack, scans } = tableStack(props);
  const fn = inlineFunction(stack, 'Fn');
  scans.bindTable(fn, access);
  const template = Template.fromStack(stack);
  const statements = statementsOfRole(template, logicalId(fn.role!));
  return { template, scans, statements, actions: actionsOf(statements) };
}

describe('ScansTable', () => {
  it('keys rows on the upload id the scan store reads', () => {
    Template.fromStack(tableStack().stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: SCANS_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: SCANS_KEY, AttributeType: 'S' }],
    });
  });

  it('lets DynamoDB expire rows by the attribute the scan store writes', () => {
    Template.fromStack(tableStack().stack).hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: SCANS_TTL_ATTRIBUTE, Enabled: true },
    });
  });

  it('bills on demand with point-in-time recovery', () => {
    Template.fromStack(tableStack().stack).hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('turns point-in-time recovery off only when told to', () => {
    Template.fromStack(tableStack({ pointInTimeRecovery: false }).stack).hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
  });

  it('encrypts with the AWS-managed key by default', () => {
    const template = Template.fromStack(tableStack().stack);
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('encrypts with a key of its own when asked for customer-managed encryption', () => {
    const template = Template.fromStack(tableStack({ encryption: TableEncryption.CUSTOMER_MANAGED }).stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
    });
  });

  it('deletes the table with the stack by default', () => {
    Template.fromStack(tableStack().stack).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('retains the table when the removal policy says so', () => {
    Template.fromStack(tableStack({ removalPolicy: RemovalPolicy.RETAIN }).stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
    });
  });

  describe('bindTable', () => {
    it('names the table in SCANS_TABLE of the bound function', () => {
      const { template, scans } = boundFunction('read');
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { SCANS_TABLE: { Ref: logicalId(scans.table) } } },
      });
    });

    it.each([
      ['read', ['dynamodb:GetItem']],
      ['write', ['dynamodb:PutItem']],
      ['readWrite', ['dynamodb:GetItem', 'dynamodb:PutItem']],
    ] as const)('grants %s access as exactly %j', (access, expected) => {
      const { actions } = boundFunction(access);
      expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([...expected]);
    });

    it('scopes the grant to the table itself', () => {
      const { statements, scans } = boundFunction('readWrite');
      const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
      expect(dynamo.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(scans.table), 'Arn'] }]);
    });

    it('grants no key use when the table is encrypted with the AWS-managed key', () => {
      expect(boundFunction('readWrite').actions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    });

    it('lets readers decrypt, and writers also encrypt, with a customer-managed key', () => {
      const cmk = { encryption: TableEncryption.CUSTOMER_MANAGED };
      const read = boundFunction('read', cmk).actions.filter((a) => a.startsWith('kms:'));
      const write = boundFunction('write', cmk).actions.filter((a) => a.startsWith('kms:'));
      expect(read).toEqual(['kms:Decrypt']);
      expect(write).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*']));
    });
  });
});
