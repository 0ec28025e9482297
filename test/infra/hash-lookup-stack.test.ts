import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SCANS_KEY, SCANS_TTL_ATTRIBUTE } from '../../lambdas/adapters/table-schemas.js';
import { FUNCTIONS, ROUTES, functionSpec, requiresApiKey, routeKey, type FunctionId } from '../../lambdas/http/routes.js';
import { SEED_FUNCTION } from '../../lib/known-hashes-seed.js';
import { UPLOAD_KEY_PREFIX } from '../../lib/upload-bucket.js';
import { actionsOf, logicalId, methodsByRoute, resourcesOfType, statementsOfRole, synthHashLookupStack } from './synth.js';

const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

describe('HashLookupStack', () => {
  const { stack, template } = synthHashLookupStack();
  const methods = methodsByRoute(template);
  // The stack's own functions; the CDK's custom-resource handlers (provider framework, bucket notifications) are not.
  const ownIds = new Set([...stack.functions.values(), stack.seed.loader].map((fn) => logicalId(fn)));
  const ourFunctions = resourcesOfType(template, 'AWS::Lambda::Function').filter(([id]) => ownIds.has(id));
  const roleOf = (id: FunctionId) => logicalId(stack.functions.get(id)!.executionRole);

  it('deploys every function and every route of the route table', () => {
    expect([...stack.functions.keys()]).toEqual(FUNCTIONS.map((f) => f.id));
    expect(stack.routes.map(routeKey)).toEqual(ROUTES.map(routeKey));
  });

  it('builds one function per route-table function, plus the seed loader', () => {
    const expected = [...FUNCTIONS.map((f) => f.description), SEED_FUNCTION.description];
    expect(ourFunctions.map(([, fn]) => fn.Properties['Description']).sort()).toEqual(expected.sort());
  });

  it('runs every function on nodejs22.x on arm64 with X-Ray tracing and JSON logging', () => {
    expect(ourFunctions.length).toBeGreaterThan(0);
    for (const [, fn] of ourFunctions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
      });
    }
  });

  it('sizes each function as the route table says', () => {
    for (const id of stack.functions.keys()) {
      const spec = functionSpec(id);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: spec.description,
        MemorySize: spec.memorySize,
        Timeout: spec.timeoutSeconds,
      });
    }
  });

  it('serves exactly the routes of ROUTES', () => {
    // ANY answers 405 on each route path; OPTIONS answers Allow and the web form's CORS preflights; HEAD is
    // served by the GET route where a path has no HEAD route.
    const headByGet = ROUTES.filter((r) => r.method === 'GET' && !ROUTES.some((h) => h.method === 'HEAD' && h.path === r.path));
    const derived = new Set(headByGet.map((r) => `HEAD ${r.path}`));
    const served = [...methods.keys()].filter((k) => !k.startsWith('ANY ') && !k.startsWith('OPTIONS ') && !derived.has(k));
    expect(served.sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  const deployedRoutes = stack.routes.map((r) => [routeKey(r), r] as const);

  it.each(deployedRoutes)('serves %s with its method, function and API key requirement', (key, route) => {
    expect(methods.get(key)).toMatchObject({ HttpMethod: route.method, ApiKeyRequired: requiresApiKey(route.auth) });
    expect(JSON.stringify(methods.get(key)!['Integration'])).toContain(logicalId(stack.functions.get(route.function)!));
  });

  it('lets the lookup function read KnownHashes but not write it', () => {
    const actions = actionsOf(statementsOfRole(template, roleOf('lookup')));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem']));
    expect(actions.filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
  });

  it.each([
    ['KNOWN_HASHES_TABLE', 'knownHashes'],
    ['SCANS_TABLE', 'scans'],
    ['UPLOAD_BUCKET', 'uploads'],
  ] as const)('sets %s in the environment of exactly the functions with %s permissions', (variable, kind) => {
    for (const [id, fn] of stack.functions) {
      const resource = template.toJSON()['Resources'][logicalId(fn)] as { Properties: { Environment?: { Variables?: object } } };
      const variables = Object.keys(resource.Properties.Environment?.Variables ?? {});
      expect(variables.includes(variable), id).toBe(functionSpec(id).permissions[kind] !== undefined);
    }
  });

  it('gives the meta function no access to any table', () => {
    expect(actionsOf(statementsOfRole(template, roleOf('meta'))).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
  });

  it('lets the seed function write KnownHashes', () => {
    const actions = actionsOf(statementsOfRole(template, logicalId(stack.seed.loader.executionRole)));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchWriteItem']));
  });

  it('grants wildcard resources only for X-Ray and the export builder’s dynamodb:ListStreams, which have no resource-level permissions', () => {
    const wildcard = resourcesOfType(template, 'AWS::IAM::Policy')
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((s) => JSON.stringify(s.Resource) === '"*"' || (Array.isArray(s.Resource) && s.Resource.includes('*')));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const statement of wildcard) expect(actionsOf([statement as never]).every((a) => a.startsWith('xray:') || a === 'dynamodb:ListStreams')).toBe(true);
  });

  it('has the seed custom resource with the seed hash', () => {
    template.hasResourceProperties('Custom::KnownHashesSeed', { SeedSha256: stack.seed.seedSha256 });
    expect(stack.seed.seedSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('retains the KnownHashes table by default', () => {
    expect(template.toJSON()['Resources'][logicalId(stack.knownHashes.table)]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('outputs the API URL, the API key id, the table and bucket names and the failed-scans queue', () => {
    template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
    template.hasOutput('ApiKeyId', { Value: { Ref: logicalId(stack.api.apiKey) } });
    template.hasOutput('KnownHashesTableName', { Value: { Ref: logicalId(stack.knownHashes.table) } });
    template.hasOutput('ScansTableName', { Value: { Ref: logicalId(stack.scans.table) } });
    template.hasOutput('UploadBucketName', { Value: { Ref: logicalId(stack.uploads.bucket) } });
    template.hasOutput('FailedScansQueueUrl', { Value: { Ref: logicalId(stack.failedScans.queue) } });
    template.hasOutput('AnswerBucketName', { Value: { Ref: logicalId(stack.answers.bucket) } });
    template.hasOutput('ExportBucketName', { Value: { Ref: logicalId(stack.exports.bucket) } });
    expect(Object.keys(template.toJSON()['Outputs'] as object).sort()).toEqual([
      'AnswerBucketName',
      'ApiKeyId',
      'ApiUrl',
      'ExportBucketName',
      'FailedScansQueueUrl',
      'KnownHashesTableName',
      'ScansTableName',
      'UploadBucketName',
      'WebFormUrl',
    ]);
  });

  describe('least privilege per function', () => {
    const knownHashes = logicalId(stack.knownHashes.table);
    const scans = logicalId(stack.scans.table);
    const bucket = logicalId(stack.uploads.bucket);
    const statementsOf = (id: FunctionId) => statementsOfRole(template, roleOf(id));
    /** The actions a function's role allows on resources whose ARN is built from `resourceId`. */
    const actionsOn = (id: FunctionId, resourceId: string) =>
      actionsOf(statementsOf(id).filter((s) => JSON.stringify(s.Resource).includes(`"${resourceId}"`))).sort();
    const s3Actions = (id: FunctionId) => actionsOf(statementsOf(id)).filter((a) => a.startsWith('s3:'));
    const uploadObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${UPLOAD_KEY_PREFIX}*`]] };

    it('lets scan-object read and delete uploaded objects, under uploads/ only', () => {
      const s3 = statementsOf('scan-object').filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObject'], Resource: uploadObjects }]);
    });

    it('does not let scan-object put objects', () => {
      expect(s3Actions('scan-object')).not.toContain('s3:PutObject');
    });

    it('lets scan-object read KnownHashes and write it, to remember a container found bad, but never scan it', () => {
      const actions = actionsOn('scan-object', knownHashes);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']));
      expect(actions).not.toContain('dynamodb:Scan');
    });

    it('lets scan-object read and write Scans rows', () => {
      expect(actionsOn('scan-object', scans)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    });

    it('lets create-upload put objects under uploads/ only, which presigning needs', () => {
      const s3 = statementsOf('create-upload').filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([{ Effect: 'Allow', Action: 's3:PutObject', Resource: uploadObjects }]);
    });

    it('lets create-upload write Scans rows without reading them', () => {
      expect(actionsOn('create-upload', scans)).toEqual(['dynamodb:PutItem']);
    });

    it('gives create-upload no access to KnownHashes', () => {
      expect(actionsOn('create-upload', knownHashes)).toEqual([]);
    });

    it('lets upload-status only read Scans rows', () => {
      expect(actionsOn('upload-status', scans)).toEqual(['dynamodb:GetItem']);
      expect(actionsOn('upload-status', knownHashes)).toEqual([]);
      // Only the answers bucket: a verdict too large for a function result is stored there.
      expect(s3Actions('upload-status').sort()).toEqual(actionsOn('upload-status', logicalId(stack.answers.bucket)));
    });

    it.each(['lookup', 'meta', 'scan-inline'] as const)('gives %s no access to Scans or the upload bucket', (id) => {
      expect(actionsOn(id, scans)).toEqual([]);
      expect(actionsOn(id, bucket)).toEqual([]);
      // Only the answers bucket, for answers too large for a function result.
      expect(s3Actions(id).sort()).toEqual(actionsOn(id, logicalId(stack.answers.bucket)));
    });

    it('lets only scan-object send to the failed-scans queue', () => {
      const senders = [...stack.functions.keys()].filter((id) => actionsOn(id, logicalId(stack.failedScans.queue)).length > 0);
      expect(senders).toEqual(['scan-object']);
    });
  });

  describe('upload scanning', () => {
    const scanObject = stack.functions.get('scan-object')!;
    const scanObjectResource = () =>
      template.toJSON()['Resources'][logicalId(scanObject)] as { Properties: { MemorySize: number; Timeout: number } };

    it('serves the upload routes with an API key', () => {
      expect(methods.get('POST /v1/uploads')).toMatchObject({ ApiKeyRequired: true });
      expect(methods.get('GET /v1/uploads/{uploadId}')).toMatchObject({ ApiKeyRequired: true });
    });

    it('runs scan-object when an object is created under uploads/, not from any route', () => {
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: { Ref: logicalId(stack.uploads.bucket) },
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: UPLOAD_KEY_PREFIX }] } },
              LambdaFunctionArn: { 'Fn::GetAtt': [logicalId(scanObject), 'Arn'] },
            },
          ],
        },
      });
      expect([...methods.values()].some((m) => JSON.stringify(m['Integration']).includes(logicalId(scanObject)))).toBe(false);
    });

    it('gives scan-object 3,008 MB by default, the most every account accepts, and 15 minutes for files of several GB', () => {
      const { MemorySize, Timeout } = scanObjectResource().Properties;
      expect(MemorySize).toBe(3008);
      expect(Timeout).toBe(900);
    });

    it('retries failed scans twice and then sends the event to the failed-scans queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(scanObject) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: Match.anyValue(),
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.failedScans.queue), 'Arn'] } } },
      });
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    });

    it('gives TTL to the Scans table on the attribute the scan store writes', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: SCANS_KEY, KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: SCANS_TTL_ATTRIBUTE, Enabled: true },
      });
    });

    it('reserves 10 concurrent executions for scan-object and 20 for scan-inline by default, and none for any other function', () => {
      const reserved = Object.fromEntries(
        [...stack.functions].map(([id, fn]) => [
          id,
          (template.toJSON()['Resources'][logicalId(fn)] as { Properties: Record<string, unknown> }).Properties['ReservedConcurrentExecutions'],
        ]),
      );
      expect(Object.fromEntries(Object.entries(reserved).filter(([, value]) => value !== undefined))).toEqual({
        'scan-object': 10,
        'scan-inline': 20,
      });
    });
  });

  describe('with props', () => {
    const custom = synthHashLookupStack({
      uploadAllowedOrigins: ['https://files.example.com'],
      scanObjectReservedConcurrency: 4,
      scanInlineReservedConcurrency: 7,
      scanObjectMemorySize: 4096,
    });
    const resourceOf = (id: FunctionId) =>
      custom.template.toJSON()['Resources'][logicalId(custom.stack.functions.get(id)!)] as { Properties: Record<string, unknown> };

    it('lets browsers upload from uploadAllowedOrigins', () => {
      custom.template.hasResourceProperties('AWS::S3::Bucket', {
        // The web form's own origin follows the ones given.
        CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: Match.arrayWith(['https://files.example.com']) })] },
      });
    });

    it('reserves scanObjectReservedConcurrency for scan-object and scanInlineReservedConcurrency for scan-inline, and none for the lookups', () => {
      expect(resourceOf('scan-object').Properties['ReservedConcurrentExecutions']).toBe(4);
      expect(resourceOf('scan-inline').Properties['ReservedConcurrentExecutions']).toBe(7);
      expect(resourceOf('lookup').Properties['ReservedConcurrentExecutions']).toBeUndefined();
      expect(resourceOf('gateway-compat').Properties['ReservedConcurrentExecutions']).toBeUndefined();
    });

    it('gives scan-object scanObjectMemorySize and leaves the other functions as the route table sizes them', () => {
      expect(resourceOf('scan-object').Properties['MemorySize']).toBe(4096);
      expect(resourceOf('scan-inline').Properties['MemorySize']).toBe(functionSpec('scan-inline').memorySize);
    });
  });

  describe('with reservations turned off', () => {
    const unreserved = synthHashLookupStack({
      scanObjectReservedConcurrency: false,
      scanInlineReservedConcurrency: false,
      exportBuilderReservedConcurrency: false,
      webForm: false,
    });

    it('reserves concurrency for no function, for accounts that cannot spare it', () => {
      for (const [, fn] of resourcesOfType(unreserved.template, 'AWS::Lambda::Function')) {
        expect(fn.Properties['ReservedConcurrentExecutions']).toBeUndefined();
      }
    });
  });

  describe('props checked at synthesis', () => {
    it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s as scanObjectReservedConcurrency with one message', (value) => {
      expect(() => synthHashLookupStack({ scanObjectReservedConcurrency: value })).toThrow(
        `HashLookupStack scanObjectReservedConcurrency: ${String(value)} is not a number of concurrent executions; give a positive integer such as 10, or false to reserve none.`,
      );
    });

    it.each([0, -3, 1.5])('refuses %s as scanInlineReservedConcurrency', (value) => {
      expect(() => synthHashLookupStack({ scanInlineReservedConcurrency: value })).toThrow(
        /^HashLookupStack scanInlineReservedConcurrency: .* give a positive integer such as 10, or false to reserve none\.$/,
      );
    });

    it.each([127, 10241, 3008.5, 0])('refuses %s as scanObjectMemorySize', (value) => {
      expect(() => synthHashLookupStack({ scanObjectMemorySize: value })).toThrow(
        `HashLookupStack scanObjectMemorySize: ${value} is not a Lambda memory size; give a whole number of MB from 128 to 10240.`,
      );
    });

    it('still takes the former scanObjectConcurrency as scan-object\'s reservation', () => {
      const { stack, template } = synthHashLookupStack({ scanObjectConcurrency: 3, webForm: false });
      const resource = template.toJSON()['Resources'][logicalId(stack.functions.get('scan-object')!)] as { Properties: Record<string, unknown> };
      expect(resource.Properties['ReservedConcurrentExecutions']).toBe(3);
    });
  });
});
