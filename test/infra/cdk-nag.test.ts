import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { HashLookupStack } from '../../lib/hash-lookup-stack.js';
import { synthHashLookupStack, testApp } from './synth.js';

/** Every acknowledgement in the tree: rule id, reason, and where it was made. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), reason, path: c.node.path })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  /** The app of the stack the other infrastructure tests read, checked as it is. */
  const app = synthHashLookupStack().stack.node.root;

  it('finds no unacknowledged error or warning in the stack', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives a specific written reason for every acknowledged finding', () => {
    const acks = acknowledgements(app).filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(60);
  });

  it('acknowledges only the findings the design accepts', () => {
    const ids = new Set(acknowledgements(app).map((a) => a.id.replace(/\[.*\]$/, '')));
    expect([...ids].sort()).toEqual([
      'AwsSolutions-APIG3',
      'AwsSolutions-APIG4',
      'AwsSolutions-CFR1',
      'AwsSolutions-CFR2',
      'AwsSolutions-CFR4',
      'AwsSolutions-COG4',
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SQS3',
    ]);
  });

  it('synthesizes with the AwsSolutions plugin and CloudFormation validation, as bin/app.ts does', () => {
    const app = testApp({ cloudFormationValidation: true });
    new HashLookupStack(app, 'HashLookup');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // An in-memory app throws with the report when a validation plugin fails.
    expect(() => app.synth()).not.toThrow();
  });
});
