import { Duration, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface FailedEventsQueueProps {
  /**
   * How long a failed event stays in the queue for someone to look at or replay.
   * @default Duration.days(14), the SQS maximum
   */
  readonly retentionPeriod?: Duration;
  /**
   * How many times Lambda retries an event whose invocation failed (0 to 2). Retries come about one and
   * then two minutes later, which rides out a brief throttling or outage of a store.
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * How long Lambda keeps trying an event (throttled or failed) before it sends it to the queue; at
   * most six hours. An uploaded object lives at least a day, so it is still there to scan.
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;
}

/**
 * Where asynchronous events go when a function keeps failing on them: the last stop of an S3 event that
 * could not be scanned, kept so an operator can see what failed and why, and replay it.
 *
 * Creates:
 * - an SQS queue, encrypted with SQS-managed keys, reachable over TLS only (queue policy), keeping
 *   messages for `retentionPeriod`;
 * - for each function given to {@link FailedEventsQueue.catchFailuresOf}, its asynchronous invocation
 *   settings (retries, maximum event age) with the queue as the on-failure destination, and the
 *   permission to send to the queue.
 *
 * Each message is Lambda's invocation record: the original event, the error type and message, and the
 * number of attempts. Nothing about the file is in it beyond its object key.
 */
export class FailedEventsQueue extends Construct {
  /** The queue failed events land in. */
  public readonly queue: Queue;
  private readonly retryAttempts: number;
  private readonly maxEventAge: Duration;

  constructor(scope: Construct, id: string, props: FailedEventsQueueProps = {}) {
    super(scope, id);
    this.retryAttempts = props.retryAttempts ?? 2;
    this.maxEventAge = props.maxEventAge ?? Duration.hours(6);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination: it receives the asynchronous events a function failed on after its retries (a Lambda on-failure destination, which cdk-nag does not recognise as a DLQ use). Nothing consumes it automatically, so it needs no DLQ of its own.',
    });
  }

  /**
   * Sends the asynchronous events `fn` fails on, after the retries, to the queue. A function has one
   * asynchronous invocation configuration, so call this once per function.
   */
  public catchFailuresOf(fn: IFunction): void {
    fn.configureAsyncInvoke({
      retryAttempts: this.retryAttempts,
      maxEventAge: this.maxEventAge,
      onFailure: new SqsDestination(this.queue),
    });
  }
}
