import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { RESOURCE_VARIABLES } from '../lambdas/adapters/config.js';
import { SCANS_KEY, SCANS_TTL_ATTRIBUTE } from '../lambdas/adapters/table-schemas.js';
import type { Permissions } from '../lambdas/http/routes.js';

/** The access a function gets to the Scans table, as the route table names it. */
export type ScansAccess = NonNullable<Permissions['scans']>;

/**
 * The DynamoDB actions behind each access. The scan store only reads one row by key and writes whole rows
 * (`DynamoDbScanStore`), so nothing else is granted: no query, scan, batch, update or delete.
 */
export const SCANS_ACTIONS: Readonly<Record<ScansAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem'],
  write: ['dynamodb:PutItem'],
  readWrite: ['dynamodb:GetItem', 'dynamodb:PutItem'],
};

export interface ScansTableProps {
  /**
   * What happens to the table when it leaves the stack. Its rows are results that expire within days
   * (TTL) and can be produced again by uploading the file again, so they do not outlive the stack.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Server-side encryption. `CUSTOMER_MANAGED` creates a key; bindings then grant its use as well.
   * @default TableEncryption.AWS_MANAGED
   */
  readonly encryption?: TableEncryption;
  /**
   * Continuous backups, restorable to any second of the last 35 days.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The Scans table: one row per presigned upload, partition key `uploadId`, holding its status (pending,
 * done, failed) and, once scanned, the file's digests and verdict.
 *
 * Creates:
 * - a DynamoDB table billed on demand, encrypted, with point-in-time recovery, whose rows DynamoDB's TTL
 *   deletes after their `expiresAt` (epoch seconds; readers check it too, since TTL deletion lags).
 *
 * Functions get access only through {@link ScansTable.bindTable}, which grants and sets the variable
 * naming the table in one step, so neither can be forgotten.
 */
export class ScansTable extends Construct {
  /** The DynamoDB table. */
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: ScansTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: SCANS_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: props.encryption ?? TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      timeToLiveAttribute: SCANS_TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /**
   * Grants `fn` the given access (see {@link SCANS_ACTIONS}) on the table, and on its key when it has
   * one of its own, and sets `SCANS_TABLE` (the name `readConfig` reads) on it.
   */
  public bindTable(fn: LambdaFunction, access: ScansAccess): void {
    this.table.grant(fn, ...SCANS_ACTIONS[access]);
    const key = this.table.encryptionKey;
    if (key) {
      if (access === 'read') key.grantDecrypt(fn);
      else key.grantEncryptDecrypt(fn);
    }
    fn.addEnvironment(RESOURCE_VARIABLES.scansTable, this.table.tableName);
  }
}
