import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { ROUTES, functionSpec } from '../../lambdas/http/routes.js';
import { HashLookupStack } from '../../lib/hash-lookup-stack.js';
import { zipOf } from '../support/archives.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent } from '../support/events.js';
import { EICAR, EICAR_RECORD } from '../support/reference.js';
import { logicalId } from '../infra/synth.js';

const run = promisify(execFile);

/** Calls a bundled handler once, in a Node process of its own, with the event in a file; prints the result. */
const INVOKE = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundle, eventFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const context = { awsRequestId: 'bundle-test', functionName: 'ScanInline', getRemainingTimeInMillis: () => 15000 };
const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
process.stdout.write(JSON.stringify(result));
`;

let work: string;
let assetDir: string;
let variables: Record<string, string>;
let dynamoDb: Awaited<ReturnType<typeof startTestDynamoDb>>;
let tableName: string;

beforeAll(async () => {
  // A stack with scan-inline alone, bundled for real: esbuild, then the construct's copies into the asset.
  work = mkdtempSync(join(tmpdir(), 'hashcheck-inside-bundle-'));
  const app = new App({ outdir: join(work, 'cdk.out'), builtinCloudFormationValidation: false });
  const stack = new HashLookupStack(app, 'Bundled', {
    functions: [functionSpec('scan-inline')],
    routes: ROUTES.filter((route) => route.function === 'scan-inline'),
    webForm: false,
  });
  const assembly = app.synth();
  const resource = Template.fromStack(stack).toJSON()['Resources'][logicalId(stack.functions.get('scan-inline')!)] as {
    Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, string> } };
  };
  assetDir = join(assembly.directory, `asset.${resource.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
  variables = resource.Properties.Environment.Variables;

  dynamoDb = await startTestDynamoDb();
  tableName = await createKnownHashesTable(dynamoDb.client);
  await new DynamoDbHashStore(dynamoDb.client, { tableName }).putRecords([EICAR_RECORD]);
}, 180_000);

afterAll(async () => {
  await dynamoDb?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A POST /v1/files event as API Gateway passes a binary body. */
function filesEvent(body: Buffer, fileName: string): APIGatewayProxyEvent {
  const headers = { 'Content-Type': 'application/octet-stream', 'X-File-Name': fileName };
  return {
    ...fixtureEvent('api-gateway-post-lookup'),
    resource: '/v1/files',
    path: '/v1/files',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

describe('the deployed scan-inline bundle', () => {
  it('opens a ZIP holding EICAR with the 7-Zip copied into it, outside the project, and answers it malicious', async () => {
    const eventFile = join(work, 'event.json');
    writeFileSync(eventFile, JSON.stringify(filesEvent(zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' }), 'tools.zip')));
    const invoke = join(work, 'invoke.mjs');
    writeFileSync(invoke, INVOKE);

    // Only the function's own variables and the local table: no node_modules above the asset to fall back on.
    const { stdout } = await run(process.execPath, [invoke, join(assetDir, 'index.mjs'), eventFile], {
      cwd: assetDir,
      env: {
        PATH: process.env['PATH'],
        ...variables,
        KNOWN_HASHES_TABLE: tableName,
        HASHCHECK_DYNAMODB_ENDPOINT: dynamoDb.dynamoDb.endpoint,
        AWS_REGION: 'us-east-1',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(stdout) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(200);
    const [file] = (JSON.parse(result.body) as { files: any[] }).files;
    expect(file).toMatchObject({ fileName: 'tools.zip', verdict: 'malicious' });
    expect(file.inside).toMatchObject({ members: 2, containers: 1, complete: true, reasons: [] });
    expect(file.inside.matches).toEqual([expect.objectContaining({ path: ['tools/eicar.com'], md5: '44d88612fea8a8f36de82e1278abb02f' })]);
    expect(readFileSync(join(assetDir, 'node_modules/7z-wasm/7zz.wasm')).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });
});
