import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../lambdas/http/routes.js';
import { HashcheckFunction, type HashcheckFunctionProps } from '../../lib/hashcheck-function.js';
import { actionsOf, logicalId, onlyResource, statementsOfRole, testStack } from './synth.js';

const spec = functionSpec('lookup');

function functionStack(props: Partial<HashcheckFunctionProps> = {}) {
  const stack = testStack();
  const fn = new HashcheckFunction(stack, 'Lookup', { spec, ...props });
  return { stack, fn, template: Template.fromStack(stack) };
}

describe('HashcheckFunction', () => {
  it('runs on nodejs22.x on arm64 with X-Ray tracing and JSON logs', () => {
    functionStack().template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON' },
      Handler: 'index.handler',
    });
  });

  it('takes memory, timeout and description from the function spec', () => {
    functionStack().template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: spec.memorySize,
      Timeout: spec.timeoutSeconds,
      Description: spec.description,
    });
  });

  it('reserves no concurrency by default', () => {
    const fn = onlyResource(functionStack().template, 'AWS::Lambda::Function');
    expect(fn.Properties['ReservedConcurrentExecutions']).toBeUndefined();
  });

  it('reserves the concurrency it is given', () => {
    functionStack({ reservedConcurrentExecutions: 5 }).template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 5,
    });
  });

  it('ships the source map but leaves Node to start without parsing it (--enable-source-maps is not set)', () => {
    const functions = functionStack().template.findResources('AWS::Lambda::Function');
    const options = Object.values(functions).map((f) => (f as any).Properties.Environment?.Variables?.NODE_OPTIONS);
    expect(options.length).toBeGreaterThan(0);
    for (const value of options) expect(value ?? '').not.toContain('--enable-source-maps');
  });

  it('adds the environment it is given', () => {
    functionStack({ environment: { HASHCHECK_LOOKUP_DEADLINE_MS: '2000' } }).template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ HASHCHECK_LOOKUP_DEADLINE_MS: '2000' }) },
    });
  });

  it('logs into its own log group kept one month by default', () => {
    const { template, fn } = functionStack();
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logicalId(fn.functionLogGroup) } } });
  });

  it('keeps logs as long as logRetention says', () => {
    functionStack({ logRetention: RetentionDays.ONE_WEEK }).template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('runs under a role without AWS-managed policies', () => {
    const role = onlyResource(functionStack().template, 'AWS::IAM::Role');
    expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
  });

  it('may write logs to its own log group only', () => {
    const { template, fn } = functionStack();
    const logs = statementsOfRole(template, logicalId(fn.executionRole)).filter((s) => actionsOf([s]).some((a) => a.startsWith('logs:')));
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(fn.functionLogGroup), 'Arn'] },
      },
    ]);
  });

  it('bundles an ES module with the createRequire banner, a source map and the files it is given', () => {
    const work = mkdtempSync(join(tmpdir(), 'hashcheck-infra-'));
    try {
      const extra = join(work, 'list.jsonl');
      writeFileSync(extra, '{"seed":true}\n');
      const app = new App({ outdir: join(work, 'cdk.out'), builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'Bundled');
      const fn = new HashcheckFunction(stack, 'Meta', { spec: functionSpec('meta'), bundledFiles: { 'seed.jsonl': extra } });
      const assembly = app.synth();
      const code = Template.fromStack(stack).toJSON()['Resources'][logicalId(fn)]['Properties']['Code'] as { S3Key: string };
      const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);

      expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map', 'seed.jsonl']);
      expect(readFileSync(join(assetDir, 'index.mjs'), 'utf8')).toMatch(
        /^import \{ createRequire \} from 'module'; const require = createRequire\(import\.meta\.url\);/,
      );
      expect(readFileSync(join(assetDir, 'seed.jsonl'), 'utf8')).toBe('{"seed":true}\n');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
