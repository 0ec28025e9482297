import { Template } from 'aws-cdk-lib/assertions';
import { TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { describe, expect, it } from 'vitest';
import type { FunctionId } from '../../lambdas/http/routes.js';
import { HashTable, type TableAccess } from '../../lib/hash-table.js';
import { actionsOf, inlineFunction, logicalId, resourcesOfType, statementsOfRole, synthHashLookupStack, testStack, type PolicyStatement } from './synth.js';

/** What each function may do beyond writing its own logs and traces, by the resource it may do it to. */
type Allowed = Partial<Record<'knownHashes' | 'scans' | 'uploads' | 'answers' | 'exports' | 'failedScans', readonly string[]>>;

const LOOKUP: readonly string[] = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'];
const IMPORT: readonly string[] = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'];
/** Answers too large for a function's result: written, then presigned for the client to GET. */
const ANSWERS: readonly string[] = ['s3:GetObject', 's3:PutObject'];

/**
 * Every function's whole grant, written out by hand from what its code calls, so a change to the route
 * table's permissions or to a binder shows up here as a diff to review, not as a silent widening.
 */
const EXPECTED: Readonly<Record<FunctionId, Allowed>> = {
  admin: { knownHashes: IMPORT },
  lookup: { knownHashes: LOOKUP, answers: ANSWERS },
  meta: {},
  // Both scans write back the containers they find bad through a member (derived records).
  'scan-inline': { knownHashes: IMPORT, answers: ANSWERS },
  'create-upload': { scans: ['dynamodb:PutItem'], uploads: ['s3:PutObject'] },
  'upload-status': { scans: ['dynamodb:GetItem'], answers: ANSWERS },
  'scan-object': {
    knownHashes: IMPORT,
    scans: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    uploads: ['s3:DeleteObject', 's3:GetObject'],
    failedScans: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
  },
  'gateway-compat': { knownHashes: LOOKUP },
  // Answers from the manifest and objects the export builder writes; it never reads the table.
  export: { exports: ['s3:GetObject'] },
  'api-key-authorizer': {},
};

describe('least privilege of every function of the stack', () => {
  const { stack, template } = synthHashLookupStack();
  const targets = {
    knownHashes: logicalId(stack.knownHashes.table),
    scans: logicalId(stack.scans.table),
    uploads: logicalId(stack.uploads.bucket),
    answers: logicalId(stack.answers.bucket),
    exports: logicalId(stack.exports.bucket),
    failedScans: logicalId(stack.failedScans.queue),
  };
  const logGroupOf = (id: FunctionId) => logicalId(stack.functions.get(id)!.functionLogGroup);
  const refersTo = (statement: PolicyStatement, resourceId: string) => JSON.stringify(statement.Resource).includes(`"${resourceId}"`);

  it('has an expectation for every function the route table builds', () => {
    expect([...stack.functions.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED) as [FunctionId, Allowed][])('grants %s exactly its own resources and actions', (id, allowed) => {
    const statements = statementsOfRole(template, logicalId(stack.functions.get(id)!.executionRole));
    const granted: Record<string, string[]> = {};
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      const actions = actionsOf([statement]);
      if (actions.every((a) => a.startsWith('xray:'))) continue;
      if (actions.every((a) => a.startsWith('logs:'))) {
        // Only its own log group, only to write.
        expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
        expect(refersTo(statement, logGroupOf(id))).toBe(true);
        continue;
      }
      const target = Object.entries(targets).find(([, resourceId]) => refersTo(statement, resourceId));
      expect(target, `${id} is granted ${actions.join(', ')} on ${JSON.stringify(statement.Resource)}`).toBeDefined();
      (granted[target![0]] ??= []).push(...actions);
    }
    const sorted = Object.fromEntries(Object.entries(granted).map(([k, v]) => [k, [...new Set(v)].sort()]));
    expect(sorted).toEqual(Object.fromEntries(Object.entries(allowed).map(([k, v]) => [k, [...v].sort()])));
  });

  it('lets no route function scan KnownHashes, and only the admin function and the scans write it', () => {
    const grantees = (action: string) =>
      [...stack.functions.keys()].filter((id) =>
        statementsOfRole(template, logicalId(stack.functions.get(id)!.executionRole)).some(
          (s) => refersTo(s, targets.knownHashes) && actionsOf([s]).includes(action),
        ),
      );
    // Only the export builder scans, outside the route table (test/infra/export-builder.test.ts).
    expect(grantees('dynamodb:Scan')).toEqual([]);
    expect(grantees('dynamodb:BatchWriteItem').sort()).toEqual(['admin', 'scan-inline', 'scan-object']);
    expect(grantees('dynamodb:PutItem').sort()).toEqual(['admin', 'scan-inline', 'scan-object']);
  });

  it('attaches no managed policy to any function role', () => {
    const roles = new Set([...stack.functions.values()].map((fn) => logicalId(fn.executionRole)));
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role').filter(([roleId]) => roles.has(roleId))) {
      expect(role.Properties['ManagedPolicyArns'], id).toBeUndefined();
    }
  });
});

describe('HashTable.bindTable', () => {
  function bound(access: TableAccess, encryption?: TableEncryption) {
    const stack = testStack();
    const table = new HashTable(stack, 'KnownHashes', { encryption });
    const fn = inlineFunction(stack, 'Fn');
    table.bindTable(fn, access);
    const statements = statementsOfRole(Template.fromStack(stack), logicalId(fn.role!));
    return {
      dynamo: actionsOf(statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))).sort(),
      kms: actionsOf(statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')))).sort(),
    };
  }

  it.each<[TableAccess, string[]]>([
    ['read', ['dynamodb:BatchGetItem', 'dynamodb:GetItem']],
    ['list', ['dynamodb:Scan']],
    ['readWrite', ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']],
  ])('grants exactly what %s access calls, and no query, update or delete', (access, actions) => {
    expect(bound(access).dynamo).toEqual(actions);
  });

  it('grants no key use with the AWS-managed key', () => {
    expect(bound('readWrite').kms).toEqual([]);
  });

  it('grants decrypt to readers and encrypt and decrypt to writers of a table with its own key', () => {
    expect(bound('read', TableEncryption.CUSTOMER_MANAGED).kms).toEqual(['kms:Decrypt']);
    expect(bound('list', TableEncryption.CUSTOMER_MANAGED).kms).toEqual(['kms:Decrypt']);
    expect(bound('readWrite', TableEncryption.CUSTOMER_MANAGED).kms).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']),
    );
  });
});
