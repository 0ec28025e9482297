import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, ROUTES, functionSpec, routeKey, type FunctionId, type FunctionSpec } from '../../lambdas/http/routes.js';
import { HashTable } from '../../lib/hash-table.js';
import { SEED_FUNCTION } from '../../lib/known-hashes-seed.js';
import { bindPermissions } from '../../lib/permissions.js';
import {
  actionsOf,
  inlineFunction,
  logicalId,
  methodsByRoute,
  resourcesOfType,
  statementsOfRole,
  synthHashLookupStack,
  testStack,
} from './synth.js';

const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

describe('HashLookupStack', () => {
  const { stack, template } = synthHashLookupStack();
  const methods = methodsByRoute(template);
  const ourFunctions = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties['Handler'] === 'index.handler');
  const roleOf = (id: FunctionId) => logicalId(stack.functions.get(id)!.executionRole);

  it('deploys the lookup service: its routes and functions', () => {
    expect(stack.routes.map(routeKey)).toEqual(
      expect.arrayContaining(['GET /v1/hashes/{hash}', 'POST /v1/hashes/lookup', 'GET /v1/health', 'GET /v1/openapi.json']),
    );
    expect([...stack.functions.keys()]).toEqual(expect.arrayContaining(['lookup', 'meta']));
  });

  it('builds one function per deployed route-table function, plus the seed loader', () => {
    const expected = [...FUNCTIONS.filter((f) => stack.functions.has(f.id)).map((f) => f.description), SEED_FUNCTION.description];
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

  it('serves exactly the routes of ROUTES whose functions it deploys', () => {
    const served = [...methods.keys()].filter((k) => !k.startsWith('ANY '));
    expect(served.sort()).toEqual(ROUTES.filter((r) => stack.functions.has(r.function)).map(routeKey).sort());
  });

  const deployedRoutes = stack.routes.map((r) => [routeKey(r), r] as const);

  it.each(deployedRoutes)('serves %s with its method, function and API key requirement', (key, route) => {
    expect(methods.get(key)).toMatchObject({ HttpMethod: route.method, ApiKeyRequired: route.auth === 'apiKey' });
    expect(JSON.stringify(methods.get(key)!['Integration'])).toContain(logicalId(stack.functions.get(route.function)!));
  });

  it('lets the lookup function read KnownHashes but not write it', () => {
    const actions = actionsOf(statementsOfRole(template, roleOf('lookup')));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem']));
    expect(actions.filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
  });

  it('names KnownHashes in the environment of exactly the functions that use it', () => {
    for (const [id] of stack.functions) {
      const usesTable = functionSpec(id).permissions.knownHashes !== undefined;
      const fn = template.toJSON()['Resources'][logicalId(stack.functions.get(id)!)] as { Properties: { Environment?: unknown } };
      const variables = JSON.stringify(fn.Properties.Environment);
      expect(variables.includes('KNOWN_HASHES_TABLE')).toBe(usesTable);
    }
  });

  it('gives the meta function no access to any table', () => {
    expect(actionsOf(statementsOfRole(template, roleOf('meta'))).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
  });

  it('lets the seed function write KnownHashes', () => {
    const actions = actionsOf(statementsOfRole(template, logicalId(stack.seed.loader.executionRole)));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchWriteItem']));
  });

  it('grants wildcard resources only for X-Ray, which has no resource-level permissions', () => {
    const wildcard = resourcesOfType(template, 'AWS::IAM::Policy')
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((s) => JSON.stringify(s.Resource) === '"*"' || (Array.isArray(s.Resource) && s.Resource.includes('*')));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const statement of wildcard) expect(actionsOf([statement as never]).every((a) => a.startsWith('xray:'))).toBe(true);
  });

  it('has the seed custom resource with the seed hash', () => {
    template.hasResourceProperties('Custom::KnownHashesSeed', { SeedSha256: stack.seed.seedSha256 });
    expect(stack.seed.seedSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('retains the KnownHashes table by default', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('outputs the API URL, the API key id and the table name', () => {
    template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
    template.hasOutput('ApiKeyId', { Value: { Ref: logicalId(stack.api.apiKey) } });
    template.hasOutput('KnownHashesTableName', { Value: { Ref: logicalId(stack.knownHashes.table) } });
    expect(Object.keys(template.toJSON()['Outputs'] as object).sort()).toEqual(['ApiKeyId', 'ApiUrl', 'KnownHashesTableName']);
  });

  describe('functions needing resources the stack lacks', () => {
    const needsScans: FunctionSpec = { ...functionSpec('meta'), permissions: { scans: 'read' } };
    const routes = ROUTES.filter((r) => r.function === 'lookup' || r.function === 'meta');
    const partial = synthHashLookupStack({ functions: [functionSpec('lookup'), needsScans], routes });

    it('leaves them and their routes out', () => {
      expect(partial.stack.leftOut).toEqual(['meta']);
      expect(partial.stack.routes.every((r) => r.function === 'lookup')).toBe(true);
      expect([...methodsByRoute(partial.template).keys()].some((k) => k.includes('/v1/health'))).toBe(false);
    });

    it('warns at synthesis, naming the functions, what they need and the routes left out', () => {
      Annotations.fromStack(partial.stack).hasWarning('/HashLookup', Match.stringLikeRegexp('meta \\(needs scans\\).*GET /v1/health'));
    });

    it('does not warn when every function is deployed', () => {
      const full = synthHashLookupStack({ functions: [functionSpec('lookup'), functionSpec('meta')], routes });
      expect(full.stack.leftOut).toEqual([]);
      Annotations.fromStack(full.stack).hasNoWarning('*', Match.stringLikeRegexp('Not deployed'));
    });

    it('refuses to bind a permission whose resource the stack does not have', () => {
      const scope = testStack();
      const fn = inlineFunction(scope, 'Fn');
      expect(() => bindPermissions(fn, { scans: 'read' }, { knownHashes: new HashTable(scope, 'T') })).toThrow(/needs scans access/);
    });
  });
});
