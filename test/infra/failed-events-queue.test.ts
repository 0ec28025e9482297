import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FailedEventsQueue, type FailedEventsQueueProps } from '../../lib/failed-events-queue.js';
import { actionsOf, inlineFunction, logicalId, onlyResource, statementsOfRole, testStack } from './synth.js';

function queueStack(props?: FailedEventsQueueProps) {
  const stack = testStack();
  const failures = new FailedEventsQueue(stack, 'Failed', props);
  const fn = inlineFunction(stack, 'Fn');
  failures.catchFailuresOf(fn);
  return { failures, fn, template: Template.fromStack(stack) };
}

describe('FailedEventsQueue', () => {
  const { template, failures, fn } = queueStack();
  const queueArn = { 'Fn::GetAtt': [logicalId(failures.queue), 'Arn'] };

  it('encrypts messages with SQS-managed keys', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('denies every request not made over TLS', () => {
    const policy = onlyResource(template, 'AWS::SQS::QueuePolicy');
    expect(policy.Properties['PolicyDocument']).toMatchObject({
      Statement: [{ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
    });
  });

  it('keeps failed events for 14 days by default', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('keeps failed events as long as retentionPeriod says', () => {
    queueStack({ retentionPeriod: Duration.days(4) }).template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 4 * 24 * 3600,
    });
  });

  it('retries a failed event twice, for up to six hours, then sends it to the queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fn) },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: queueArn } },
    });
  });

  it('retries as retryAttempts and maxEventAge say', () => {
    queueStack({ retryAttempts: 0, maxEventAge: Duration.minutes(30) }).template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 1800,
    });
  });

  it('lets the function send to this queue', () => {
    const sends = statementsOfRole(template, logicalId(fn.role!)).filter((s) => actionsOf([s]).includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([queueArn]);
  });
});
