import { Match, Template } from 'aws-cdk-lib/assertions';
import { EndpointType } from 'aws-cdk-lib/aws-apigateway';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { BINARY_MEDIA_TYPES, ROUTES, requiresApiKey, routeKey, type FunctionId, type RouteSpec } from '../../lambdas/http/routes.js';
import { GATEWAY_ERRORS, HashcheckApi, type HashcheckApiProps } from '../../lib/hashcheck-api.js';
import { ERROR_CODES } from '../../lambdas/core/schemas.js';
import { inlineFunction, logicalId, methodsByRoute, onlyResource, resourcesOfType, testStack } from './synth.js';

/** GET routes whose path has no HEAD route of its own: the API serves HEAD there by the GET route. */
const HEAD_BY_GET = ROUTES.filter((r) => r.method === 'GET' && !ROUTES.some((h) => h.method === 'HEAD' && h.path === r.path));

/** What `Allow` lists for a path, as the local server does: its methods, HEAD where GET is, and OPTIONS. */
function allowOf(path: string): string[] {
  const methods = new Set<string>(ROUTES.filter((r) => r.path === path).map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'].filter((m) => methods.has(m));
}

function apiStack(props: Partial<HashcheckApiProps> = {}) {
  const stack = testStack();
  const routes = props.routes ?? ROUTES;
  const functions: Partial<Record<FunctionId, LambdaFunction>> = {};
  for (const id of new Set(routes.map((r) => r.function))) {
    functions[id] = inlineFunction(stack, `Fn-${id}`);
  }
  const api = new HashcheckApi(stack, 'Api', { functions, ...props });
  const template = Template.fromStack(stack);
  return { stack, api, functions, template, methods: methodsByRoute(template) };
}

/** A gateway or mock template with its `$context` values filled in, as API Gateway would. */
function render(template: string): unknown {
  return JSON.parse(
    template
      .replaceAll('$context.error.messageString', '"Forbidden"')
      .replaceAll('$context.requestId', 'req-1')
      .replaceAll('$context.httpMethod', 'DELETE')
      .replaceAll('$context.resourcePath', '/v1/health'),
  );
}

function gatewayResponse(template: Template, type: string) {
  const found = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').find(([, r]) => r.Properties['ResponseType'] === type);
  if (!found) throw new Error(`No gateway response ${type}`);
  const props = found[1].Properties as {
    StatusCode?: string;
    ResponseTemplates: Record<string, string>;
    ResponseParameters: Record<string, string>;
  };
  return { ...props, body: render(props.ResponseTemplates['application/json']!) as { error: Record<string, unknown> } };
}

describe('HashcheckApi', () => {
  describe('routes', () => {
    const { methods, functions } = apiStack();

    it.each(ROUTES.map((r) => [routeKey(r), r] as const))('serves %s through a Lambda proxy integration of its function', (key, route) => {
      const method = methods.get(key);
      expect(method).toBeDefined();
      expect(method!['Integration']).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(JSON.stringify(method!['Integration'])).toContain(logicalId(functions[route.function]!));
    });

    it.each(ROUTES.map((r) => [routeKey(r), r] as const))('requires an API key on %s exactly when its auth takes a key', (key, route) => {
      expect(methods.get(key)!['ApiKeyRequired']).toBe(requiresApiKey(route.auth));
    });

    it.each(ROUTES.map((r) => [routeKey(r), r] as const))('validates the request parameters of %s', (key, route) => {
      const method = methods.get(key)!;
      expect(method['RequestValidatorId']).toBeDefined();
      for (const [, name] of route.path.matchAll(/\{(\w+)\}/g)) {
        expect(method['RequestParameters']).toMatchObject({ [`method.request.path.${name}`]: true });
      }
    });

    it('serves nothing beyond the routes, HEAD on GET routes, and OPTIONS and one 405 catch-all per route path', () => {
      const paths = [...new Set(ROUTES.map((r) => r.path))];
      expect([...methods.keys()].sort()).toEqual(
        [
          ...ROUTES.map(routeKey),
          ...HEAD_BY_GET.map((r) => `HEAD ${r.path}`),
          ...paths.map((p) => `OPTIONS ${p}`),
          ...paths.map((p) => `ANY ${p}`),
        ].sort(),
      );
    });
  });

  describe('HEAD', () => {
    const { methods, functions } = apiStack();

    it('has GET routes without a HEAD route of their own to serve HEAD on', () => {
      expect(HEAD_BY_GET.length).toBeGreaterThan(0);
    });

    it.each(HEAD_BY_GET.map((r) => [r.path, r] as const))(
      'serves HEAD %s by the GET route: its function, key, authorizer, auth type, validator and parameters',
      (path, route) => {
        const get = methods.get(`GET ${path}`)!;
        const head = methods.get(`HEAD ${path}`);
        expect(head).toBeDefined();
        expect(head!['Integration']).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
        expect(JSON.stringify(head!['Integration'])).toContain(logicalId(functions[route.function]!));
        expect(head!['Integration']).toEqual(get['Integration']);
        for (const property of ['ApiKeyRequired', 'AuthorizationType', 'AuthorizerId', 'RequestValidatorId', 'RequestParameters']) {
          expect(head![property], property).toEqual(get[property]);
        }
        expect(head!['ApiKeyRequired']).toBe(requiresApiKey(route.auth));
      },
    );
  });

  describe('OPTIONS', () => {
    const { methods } = apiStack();
    const paths = [...new Set(ROUTES.map((r) => r.path))];

    it.each(paths)('answers OPTIONS %s 204 from a mock with Allow listing its methods, HEAD where GET, and OPTIONS', (path) => {
      const options = methods.get(`OPTIONS ${path}`)!;
      expect(options).toMatchObject({ AuthorizationType: 'NONE', ApiKeyRequired: false });
      expect(options['AuthorizerId']).toBeUndefined();
      const integration = options['Integration'] as { Type: string; IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, string> }[] };
      expect(integration.Type).toBe('MOCK');
      expect(integration.IntegrationResponses).toHaveLength(1);
      const [response] = integration.IntegrationResponses;
      expect(response!.StatusCode).toBe('204');
      expect(response!.ResponseParameters).toEqual({
        'method.response.header.Allow': `'${allowOf(path).join(', ')}'`,
        'method.response.header.X-Content-Type-Options': "'nosniff'",
        'method.response.header.Cache-Control': "'no-store'",
        'method.response.header.Strict-Transport-Security': "'max-age=31536000; includeSubDomains'",
      });
      expect(options['MethodResponses']).toEqual([
        { StatusCode: '204', ResponseParameters: Object.fromEntries(Object.keys(response!.ResponseParameters).map((k) => [k, true])) },
      ]);
    });
  });

  describe('wrong methods', () => {
    const { methods } = apiStack();
    const paths = [...new Set(ROUTES.map((r) => r.path))];

    it.each(paths)('answers other methods on %s with a 405 mock listing the allowed ones, HEAD and OPTIONS too', (path) => {
      const allowed = allowOf(path);
      const any = methods.get(`ANY ${path}`)!;
      const integration = any['Integration'] as {
        Type: string;
        IntegrationResponses: {
          StatusCode: string;
          ResponseTemplates: Record<string, string>;
          ResponseParameters: Record<string, string>;
        }[];
      };
      expect(integration.Type).toBe('MOCK');
      expect(any['ApiKeyRequired']).toBeFalsy();
      const [response] = integration.IntegrationResponses;
      expect(response!.StatusCode).toBe('405');
      expect(response!.ResponseParameters['method.response.header.Allow']).toBe(`'${allowed.join(', ')}'`);
      expect(render(response!.ResponseTemplates['application/json']!)).toEqual({
        error: {
          code: 'method_not_allowed',
          message: `DELETE is not allowed on /v1/health; use ${allowed.join(', ')}.`,
          requestId: 'req-1',
          allow: allowed,
        },
      });
      expect(any['MethodResponses']).toEqual([expect.objectContaining({ StatusCode: '405' })]);
    });
  });

  describe('gateway responses', () => {
    const { template } = apiStack();

    it.each(GATEWAY_ERRORS.map((e) => e.type.responseType))('answers %s in the service error shape', (type) => {
      const { body } = gatewayResponse(template, type);
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ code: expect.any(String), message: expect.any(String), requestId: 'req-1' });
      expect(ERROR_CODES).toContain(body.error['code']);
    });

    it('answers unknown routes (MISSING_AUTHENTICATION_TOKEN) with 404 not_found', () => {
      const response = gatewayResponse(template, 'MISSING_AUTHENTICATION_TOKEN');
      expect(response.StatusCode).toBe('404');
      expect(response.body.error['code']).toBe('not_found');
    });

    it('answers throttling with 429 rate_limited and a Retry-After', () => {
      const response = gatewayResponse(template, 'THROTTLED');
      expect(response.StatusCode).toBe('429');
      expect(response.body.error['code']).toBe('rate_limited');
      expect(response.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    });

    it('answers a missing or wrong API key with 401 unauthorized', () => {
      const response = gatewayResponse(template, 'INVALID_API_KEY');
      expect(response.StatusCode).toBe('401');
      expect(response.body.error['code']).toBe('unauthorized');
    });

    it('answers an exhausted quota with 429 rate_limited', () => {
      const response = gatewayResponse(template, 'QUOTA_EXCEEDED');
      expect(response.StatusCode).toBe('429');
      expect(response.body.error['code']).toBe('rate_limited');
    });

    it('answers bodies over the gateway limit with 413 payload_too_large', () => {
      const response = gatewayResponse(template, 'REQUEST_TOO_LARGE');
      expect(response.StatusCode).toBe('413');
      expect(response.body.error['code']).toBe('payload_too_large');
    });

    it('keeps the status of other 4xx and 5xx answers and never passes a 5xx message through', () => {
      expect(gatewayResponse(template, 'DEFAULT_4XX').StatusCode).toBeUndefined();
      const fallback5xx = gatewayResponse(template, 'DEFAULT_5XX');
      expect(fallback5xx.StatusCode).toBeUndefined();
      expect(fallback5xx.body.error['code']).toBe('internal');
      expect(fallback5xx.ResponseTemplates['application/json']).not.toContain('$context.error');
    });

    it('never pastes a caller-controlled value into a gateway response', () => {
      for (const [, response] of resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse')) {
        const body = (response.Properties['ResponseTemplates'] as Record<string, string>)['application/json']!;
        const variables = body.match(/\$[\w.]+/g) ?? [];
        expect(variables.every((v) => v === '$context.requestId' || v === '$context.error.messageString')).toBe(true);
      }
    });
  });

  describe('stage', () => {
    it('traces the stage with X-Ray', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    });

    it('throttles every method of the stage by default', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([
          Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
        ]),
      });
    });

    it('throttles the stage as stageThrottle says', () => {
      apiStack({ stageThrottle: { rateLimit: 7, burstLimit: 9 } }).template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 })]),
      });
    });

    it('logs gateway errors without request bodies', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false })]),
      });
    });

    it('writes one JSON access log line per request, with the API key id and never the key', () => {
      const { template, api } = apiStack();
      const stage = onlyResource(template, 'AWS::ApiGateway::Stage');
      const setting = stage.Properties['AccessLogSetting'] as { Format: string; DestinationArn: unknown };
      const fields = JSON.parse(setting.Format) as Record<string, string>;
      expect(fields).toMatchObject({ requestId: '$context.requestId', status: '$context.status', apiKeyId: '$context.identity.apiKeyId' });
      expect(setting.Format).not.toContain('$context.identity.apiKey"');
      expect(JSON.stringify(setting.DestinationArn)).toContain(logicalId(api.accessLogGroup));
    });

    it('keeps access logs one month by default', () => {
      const { template, api } = apiStack();
      template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
      expect(resourcesOfType(template, 'AWS::Logs::LogGroup').map(([id]) => id)).toContain(logicalId(api.accessLogGroup));
    });

    it('keeps access logs as long as logRetention says', () => {
      apiStack({ logRetention: RetentionDays.THREE_MONTHS }).template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    });
  });

  describe('API', () => {
    it('passes the binary media types of the route table', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: [...BINARY_MEDIA_TYPES] });
    });

    it('is regional by default', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    });

    it('takes the endpoint type it is given', () => {
      apiStack({ endpointType: EndpointType.EDGE }).template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        EndpointConfiguration: { Types: ['EDGE'] },
      });
    });

    it('validates declared parameters and bodies', () => {
      apiStack().template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
        ValidateRequestParameters: true,
        ValidateRequestBody: true,
      });
    });
  });

  describe('API keys', () => {
    it('puts an API key in a usage plan on the stage, throttled per key by default', () => {
      const { template, api } = apiStack();
      template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Throttle: { RateLimit: 50, BurstLimit: 100 },
        ApiStages: [Match.objectLike({ ApiId: { Ref: logicalId(api.restApi) } })],
      });
      template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyId: { Ref: logicalId(api.apiKey) }, KeyType: 'API_KEY' });
    });

    it('sets no quota by default', () => {
      const plan = onlyResource(apiStack().template, 'AWS::ApiGateway::UsagePlan');
      expect(plan.Properties['Quota']).toBeUndefined();
    });

    it('throttles and limits each key as keyThrottle and keyQuota say', () => {
      apiStack({ keyThrottle: { rateLimit: 5, burstLimit: 10 }, keyQuota: { limit: 1000 } }).template.hasResourceProperties(
        'AWS::ApiGateway::UsagePlan',
        { Throttle: { RateLimit: 5, BurstLimit: 10 }, Quota: Match.objectLike({ Limit: 1000 }) },
      );
    });
  });

  describe('web ACL', () => {
    it('associates no web ACL by default', () => {
      apiStack().template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    });

    it('associates the web ACL it is given with the stage', () => {
      const arn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/hashcheck/abc';
      apiStack({ webAclArn: arn }).template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: arn });
    });
  });

  describe('route table checks', () => {
    const lookup = ROUTES.find((r) => r.function === 'lookup')!;

    it('rejects a route whose function it was not given, naming the route', () => {
      const stack = testStack();
      expect(() => new HashcheckApi(stack, 'Api', { functions: {}, routes: [lookup] })).toThrow(
        `Route ${routeKey(lookup)} names function 'lookup'`,
      );
    });

    it('rejects a route listed twice', () => {
      const routes: RouteSpec[] = [lookup, { ...lookup }];
      expect(() => apiStack({ routes })).toThrow(`Route ${routeKey(lookup)} is listed twice`);
    });
  });
});
