import { dirname, join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionSpec } from '../lambdas/http/routes.js';
import { PROJECT_ROOT } from './project-root.js';

/**
 * The part of a route-table `FunctionSpec` that shapes a function. Functions outside the route table
 * (the seed loader) describe themselves the same way.
 */
export type FunctionShape = Pick<FunctionSpec, 'entry' | 'description' | 'memorySize' | 'timeoutSeconds'>;

/**
 * The AWS SDK is bundled rather than taken from the runtime, so the deployed code runs the SDK version it
 * was tested with. Bundled CommonJS dependencies call `require` for Node built-ins, which an ES module
 * lacks: the banner provides one (without it the import succeeds and the first SDK call fails with
 * `Dynamic require of "node:https"`).
 */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export interface HashcheckFunctionProps {
  /** Entry (relative to `projectRoot`), description, memory and timeout, usually from the route table. */
  readonly spec: FunctionShape;
  /**
   * How long the function's log group keeps events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Files copied next to the bundle, keyed by their path in the bundle (folders such as `node_modules/x/`
   * are made), value the absolute source path. The function finds them with
   * `new URL('./<name>', import.meta.url)`, or a package copied under `node_modules/` with
   * `createRequire(import.meta.url)`.
   * @default - none
   */
  readonly bundledFiles?: Readonly<Record<string, string>>;
  /**
   * Extra environment variables. Variables naming resources are set by the construct that grants the
   * access (`HashTable.bindTable`), not here.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrent executions reserved for the function, which are also its ceiling.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The folder entry paths are relative to, holding `package-lock.json`.
   * @default - the project root
   */
  readonly projectRoot?: string;
}

/**
 * A hashcheck Lambda function with the settings every function shares: Node.js 22 on arm64, an ES module
 * bundle with the SDK inside, minified with source maps, JSON logs into its own log group with a
 * retention, and X-Ray tracing.
 *
 * Creates, next to itself in the same scope (they must exist before the function does):
 * - a log group `<id>Logs` with the retention,
 * - an execution role `<id>Role` that may write to that log group only (instead of the AWS-managed
 *   basic execution policy, which allows every log group).
 * The function itself adds the X-Ray write permission to the role.
 */
export class HashcheckFunction extends NodejsFunction {
  /** The log group the function writes to. */
  public readonly functionLogGroup: LogGroup;
  /** The execution role; grants add to it. */
  public readonly executionRole: Role;
  /** The paths, in the bundle, of the files copied next to it. */
  public readonly bundledFiles: readonly string[];

  constructor(scope: Construct, id: string, props: HashcheckFunctionProps) {
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.spec.entry}`,
    });
    const copies = Object.entries(props.bundledFiles ?? {});
    super(scope, id, {
      entry: join(projectRoot, props.spec.entry),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      description: props.spec.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.spec.memorySize,
      timeout: Duration.seconds(props.spec.timeoutSeconds),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // No --enable-source-maps: it parses the map at every cold start; the logger reads it when an error is logged.
      environment: { ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        ...(copies.length > 0
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  copies.map(([name, source]) => {
                    const target = join(outputDir, name);
                    return `mkdir -p ${shellQuote(dirname(target))} && cp ${shellQuote(source)} ${shellQuote(target)}`;
                  }),
              },
            }
          : {}),
      },
    });
    this.functionLogGroup = logGroup;
    this.executionRole = role;
    this.bundledFiles = copies.map(([name]) => name);
    logGroup.grantWrite(role);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the bundle targets node22 and the code is tested on Node 20 and 22; moving to nodejs24.x is a tested upgrade of its own, not a side effect of a CDK update.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray tracing uses a wildcard resource: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions. Log and table grants name their resources.',
    });
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
