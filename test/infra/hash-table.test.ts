import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { describe, expect, it } from 'vitest';
import { KNOWN_HASHES_KEY } from '../../lambdas/adapters/table-schemas.js';
import { HashTable } from '../../lib/hash-table.js';
import { actionsOf, inlineFunction, logicalId, statementsOfRole, testStack } from './synth.js';

function tableStack(props?: ConstructorParameters<typeof HashTable>[2]) {
  const stack = testStack();
  const table = new HashTable(stack, 'KnownHashes', props);
  return { stack, table };
}

function boundFunction(access: 'read' | 'readWrite') {
  const { stack, table } = tableStack();
  const fn = inlineFunction(stack, 'Fn');
  table.bindTable(fn, access);
  const template = Template.fromStack(stack);
  return { template, fn, table, actions: actionsOf(statementsOfRole(template, logicalId(fn.role!))) };
}

describe('HashTable', () => {
  it('keys items on the string attribute the hash store reads', () => {
    const { stack } = tableStack();
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: KNOWN_HASHES_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: KNOWN_HASHES_KEY, AttributeType: 'S' }],
    });
  });

  it('bills the KnownHashes table on demand with point-in-time recovery', () => {
    const { stack } = tableStack();
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('turns point-in-time recovery off only when told to', () => {
    const { stack } = tableStack({ pointInTimeRecovery: false });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
  });

  it('encrypts with the AWS-managed key by default', () => {
    const { stack } = tableStack();
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
  });

  it('encrypts with a key of its own when asked for customer-managed encryption', () => {
    const { stack } = tableStack({ encryption: TableEncryption.CUSTOMER_MANAGED });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
    });
  });

  it('retains the table when it leaves the stack by default', () => {
    const { stack } = tableStack();
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('deletes the table with the stack when the removal policy says so', () => {
    const { stack } = tableStack({ removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  describe('bindTable', () => {
    it('names the table in KNOWN_HASHES_TABLE of the bound function', () => {
      const { template, table } = boundFunction('read');
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { KNOWN_HASHES_TABLE: { Ref: logicalId(table.table) } } },
      });
    });

    it('grants read access without any write action', () => {
      const { actions } = boundFunction('read');
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem']));
      expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:PutItem']));
      expect(actions.filter((a) => /Put|Write|Delete|Update/.test(a))).toEqual([]);
    });

    it('grants batch writes with readWrite access', () => {
      const { actions } = boundFunction('readWrite');
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem']));
    });

    it('scopes the grant to the table itself', () => {
      const { template, fn, table } = boundFunction('read');
      const dynamo = statementsOfRole(template, logicalId(fn.role!)).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
      expect(dynamo.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(table.table), 'Arn'] }]);
    });
  });
});
