import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { RESOURCE_VARIABLES } from '../lambdas/adapters/config.js';
import { KNOWN_HASHES_KEY } from '../lambdas/adapters/table-schemas.js';
import type { Permissions } from '../lambdas/http/routes.js';

/** The access a function gets to the KnownHashes table, as the route table names it. */
export type TableAccess = NonNullable<Permissions['knownHashes']>;

/**
 * The DynamoDB actions behind each access, exactly those `DynamoDbHashStore` calls: lookups read items by
 * key (GetItem for one hash, BatchGetItem for more), exports scan the table and read nothing by key, and
 * imports read items by key and write them in batches. No query, update or delete; only exports scan.
 */
export const KNOWN_HASHES_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
  list: ['dynamodb:Scan'],
  readWrite: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
};

export interface HashTableProps {
  /**
   * What happens to the table when it leaves the stack. The known-bad list and its `addedAt` history
   * are data, not cache, so they outlive the stack unless told otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Server-side encryption. `CUSTOMER_MANAGED` creates a key; grants then include the key as well.
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
 * The KnownHashes table: one item per known digest, partition key `hash` (lower-case hex), each item
 * carrying the whole record, so a lookup by any digest is one key read.
 *
 * Creates:
 * - a DynamoDB table billed on demand, encrypted, with point-in-time recovery, retained by default, and a
 *   stream of the keys of changed items (no item contents), which triggers the rebuild of the exports.
 *
 * Functions get access only through {@link HashTable.bindTable}, which grants and sets the variable
 * naming the table in one step, so neither can be forgotten.
 */
export class HashTable extends Construct {
  /** The DynamoDB table. */
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: HashTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: KNOWN_HASHES_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: props.encryption ?? TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      stream: StreamViewType.KEYS_ONLY,
    });
  }

  /**
   * Grants `fn` the given access (see {@link KNOWN_HASHES_ACTIONS}) on the table, and on its key when it
   * has one of its own, and sets `KNOWN_HASHES_TABLE` (the name `readConfig` reads) on it.
   */
  public bindTable(fn: LambdaFunction, access: TableAccess): void {
    this.table.grant(fn, ...KNOWN_HASHES_ACTIONS[access]);
    const key = this.table.encryptionKey;
    if (key) {
      if (access === 'readWrite') key.grantEncryptDecrypt(fn);
      else key.grantDecrypt(fn);
    }
    fn.addEnvironment(RESOURCE_VARIABLES.knownHashesTable, this.table.tableName);
  }
}
