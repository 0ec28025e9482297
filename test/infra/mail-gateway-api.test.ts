import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { MIN_COMPRESSION_BYTES, ROUTES, functionSpec, requiresApiKey, routeKey, type FunctionId } from '../../lambdas/http/routes.js';
import { ApiKeyAuthorizers, KEY_IDENTITY_SOURCES } from '../../lib/api-key-authorizers.js';
import { HashcheckApi } from '../../lib/hashcheck-api.js';
import {
  actionsOf,
  inlineFunction,
  logicalId,
  methodsByRoute,
  onlyResource,
  resourcesOfType,
  statementsOfRole,
  synthHashLookupStack,
  testStack,
} from './synth.js';

function apiStack(options: { withAuthorizerFunction?: boolean } = {}) {
  const stack = testStack();
  const functions: Partial<Record<FunctionId, LambdaFunction>> = {};
  for (const id of new Set(ROUTES.map((r) => r.function))) functions[id] = inlineFunction(stack, `Fn-${id}`);
  if (options.withAuthorizerFunction) functions['api-key-authorizer'] = inlineFunction(stack, 'Fn-authorizer');
  const api = new HashcheckApi(stack, 'Api', { functions });
  const template = Template.fromStack(stack);
  return { stack, api, functions, template, methods: methodsByRoute(template) };
}

/** The identity source of the authorizer a method uses, or `undefined` when it has none. */
function identitySourceOf(template: Template, method: Record<string, unknown>): string | undefined {
  const ref = (method['AuthorizerId'] as { Ref?: string } | undefined)?.Ref;
  if (!ref) return undefined;
  const authorizer = template.toJSON()['Resources'][ref] as { Properties: { IdentitySource: string; Type: string } };
  expect(authorizer.Properties.Type).toBe('REQUEST');
  return authorizer.Properties.IdentitySource;
}

describe('HashcheckApi for mail gateways', () => {
  const { template, methods, api } = apiStack({ withAuthorizerFunction: true });

  it('reads API keys for usage plans from the authorizers, since rspamd cannot send x-api-key', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
  });

  it(`compresses answers from ${MIN_COMPRESSION_BYTES} bytes, the local server's threshold`, () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { MinimumCompressionSize: MIN_COMPRESSION_BYTES });
  });

  it('takes the VirusTotal route’s key from the apikey query parameter', () => {
    const method = methods.get('GET /vtapi/v2/file/report')!;
    expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', ApiKeyRequired: true });
    expect(identitySourceOf(template, method)).toBe('method.request.querystring.apikey');
  });

  it('takes the MetaDefender route’s key from the apikey header', () => {
    const method = methods.get('GET /v4/hash/{hash}')!;
    expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', ApiKeyRequired: true });
    expect(identitySourceOf(template, method)).toBe('method.request.header.apikey');
  });

  it.each(['GET /v1/exports/{format}', 'HEAD /v1/exports/{format}'])('takes the key of %s from ?apikey=, as map fetchers send it', (key) => {
    expect(identitySourceOf(template, methods.get(key)!)).toBe('method.request.querystring.apikey');
  });

  it('serves HEAD on exports, which rspamd checks maps with, and answers other methods 405 naming GET, HEAD and OPTIONS', () => {
    expect(methods.get('HEAD /v1/exports/{format}')).toMatchObject({ HttpMethod: 'HEAD' });
    const any = methods.get('ANY /v1/exports/{format}')!;
    const integration = any['Integration'] as { IntegrationResponses: { ResponseParameters: Record<string, string> }[] };
    expect(integration.IntegrationResponses[0]!.ResponseParameters['method.response.header.Allow']).toBe("'GET, HEAD, OPTIONS'");
  });

  it.each(['/vtapi/v2/file/report', '/v4/hash/{hash}', '/v1/hashes/{hash}', '/v1/uploads/{uploadId}'])(
    'takes the key of HEAD %s where its GET route takes it, through the same authorizer',
    (path) => {
      const head = methods.get(`HEAD ${path}`)!;
      expect(head).toMatchObject({ AuthorizationType: 'CUSTOM', ApiKeyRequired: true });
      expect(head['AuthorizerId']).toEqual(methods.get(`GET ${path}`)!['AuthorizerId']);
      expect(identitySourceOf(template, head)).toBe(identitySourceOf(template, methods.get(`GET ${path}`)!));
    },
  );

  it.each(ROUTES.filter((r) => requiresApiKey(r.auth)).map((r) => [routeKey(r), r] as const))(
    'gives the keyed route %s the authorizer of where its key travels',
    (key, route) => {
      expect(identitySourceOf(template, methods.get(key)!)).toBe(KEY_IDENTITY_SOURCES[route.auth as keyof typeof KEY_IDENTITY_SOURCES]);
    },
  );

  it.each(ROUTES.filter((r) => !requiresApiKey(r.auth)).map((r) => [routeKey(r), r] as const))('puts no key authorizer on %s', (key) => {
    expect(identitySourceOf(template, methods.get(key)!)).toBeUndefined();
  });

  it('creates one authorizer per place a key travels, all invoking the function it was given', () => {
    const authorizers = resourcesOfType(template, 'AWS::ApiGateway::Authorizer');
    expect(authorizers.map(([, a]) => a.Properties['IdentitySource']).sort()).toEqual(Object.values(KEY_IDENTITY_SOURCES).sort());
    expect([...api.keyAuthorizers!.authorizers.keys()].sort()).toEqual(['apiKey', 'headerApiKey', 'queryApiKey']);
    for (const [, authorizer] of authorizers) expect(JSON.stringify(authorizer.Properties['AuthorizerUri'])).toContain('Fnauthorizer');
  });

  it('caches an authorizer’s answer for five minutes by default', () => {
    for (const [, authorizer] of resourcesOfType(template, 'AWS::ApiGateway::Authorizer')) {
      expect(authorizer.Properties['AuthorizerResultTtlInSeconds']).toBe(300);
    }
  });

  it('builds its own authorizer function from the route table when none is given', () => {
    const { template: own } = apiStack();
    own.hasResourceProperties('AWS::Lambda::Function', { Description: functionSpec('api-key-authorizer').description });
    expect(resourcesOfType(own, 'AWS::ApiGateway::Authorizer')).toHaveLength(3);
  });

  it('keeps the x-api-key header as the key source when no route takes a key', () => {
    const stack = testStack();
    const health = ROUTES.filter((r) => r.auth === 'none');
    new HashcheckApi(stack, 'Api', { functions: { meta: inlineFunction(stack, 'Meta') }, routes: health });
    const restApi = onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::RestApi');
    expect(restApi.Properties['ApiKeySourceType']).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Authorizer', 0);
  });
});

describe('ApiKeyAuthorizers', () => {
  function authorizersStack(resultsCacheTtl?: Duration) {
    const stack = testStack();
    const api = new RestApi(stack, 'Api');
    const authorizers = new ApiKeyAuthorizers(stack, 'Keys', { handler: inlineFunction(stack, 'Handler'), resultsCacheTtl });
    api.root.addMethod('GET', undefined, { authorizer: authorizers.authorizerFor('queryApiKey') });
    return { authorizers, template: Template.fromStack(stack) };
  }

  it('creates an authorizer only for the kinds asked for', () => {
    const { template, authorizers } = authorizersStack();
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    expect(authorizers.authorizerFor('queryApiKey')).toBe(authorizers.authorizerFor('queryApiKey'));
  });

  it('caches answers five minutes by default', () => {
    authorizersStack().template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 300 });
  });

  it('caches answers as long as resultsCacheTtl says', () => {
    authorizersStack(Duration.seconds(30)).template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 30 });
  });

  it('lets API Gateway invoke the handler', () => {
    authorizersStack().template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
  });
});

describe('HashLookupStack for mail gateways', () => {
  const { stack, template } = synthHashLookupStack();
  const roleOf = (id: FunctionId) => logicalId(stack.functions.get(id)!.executionRole);

  it('deploys the gateway, export and authorizer functions of the route table', () => {
    for (const id of ['gateway-compat', 'export', 'api-key-authorizer'] as const) {
      template.hasResourceProperties('AWS::Lambda::Function', { Description: functionSpec(id).description });
      expect(stack.functions.has(id)).toBe(true);
    }
  });

  it('lets the export function read the exports the export builder writes, and not touch KnownHashes', () => {
    const actions = actionsOf(statementsOfRole(template, roleOf('export')));
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject']));
    expect(actions.filter((a) => a.startsWith('dynamodb:') || (a.startsWith('s3:') && a !== 's3:GetObject'))).toEqual([]);
  });

  it('lets the gateway function read KnownHashes without writing it', () => {
    const actions = actionsOf(statementsOfRole(template, roleOf('gateway-compat')));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem']));
    expect(actions.filter((a) => a.startsWith('dynamodb:') && /Put|Write|Update|Delete/.test(a))).toEqual([]);
  });

  it('gives the authorizer function no access to any table', () => {
    expect(actionsOf(statementsOfRole(template, roleOf('api-key-authorizer'))).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
  });

  it('invokes the route table’s authorizer function from every authorizer of the API', () => {
    const authorizers = resourcesOfType(template, 'AWS::ApiGateway::Authorizer');
    expect(authorizers).toHaveLength(3);
    for (const [, authorizer] of authorizers) {
      expect(JSON.stringify(authorizer.Properties['AuthorizerUri'])).toContain(logicalId(stack.functions.get('api-key-authorizer')!));
    }
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER', MinimumCompressionSize: Match.anyValue() });
  });
});
