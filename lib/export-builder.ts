import { Duration, Validations } from 'aws-cdk-lib';
import { CfnFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ExportBucket } from './export-bucket.js';
import type { HashTable } from './hash-table.js';
import { HashcheckFunction, type FunctionShape } from './hashcheck-function.js';

/**
 * The export builder's shape. A rebuild scans the whole table and writes seven exports through /tmp: a
 * list of a million records is about 3 million items to scan and about 1.3 GB of exports in all, which
 * takes minutes, not seconds; 15 minutes is Lambda's most and caps how stale an export can be.
 */
export const EXPORT_BUILDER_SHAPE: FunctionShape = {
  entry: 'lambdas/functions/export-builder.ts',
  description: 'Writes the exports of the known-bad list to S3 after every change to it',
  memorySize: 2048,
  timeoutSeconds: 900,
};

/** /tmp of the builder: the sorted list and the export being uploaded, each under 1 GB for a million records. */
export const EXPORT_BUILDER_EPHEMERAL_STORAGE_MB = 4096;

export interface ExportBuilderProps {
  /** The table whose changes trigger a rebuild; its stream must be on. */
  readonly table: HashTable;
  /** Where the exports are written. */
  readonly exports: ExportBucket;
  /**
   * How long changes gather before a rebuild starts: an import of many requests becomes one rebuild,
   * not one per request. The staleness bound of an export is this plus one rebuild.
   * @default Duration.seconds(60)
   */
  readonly batchingWindow?: Duration;
  /**
   * Concurrent executions reserved for the builder, which are also its ceiling: with 1, rebuilds never run
   * side by side (a table with several stream shards could otherwise start two, racing on the manifest).
   * `false` reserves nothing, for an account that cannot spare it; rebuilds then run one per stream shard.
   * @default 1
   */
  readonly reservedConcurrency?: 1 | false;
  /**
   * How long the builder's log group keeps events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * Rebuilds the exports after changes to the KnownHashes table.
 *
 * Creates:
 * - the export-builder function (`HashcheckFunction`), with 4 GB of /tmp and (by default) one concurrent
 *   execution reserved, which is also its ceiling: rebuilds never run side by side;
 * - its event source mapping on the table's stream: batches of up to 1,000 changes gathered for
 *   `batchingWindow`, from the latest position; a failed rebuild is retried twice, then the batch is
 *   dropped (the next change rebuilds the whole list anyway, and the manifest says the exports are stale);
 * - grants: `dynamodb:Scan` on the table (the `list` access) and reading its stream, and `write` on the
 *   exports bucket's `exports/` prefix.
 */
export class ExportBuilder extends Construct {
  /** The export-builder function. */
  public readonly function: HashcheckFunction;

  constructor(scope: Construct, id: string, props: ExportBuilderProps) {
    super(scope, id);
    this.function = new HashcheckFunction(this, 'Function', {
      spec: EXPORT_BUILDER_SHAPE,
      logRetention: props.logRetention,
      reservedConcurrentExecutions: props.reservedConcurrency === false ? undefined : 1,
    });
    (this.function.node.defaultChild as CfnFunction).ephemeralStorage = { size: EXPORT_BUILDER_EPHEMERAL_STORAGE_MB };
    props.table.bindTable(this.function, 'list');
    props.exports.bindBucket(this.function, 'write');
    this.function.addEventSource(
      new DynamoEventSource(props.table.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 1000,
        maxBatchingWindow: props.batchingWindow ?? Duration.seconds(60),
        retryAttempts: 2,
        parallelizationFactor: 1,
      }),
    );
    Validations.of(this.function.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Two actions take no resource-level permission: X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and dynamodb:ListStreams, which Lambda calls to find the stream of the table. The table, its stream and the exports prefix are named.',
    });
  }
}
