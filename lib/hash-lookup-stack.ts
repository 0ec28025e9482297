import { CfnOutput, Lazy, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { EndpointType, QuotaSettings, ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FUNCTIONS, ROUTES, type FunctionId, type FunctionSpec, type RouteSpec } from '../lambdas/http/routes.js';
import { HashTable } from './hash-table.js';
import { HashcheckApi } from './hashcheck-api.js';
import { HashcheckFunction } from './hashcheck-function.js';
import { KnownHashesSeed } from './known-hashes-seed.js';
import { FailedEventsQueue } from './failed-events-queue.js';
import { bindPermissions } from './permissions.js';
import { ScansTable } from './scans-table.js';
import { UploadBucket } from './upload-bucket.js';
import { AnswerBucket } from './answer-bucket.js';
import { ExportBucket } from './export-bucket.js';
import { ExportBuilder } from './export-builder.js';
import { allowBrowserOrigin } from './api-cors.js';
import { WebFormSite, type WebFormOptions } from './web-form-site.js';
import type { UsageTiersProps } from './usage-tiers.js';
import { join } from 'node:path';
import { INSIDE_LIMIT_VARIABLES } from '../lambdas/core/inside/limits.js';
import { PROJECT_ROOT } from './project-root.js';

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
   * Origins of web pages that may upload to the upload bucket from a browser (CORS), such as the web
   * form's. Scripts and the CLI need none.
   * @default - none
   */
  readonly uploadAllowedOrigins?: readonly string[];
  /**
   * Concurrent executions reserved for, and capping, scan-object, the function that scans uploaded
   * objects (each run takes `scanObjectMemorySize` for up to 15 minutes). The cap bounds the cost of a
   * burst of uploads and keeps them from taking the account concurrency the lookup functions, which mail
   * gateways wait on, need; upload events over it wait and are retried. Every reservation must leave at
   * least 100 executions of the account's limit unreserved (1,000 by default, as little as 10 in a new
   * account): `false` reserves nothing, for an account that cannot spare it.
   * @default 10
   */
  readonly scanObjectReservedConcurrency?: number | false;
  /**
   * Concurrent executions reserved for, and capping, scan-inline, the function that digests files sent in
   * the request body (up to 4 MiB each). Like `scanObjectReservedConcurrency`: a burst of file checks
   * cannot take the concurrency of the lookup functions. `false` reserves nothing.
   * @default 20
   */
  readonly scanInlineReservedConcurrency?: number | false;
  /**
   * Whether one concurrent execution is reserved for the export builder, so rebuilds of the exports never
   * run side by side (see `ExportBuilder`). `false` reserves nothing.
   * @default 1
   */
  readonly exportBuilderReservedConcurrency?: 1 | false;
  /**
   * How long scan-inline looks inside the files of one request (archives, disk images), in milliseconds,
   * set on the function as `HASHCHECK_INSIDE_TIME_MS`. Past it the answer names the containers not
   * finished. It must end before the function's timeout (15 s in the route table), which ends before API
   * Gateway stops waiting (29 s): a request gets an answer, not a 504.
   * @default 10000
   */
  readonly scanInlineInsideTimeMs?: number;
  /**
   * How long scan-object may take over one uploaded file, in milliseconds, from its first byte read to the
   * end of its look inside (reading, digesting, extracting and digesting members), set on the function as
   * `HASHCHECK_INSIDE_TIME_MS`. Past it the verdict names the containers not finished. It must end at
   * least a second before the function's timeout (900 s in the route table), so the verdict is recorded.
   * @default 840000 - a minute before the timeout
   */
  readonly scanObjectInsideTimeMs?: number;
  /**
   * @deprecated use `scanObjectReservedConcurrency`, which this sets when that is not given.
   */
  readonly scanObjectConcurrency?: number;
  /**
   * Memory of scan-object in MB, from 128 to 10,240; Lambda gives CPU in proportion, and hashing is
   * CPU-bound. Some accounts are capped at 3,008 MB until they ask for more.
   * @default 3008 - scan-object's size in the route table, which every account accepts
   */
  readonly scanObjectMemorySize?: number;
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
   * Per-key throttling of the one standard usage plan, used only with `usageTiers: false`.
   * @default see HashcheckApi
   */
  readonly keyThrottle?: ThrottleSettings;
  /**
   * Per-key request quota of the one standard usage plan, used only with `usageTiers: false`.
   * @default - no quota
   */
  readonly keyQuota?: QuotaSettings;
  /**
   * Usage plans by kind of caller, each with an API key, a throttle and a daily quota: `gateway` (mail
   * gateways, the web form: one file or hash per request, high rate) and `script` (EDR/SIEM scripts, the
   * CLI: bulk lists, low rate). `false` deploys one standard plan with keyThrottle and keyQuota instead.
   * @default {} - both tiers with DEFAULT_USAGE_TIERS (gateway 50/s, bursts of 100, 500,000 requests a
   * day; script 5/s, bursts of 10, 20,000 requests a day)
   */
  readonly usageTiers?: Omit<UsageTiersProps, 'restApi'> | false;
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
  /**
   * The web form: a static page on CloudFront (`WebFormSite`) that calls this API and sends large files
   * straight to the upload bucket. Its origin is then the one browser origin the API's CORS answers
   * allow, and is added to the upload bucket's. `false` leaves the form out.
   * @default {} - deployed with WebFormSite's defaults
   */
  readonly webForm?: WebFormOptions | false;
}

/**
 * The known-bad hash lookup service: the KnownHashes table with its seed list, the Scans table and the
 * upload bucket of large-file scans, one function per route-table function with exactly the permissions
 * the route table gives it, and the REST API serving the route table.
 *
 * Functions triggered by `upload-created` are not routes: the upload bucket notifies them of each new
 * object under `uploads/`, and the events they keep failing on go to the failed-scans queue.
 *
 * Callers are metered by usage tier (`UsageTiers`, unless `usageTiers: false`): a gateway plan and a
 * script plan, each with an API key; `api.usageTiers.tiers.script.apiKey` is the script tier's.
 *
 * Outputs: `ApiUrl` (the stage URL), `ApiKeyId` (the gateway tier's key; read it with
 * `aws apigateway get-api-key --api-key <id> --include-value`), `KnownHashesTableName`,
 * `ScansTableName`, `UploadBucketName`, `AnswerBucketName`, `ExportBucketName`, `FailedScansQueueUrl`, and `WebFormUrl`
 * with the web form.
 *
 * Exports are written by the export builder (`ExportBuilder`) after changes to the table, into the exports
 * bucket, and the export function answers from them.
 *
 * The web form (`WebFormSite`, unless `webForm: false`) is told the API's URL at deploy time; the API's
 * and the upload bucket's CORS rules allow its origin.
 */
export class HashLookupStack extends Stack {
  /** The KnownHashes table. */
  public readonly knownHashes: HashTable;
  /** The functions built, by id. */
  public readonly functions: ReadonlyMap<FunctionId, HashcheckFunction>;
  /** The routes the API serves. */
  public readonly routes: readonly RouteSpec[];
  /** The Scans table. */
  public readonly scans: ScansTable;
  /** The upload bucket and its access log bucket. */
  public readonly uploads: UploadBucket;
  /** Where answers too large for a function's result wait for the client to follow its redirect. */
  public readonly answers: AnswerBucket;
  /** The exports of the list, written once per change, and their access log bucket. */
  public readonly exports: ExportBucket;
  /** The function rebuilding the exports from the table's stream. */
  public readonly exportBuilder: ExportBuilder;
  /** Where upload events that could not be scanned end up. */
  public readonly failedScans: FailedEventsQueue;
  /** The seed loader and its custom resource. */
  public readonly seed: KnownHashesSeed;
  /** The REST API. */
  public readonly api: HashcheckApi;
  /** The web form, unless `webForm: false`. */
  public readonly webForm: WebFormSite | undefined;

  constructor(scope: Construct, id: string, props: HashLookupStackProps = {}) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    // Props are checked before anything is built, so a wrong one fails synthesis with its own message.
    const scanObjectConcurrency = reservedConcurrency(
      'scanObjectReservedConcurrency',
      props.scanObjectReservedConcurrency ?? props.scanObjectConcurrency ?? DEFAULT_SCAN_OBJECT_RESERVED_CONCURRENCY,
    );
    const scanInlineConcurrency = reservedConcurrency(
      'scanInlineReservedConcurrency',
      props.scanInlineReservedConcurrency ?? DEFAULT_SCAN_INLINE_RESERVED_CONCURRENCY,
    );
    const scanInlineSpec = (props.functions ?? FUNCTIONS).find((spec) => spec.id === 'scan-inline');
    const scanInlineInsideTimeMs = insideTimeMs(
      'scanInlineInsideTimeMs',
      'scan-inline',
      props.scanInlineInsideTimeMs ?? DEFAULT_SCAN_INLINE_INSIDE_TIME_MS,
      scanInlineSpec?.timeoutSeconds,
    );
    const scanObjectSpec = (props.functions ?? FUNCTIONS).find((spec) => spec.trigger === 'upload-created');
    const scanObjectInsideTimeMs = insideTimeMs(
      'scanObjectInsideTimeMs',
      'scan-object',
      props.scanObjectInsideTimeMs ?? DEFAULT_SCAN_OBJECT_INSIDE_TIME_MS,
      scanObjectSpec?.timeoutSeconds,
    );
    const scanObjectMemorySize = props.scanObjectMemorySize === undefined ? undefined : checkMemorySize('scanObjectMemorySize', props.scanObjectMemorySize);

    this.knownHashes = new HashTable(this, 'KnownHashes', { removalPolicy: props.tableRemovalPolicy });
    this.seed = new KnownHashesSeed(this, 'Seed', { table: this.knownHashes, logRetention, seedFile: props.seedFile });

    this.scans = new ScansTable(this, 'Scans');
    // The web form's domain is known only once its distribution exists, below; the rule reads it then.
    const webFormOrigin = Lazy.string({ produce: () => this.webForm?.origin });
    this.uploads = new UploadBucket(this, 'Uploads', {
      allowedOrigins: [...(props.uploadAllowedOrigins ?? []), ...(props.webForm === false ? [] : [webFormOrigin])],
    });
    this.failedScans = new FailedEventsQueue(this, 'FailedScans');
    // Pages follow the redirect to a large answer: the web form's origin may read it.
    this.answers = new AnswerBucket(this, 'Answers', { allowedOrigins: props.webForm === false ? [] : [webFormOrigin] });
    this.exports = new ExportBucket(this, 'Exports');
    this.exportBuilder = new ExportBuilder(this, 'ExportBuilder', {
      table: this.knownHashes,
      exports: this.exports,
      logRetention,
      reservedConcurrency: props.exportBuilderReservedConcurrency,
    });
    const targets = { knownHashes: this.knownHashes, scans: this.scans, uploads: this.uploads, answers: this.answers, exports: this.exports };

    const functions = new Map<FunctionId, HashcheckFunction>();
    for (const spec of props.functions ?? FUNCTIONS) {
      const scansUploads = spec.trigger === 'upload-created';
      const fn = new HashcheckFunction(this, `${pascalCase(spec.id)}Function`, {
        spec: scansUploads ? { ...spec, memorySize: scanObjectMemorySize ?? spec.memorySize } : spec,
        logRetention,
        reservedConcurrentExecutions: scansUploads ? scanObjectConcurrency : spec.id === 'scan-inline' ? scanInlineConcurrency : undefined,
        // Only the functions that scan files look inside them: they alone carry 7-Zip.
        ...(spec.id === 'scan-inline'
          ? { bundledFiles: SEVEN_ZIP_FILES, environment: { [INSIDE_LIMIT_VARIABLES.timeMs]: String(scanInlineInsideTimeMs) } }
          : scansUploads
            ? { bundledFiles: SEVEN_ZIP_FILES, environment: { [INSIDE_LIMIT_VARIABLES.timeMs]: String(scanObjectInsideTimeMs) } }
            : {}),
      });
      // An upload is written to /tmp while it is digested, and its members extracted beside it.
      if (scansUploads) (fn.node.defaultChild as CfnFunction).ephemeralStorage = { size: SCAN_OBJECT_EPHEMERAL_STORAGE_MB };
      bindPermissions(fn, spec.permissions, targets);
      if (spec.trigger === 'upload-created') {
        this.uploads.notifyOnUpload(fn);
        this.failedScans.catchFailuresOf(fn);
      }
      functions.set(spec.id, fn);
    }
    this.functions = functions;
    this.routes = props.routes ?? ROUTES;

    this.api = new HashcheckApi(this, 'Api', {
      routes: this.routes,
      functions: Object.fromEntries(functions),
      logRetention,
      stageThrottle: props.stageThrottle,
      keyThrottle: props.keyThrottle,
      keyQuota: props.keyQuota,
      usageTiers: props.usageTiers === false ? undefined : (props.usageTiers ?? {}),
      endpointType: props.endpointType,
      webAclArn: props.webAclArn,
    });

    if (props.webForm !== false) {
      // The CSP names the region's S3 endpoint rather than the upload bucket: the bucket's CORS rule names
      // this site, and each naming the other would be a dependency cycle.
      this.webForm = new WebFormSite(this, 'WebForm', {
        logRetention,
        ...props.webForm,
        apiUrl: this.api.url,
        connectOrigins: [
          `https://${this.api.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}`,
          `https://*.s3.${this.region}.${this.urlSuffix}`,
        ],
      });
      const httpIds = new Set((props.functions ?? FUNCTIONS).filter((s) => s.trigger === 'http').map((s) => s.id));
      allowBrowserOrigin({
        restApi: this.api.restApi,
        // A page has no business with the admin routes: they take SigV4, which browsers do not send.
        routes: this.routes.filter((r) => r.auth !== 'admin'),
        origin: this.webForm.origin,
        functions: [...functions].filter(([fnId]) => httpIds.has(fnId)).map(([, fn]) => fn),
      });
      new CfnOutput(this, 'WebFormUrl', { value: this.webForm.url, description: 'The web form: check files and hashes in a browser' });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the API (the stage); routes start with /v1' });
    new CfnOutput(this, 'ApiKeyId', {
      value: this.api.apiKey.keyId,
      description: 'Id of the API key of the gateway tier (of the standard plan with usageTiers: false)',
    });
    new CfnOutput(this, 'KnownHashesTableName', { value: this.knownHashes.table.tableName });
    new CfnOutput(this, 'ScansTableName', { value: this.scans.table.tableName });
    new CfnOutput(this, 'UploadBucketName', { value: this.uploads.bucket.bucketName });
    new CfnOutput(this, 'AnswerBucketName', { value: this.answers.bucket.bucketName });
    new CfnOutput(this, 'ExportBucketName', { value: this.exports.bucket.bucketName });
    new CfnOutput(this, 'FailedScansQueueUrl', {
      value: this.failedScans.queue.queueUrl,
      description: 'Upload events the scan function failed on after its retries, with the error',
    });
  }
}

/** Concurrency reserved for scan-object unless `scanObjectReservedConcurrency` says otherwise. */
export const DEFAULT_SCAN_OBJECT_RESERVED_CONCURRENCY = 10;
/** Concurrency reserved for scan-inline unless `scanInlineReservedConcurrency` says otherwise. */
export const DEFAULT_SCAN_INLINE_RESERVED_CONCURRENCY = 20;

/** scan-inline's look-inside time unless `scanInlineInsideTimeMs` says otherwise. */
export const DEFAULT_SCAN_INLINE_INSIDE_TIME_MS = 10_000;

/** scan-object's time over one upload unless `scanObjectInsideTimeMs` says otherwise: a minute before its 900 s timeout. */
export const DEFAULT_SCAN_OBJECT_INSIDE_TIME_MS = 840_000;

/**
 * scan-object's `/tmp`, in MB: Lambda's largest, for an upload of up to 5 GiB (5,120 MB) kept while it is
 * looked into, plus the members extracted from it (400 MiB by default, HASHCHECK_INSIDE_MAX_BYTES) and room
 * for that limit to be raised.
 */
export const SCAN_OBJECT_EPHEMERAL_STORAGE_MB = 10_240;

/**
 * 7-Zip compiled to WebAssembly, copied into scan-inline's and scan-object's bundles as the package it is: the function
 * finds it with `createRequire(import.meta.url).resolve('7z-wasm')` (lambdas/adapters/sevenzip-inside.ts),
 * and its JavaScript loads `7zz.wasm` from its own folder. The licences go with it.
 */
export const SEVEN_ZIP_FILES: Readonly<Record<string, string>> = Object.fromEntries(
  ['package.json', '7zz.umd.js', '7zz.wasm', 'License.txt', 'unRarLicense.txt'].map((name) => [
    `node_modules/7z-wasm/${name}`,
    join(PROJECT_ROOT, 'node_modules', '7z-wasm', name),
  ]),
);

/** A look-inside time as the function takes it: whole milliseconds, ending at least a second before its timeout. */
function insideTimeMs(prop: string, functionId: FunctionId, value: number, timeoutSeconds: number | undefined): number {
  const ceiling = timeoutSeconds === undefined ? Infinity : timeoutSeconds * 1000 - 1000;
  if (!Number.isSafeInteger(value) || value < 1 || value > ceiling) {
    throw new Error(
      `HashLookupStack ${prop}: ${String(value)} is not a look-inside time ${functionId} can keep; give whole milliseconds from 1 to ${String(ceiling)}, a second before its ${String(timeoutSeconds)} s timeout.`,
    );
  }
  return value;
}

/** A reservation as the function takes it: a positive integer, or none for `false`. */
function reservedConcurrency(prop: string, value: number | false): number | undefined {
  if (value === false) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`HashLookupStack ${prop}: ${String(value)} is not a number of concurrent executions; give a positive integer such as 10, or false to reserve none.`);
  }
  return value;
}

function checkMemorySize(prop: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 128 || value > 10240) {
    throw new Error(`HashLookupStack ${prop}: ${String(value)} is not a Lambda memory size; give a whole number of MB from 128 to 10240.`);
  }
  return value;
}

function pascalCase(id: string): string {
  return id.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase());
}
