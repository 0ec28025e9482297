import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { EndpointType, QuotaSettings, ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FUNCTIONS, ROUTES, routeKey, type FunctionId, type FunctionSpec, type RouteSpec } from '../lambdas/http/routes.js';
import { HashTable } from './hash-table.js';
import { HashcheckApi } from './hashcheck-api.js';
import { HashcheckFunction } from './hashcheck-function.js';
import { KnownHashesSeed } from './known-hashes-seed.js';
import { bindPermissions, missingResources } from './permissions.js';

export interface HashLookupStackProps extends StackProps {
  /**
   * The functions to build, each with the permissions it lists.
   * @default FUNCTIONS, the route table
   */
  readonly functions?: readonly FunctionSpec[];
  /**
   * The routes the API serves.
   * @default ROUTES, the route table
   */
  readonly routes?: readonly RouteSpec[];
  /**
   * How long function, provider and access logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the KnownHashes table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * The record list loaded at deploy time.
   * @default data/known-bad.jsonl of the project
   */
  readonly seedFile?: string;
  /**
   * Stage-wide throttling, all callers together.
   * @default see HashcheckApi
   */
  readonly stageThrottle?: ThrottleSettings;
  /**
   * Per-key throttling of the usage plan.
   * @default see HashcheckApi
   */
  readonly keyThrottle?: ThrottleSettings;
  /**
   * Per-key request quota of the usage plan.
   * @default - no quota
   */
  readonly keyQuota?: QuotaSettings;
  /**
   * The API endpoint type.
   * @default EndpointType.REGIONAL
   */
  readonly endpointType?: EndpointType;
  /**
   * A regional WAFv2 web ACL to associate with the API stage.
   * @default - none
   */
  readonly webAclArn?: string;
}

/**
 * The known-bad hash lookup service: the KnownHashes table with its seed list, one function per
 * route-table function with exactly the permissions the route table gives it, and the REST API serving
 * the route table.
 *
 * A function whose permissions refer to a resource the stack does not have yet (the Scans table, the
 * upload bucket) is left out together with its routes, and synthesis warns, naming them.
 *
 * Outputs: `ApiUrl` (the stage URL), `ApiKeyId` (read the key with
 * `aws apigateway get-api-key --api-key <id> --include-value`), `KnownHashesTableName`.
 */
export class HashLookupStack extends Stack {
  /** The KnownHashes table. */
  public readonly knownHashes: HashTable;
  /** The functions built, by id. */
  public readonly functions: ReadonlyMap<FunctionId, HashcheckFunction>;
  /** The routes the API serves. */
  public readonly routes: readonly RouteSpec[];
  /** The functions left out because the stack lacks a resource they need. */
  public readonly leftOut: readonly FunctionId[];
  /** The seed loader and its custom resource. */
  public readonly seed: KnownHashesSeed;
  /** The REST API. */
  public readonly api: HashcheckApi;

  constructor(scope: Construct, id: string, props: HashLookupStackProps = {}) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.knownHashes = new HashTable(this, 'KnownHashes', { removalPolicy: props.tableRemovalPolicy });
    this.seed = new KnownHashesSeed(this, 'Seed', { table: this.knownHashes, logRetention, seedFile: props.seedFile });

    const specs = props.functions ?? FUNCTIONS;
    const functions = new Map<FunctionId, HashcheckFunction>();
    for (const spec of specs) {
      if (missingResources(spec.permissions).length > 0) continue;
      const fn = new HashcheckFunction(this, `${pascalCase(spec.id)}Function`, { spec, logRetention });
      bindPermissions(fn, spec.permissions, { knownHashes: this.knownHashes });
      functions.set(spec.id, fn);
    }
    this.functions = functions;
    this.leftOut = specs.filter((s) => !functions.has(s.id)).map((s) => s.id);
    const allRoutes = props.routes ?? ROUTES;
    this.routes = allRoutes.filter((r) => functions.has(r.function));
    if (this.leftOut.length > 0) {
      const why = specs.filter((s) => !functions.has(s.id)).map((s) => `${s.id} (needs ${missingResources(s.permissions).join(', ')})`);
      const routesLeftOut = allRoutes.filter((r) => !functions.has(r.function)).map(routeKey);
      Annotations.of(this).addWarningV2(
        'hashcheck:functions-left-out',
        `Not deployed, since the stack lacks a resource they need: functions ${why.join('; ')}` +
          (routesLeftOut.length > 0 ? `; routes ${routesLeftOut.join(', ')}.` : '.'),
      );
    }

    this.api = new HashcheckApi(this, 'Api', {
      routes: this.routes,
      functions: Object.fromEntries(functions),
      logRetention,
      stageThrottle: props.stageThrottle,
      keyThrottle: props.keyThrottle,
      keyQuota: props.keyQuota,
      endpointType: props.endpointType,
      webAclArn: props.webAclArn,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the API (the stage); routes start with /v1' });
    new CfnOutput(this, 'ApiKeyId', { value: this.api.apiKey.keyId, description: 'Id of the API key of the standard usage plan' });
    new CfnOutput(this, 'KnownHashesTableName', { value: this.knownHashes.table.tableName });
  }
}

function pascalCase(id: string): string {
  return id.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase());
}
