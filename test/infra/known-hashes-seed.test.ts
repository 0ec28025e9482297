import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { HashTable } from '../../lib/hash-table.js';
import { KnownHashesSeed, SEED_FUNCTION } from '../../lib/known-hashes-seed.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { actionsOf, logicalId, resourcesOfType, statementsOfRole, testStack } from './synth.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

function seedStack(seedFile?: string) {
  const stack = testStack();
  const table = new HashTable(stack, 'KnownHashes');
  const seed = new KnownHashesSeed(stack, 'Seed', { table, seedFile });
  return { stack, table, seed, template: Template.fromStack(stack) };
}

describe('KnownHashesSeed', () => {
  const work = mkdtempSync(join(tmpdir(), 'hashcheck-seed-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const { template, table, seed } = seedStack();

  it('creates the seed custom resource with the hash of data/known-bad.jsonl', () => {
    template.hasResourceProperties('Custom::KnownHashesSeed', {
      SeedSha256: sha256(readFileSync(join(PROJECT_ROOT, 'data', 'known-bad.jsonl'))),
    });
  });

  it('changes the seed hash with the content of the seed file, so a changed list is imported again', () => {
    const file = join(work, 'list.jsonl');
    writeFileSync(file, '{"changed":true}\n');
    seedStack(file).template.hasResourceProperties('Custom::KnownHashesSeed', { SeedSha256: sha256('{"changed":true}\n') });
  });

  it('backs the custom resource with the provider framework, which invokes the loader', () => {
    template.hasResourceProperties('Custom::KnownHashesSeed', {
      ServiceToken: { 'Fn::GetAtt': [logicalId(seed.provider.node.findChild('framework-onEvent')), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'framework.onEvent',
      Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [logicalId(seed.loader), 'Arn'] } } },
    });
  });

  it('runs the seed handler with room for the import', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: SEED_FUNCTION.description,
      Timeout: SEED_FUNCTION.timeoutSeconds,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
  });

  it('lets the loader write KnownHashes and names the table for it', () => {
    const actions = actionsOf(statementsOfRole(template, logicalId(seed.loader.executionRole)));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: SEED_FUNCTION.description,
      Environment: { Variables: { KNOWN_HASHES_TABLE: { Ref: logicalId(table.table) } } },
    });
  });

  it('gives the provider a role that may only log and call the loader', () => {
    const [providerRole] = resourcesOfType(template, 'AWS::IAM::Role').filter(([id]) => id.startsWith('SeedProviderRole'));
    expect(providerRole![1].Properties['ManagedPolicyArns']).toBeUndefined();
    const actions = actionsOf(statementsOfRole(template, providerRole![0]));
    expect(new Set(actions)).toEqual(new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'lambda:InvokeFunction', 'lambda:GetFunction']));
  });

  it('keeps provider logs in a log group with a retention', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'framework.onEvent',
      LoggingConfig: { LogGroup: { Ref: logicalId(seed.node.findChild('ProviderLogs')) } },
    });
    expect(resourcesOfType(template, 'AWS::Logs::LogGroup').every(([, g]) => g.Properties['RetentionInDays'] === 30)).toBe(true);
  });
});
