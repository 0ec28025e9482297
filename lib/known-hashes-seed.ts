import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomResource, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { HashTable } from './hash-table.js';
import { HashcheckFunction, type FunctionShape } from './hashcheck-function.js';
import { logicalIdToken } from './nag-ids.js';
import { PROJECT_ROOT } from './project-root.js';

/** The name the seed file has inside the function bundle; the handler looks for it next to itself. */
export const BUNDLED_SEED_FILE = 'known-bad.jsonl';

/** The seed loader: outside the route table, since no route calls it. */
export const SEED_FUNCTION: FunctionShape = {
  entry: 'lambdas/functions/seed-known-hashes.ts',
  description: 'Loads the bundled seed list into KnownHashes at deploy time',
  memorySize: 512,
  timeoutSeconds: 120,
};

export interface KnownHashesSeedProps {
  /** The table the list is loaded into; the loader gets read and write access to it. */
  readonly table: HashTable;
  /**
   * The record list (JSON Lines, the project's format).
   * @default data/known-bad.jsonl of the project
   */
  readonly seedFile?: string;
  /**
   * How long the loader's and the provider's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * Loads the seed list into the KnownHashes table on every deployment that changes the list, with the
 * same import code the local server uses (idempotent: unchanged records are not rewritten).
 *
 * Creates:
 * - the loader function (`HashcheckFunction`, with its log group and role) with the seed file bundled
 *   next to it, bound to the table read-write;
 * - a custom resource provider (CDK provider framework) with its own log group and a role that may
 *   only write that log group and invoke the loader;
 * - the custom resource, whose `SeedSha256` property is the hash of the seed file, so a changed file
 *   triggers an update and an unchanged one does not. Deleting it leaves the records in place.
 */
export class KnownHashesSeed extends Construct {
  /** The loader function. */
  public readonly loader: HashcheckFunction;
  /** The provider framework behind the custom resource. */
  public readonly provider: Provider;
  /** The custom resource; its attributes `total`, `added`, `updated`, `unchanged` report the import. */
  public readonly resource: CustomResource;
  /** SHA-256 of the seed file, hex. */
  public readonly seedSha256: string;

  constructor(scope: Construct, id: string, props: KnownHashesSeedProps) {
    super(scope, id);
    const seedFile = props.seedFile ?? join(PROJECT_ROOT, 'data', 'known-bad.jsonl');
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.seedSha256 = createHash('sha256').update(readFileSync(seedFile)).digest('hex');

    this.loader = new HashcheckFunction(this, 'Loader', {
      spec: SEED_FUNCTION,
      logRetention: retention,
      bundledFiles: { [BUNDLED_SEED_FILE]: seedFile },
    });
    props.table.bindTable(this.loader, 'readWrite');

    const providerLogs = new LogGroup(this, 'ProviderLogs', { retention });
    const providerRole = new Role(this, 'ProviderRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider of the KnownHashes seed: invokes the loader',
    });
    providerLogs.grantWrite(providerRole);
    this.provider = new Provider(this, 'Provider', {
      onEventHandler: this.loader,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdToken(this.loader)}.Arn>:*]`,
      reason: 'The provider framework may invoke any version of the loader function (ARN:*), and only that function.',
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::KnownHashesSeed',
      properties: { SeedSha256: this.seedSha256 },
    });
  }
}
