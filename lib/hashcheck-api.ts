import { Lazy, Size, Validations } from 'aws-cdk-lib';
import {
  AuthorizationType,
  AccessLogField,
  AccessLogFormat,
  ApiKey,
  ApiKeySourceType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  Method,
  MethodLoggingLevel,
  MockIntegration,
  PassthroughBehavior,
  RequestValidator,
  ResponseType,
  RestApi,
  UsagePlan,
  type Integration,
  type IResource,
  type MethodOptions,
  type QuotaSettings,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  BINARY_MEDIA_TYPES,
  MIN_COMPRESSION_BYTES,
  ROUTES,
  functionSpec,
  requiresApiKey,
  routeKey,
  type FunctionId,
  type HttpMethod,
  type RouteSpec,
} from '../lambdas/http/routes.js';
import { ApiKeyAuthorizers } from './api-key-authorizers.js';
import { UsageTiers, type UsageTiersProps } from './usage-tiers.js';
import { HashcheckFunction } from './hashcheck-function.js';

/** An error a gateway answers itself, in the body shape every error of the service has. */
interface GatewayError {
  readonly type: ResponseType;
  /** The status to answer with; unset keeps the gateway's own (the fallbacks cover several). */
  readonly status?: number;
  readonly code: string;
  /** A fixed message, or unset to pass the gateway's own message through, JSON-escaped. */
  readonly message?: string;
  readonly retryAfterSeconds?: number;
}

/**
 * What API Gateway answers by itself, mapped to the service's error codes (`lambdas/http/errors.ts`).
 * Gateway response templates are not run through VTL: only `$context` values are substituted, so each
 * type gets its own fixed template and caller-controlled values (the path) are never pasted into JSON.
 */
export const GATEWAY_ERRORS: readonly GatewayError[] = [
  { type: ResponseType.DEFAULT_4XX, code: 'invalid_request' },
  {
    type: ResponseType.DEFAULT_5XX,
    code: 'internal',
    message: 'The service failed to answer this request. It has been logged; try again later.',
  },
  // API Gateway answers an unknown path with MISSING_AUTHENTICATION_TOKEN (403), not with a 404.
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 404,
    code: 'not_found',
    message: 'No such route. The routes are listed at /v1/openapi.json.',
  },
  {
    type: ResponseType.RESOURCE_NOT_FOUND,
    status: 404,
    code: 'not_found',
    message: 'No such route. The routes are listed at /v1/openapi.json.',
  },
  {
    type: ResponseType.INVALID_API_KEY,
    status: 401,
    code: 'unauthorized',
    message: 'This route needs a valid API key in the x-api-key header.',
  },
  { type: ResponseType.UNAUTHORIZED, status: 401, code: 'unauthorized', message: 'This route needs valid credentials.' },
  { type: ResponseType.ACCESS_DENIED, status: 403, code: 'unauthorized', message: 'These credentials do not allow this request.' },
  { type: ResponseType.EXPIRED_TOKEN, status: 403, code: 'unauthorized' },
  { type: ResponseType.INVALID_SIGNATURE, status: 403, code: 'unauthorized' },
  {
    type: ResponseType.THROTTLED,
    status: 429,
    code: 'rate_limited',
    message: 'Too many requests. Slow down and retry after the Retry-After delay.',
    retryAfterSeconds: 1,
  },
  {
    type: ResponseType.QUOTA_EXCEEDED,
    status: 429,
    code: 'rate_limited',
    message: "This API key's request quota is used up for the current period.",
  },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    code: 'payload_too_large',
    message: 'The request is larger than API Gateway accepts (10 MB). Upload large files through /v1/uploads.',
  },
  { type: ResponseType.UNSUPPORTED_MEDIA_TYPE, status: 415, code: 'unsupported_media_type' },
  { type: ResponseType.BAD_REQUEST_PARAMETERS, status: 400, code: 'invalid_request' },
  { type: ResponseType.BAD_REQUEST_BODY, status: 400, code: 'invalid_request' },
  {
    type: ResponseType.INTEGRATION_TIMEOUT,
    status: 504,
    code: 'upstream_unavailable',
    message: 'The service did not answer in time; try again shortly.',
    retryAfterSeconds: 1,
  },
  {
    type: ResponseType.INTEGRATION_FAILURE,
    status: 504,
    code: 'upstream_unavailable',
    message: 'The service could not be reached; try again shortly.',
    retryAfterSeconds: 1,
  },
];

/** Headers on every answer, as the functions send them (`lambdas/http/handler.ts`). */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
};

const quoted = (value: string) => `'${value}'`;

/** The error body as a template; `messageJson` is a JSON string literal or `$context.error.messageString`. */
function errorTemplate(code: string, messageJson: string, extra = ''): string {
  return `{"error":{"code":"${code}","message":${messageJson},"requestId":"$context.requestId"${extra}}}`;
}

export interface HashcheckApiProps {
  /**
   * The function serving each function id of the route table. Every id the routes use must be present.
   * `api-key-authorizer`, when given, is the authorizer of the keyed routes; without it the API builds
   * its own from the route table's spec.
   */
  readonly functions: Readonly<Partial<Record<FunctionId, IFunction>>>;
  /**
   * The routes to serve.
   * @default ROUTES, the route table
   */
  readonly routes?: readonly RouteSpec[];
  /**
   * Media types passed to functions base64-encoded.
   * @default BINARY_MEDIA_TYPES of the route table
   */
  readonly binaryMediaTypes?: readonly string[];
  /**
   * The stage name, the first segment of every URL path.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Throttling of every method of the stage, all callers together.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly stageThrottle?: ThrottleSettings;
  /**
   * Throttling per API key, by the standard usage plan (not used with `usageTiers`).
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly keyThrottle?: ThrottleSettings;
  /**
   * Request quota per API key, by the standard usage plan (not used with `usageTiers`).
   * @default - no quota
   */
  readonly keyQuota?: QuotaSettings;
  /**
   * Usage plans by kind of caller (`UsageTiers`: gateway and script, each with a key, a throttle and a
   * daily quota) instead of the one standard plan; `apiKey` and `usagePlan` are then the gateway tier's.
   * @default - one standard plan with keyThrottle and keyQuota
   */
  readonly usageTiers?: Omit<UsageTiersProps, 'restApi'>;
  /**
   * How long access logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * The endpoint type. Mail gateways call from their own networks; a CloudFront in front is a choice
   * made elsewhere, not a default.
   * @default EndpointType.REGIONAL
   */
  readonly endpointType?: EndpointType;
  /**
   * A WAFv2 web ACL (regional) to associate with the stage.
   * @default - none
   */
  readonly webAclArn?: string;
}

/**
 * The public REST API, built from the route table so deployed and local routes cannot drift.
 *
 * Creates:
 * - a REST API (regional) with the binary media types, and one Lambda proxy integration per route;
 *   routes with `auth: 'apiKey'` require an API key;
 * - for keyed routes (`apiKey`, `queryApiKey`, `headerApiKey`), REQUEST authorizers that hand API Gateway
 *   the key from the `x-api-key` header, the `apikey` query parameter or the `apikey` header, and the
 *   API's key source set to `AUTHORIZER`, so usage plans meter and throttle keys wherever they travel
 *   (see `ApiKeyAuthorizers`); the authorizer function too, unless one is given;
 * - compression of answers of at least MIN_COMPRESSION_BYTES for clients that accept gzip or deflate;
 * - for each GET route without a HEAD route of its own, a HEAD method with the GET route's function, auth
 *   and validation (the function answers it as GET, without the body);
 * - on each path with routes, an `OPTIONS` method answering 204 with `Allow` (see `OptionsMethod`), and an
 *   `ANY` method answering 405 `method_not_allowed` with `Allow`, both from mock integrations (API Gateway
 *   prefers a specific method over `ANY`, so only wrong methods reach it);
 * - gateway responses that answer gateway-made errors in the service's error shape;
 * - a request validator (declared parameters and bodies) used by every route;
 * - a stage with X-Ray tracing, default throttling, error-level execution logs without bodies, and JSON
 *   access logs into a log group with a retention; the account-level CloudWatch role API Gateway needs
 *   for execution logs;
 * - an API key and a usage plan with per-key throttling; or, with `usageTiers`, a plan and a key for
 *   each kind of caller (see `UsageTiers`);
 * - optionally, a WAFv2 web ACL association.
 */
export class HashcheckApi extends Construct {
  /** The REST API. */
  public readonly restApi: RestApi;
  /** The access log group of the stage. */
  public readonly accessLogGroup: LogGroup;
  /**
   * The API key of the standard plan, or of the gateway tier with `usageTiers`. Read its value with
   * `aws apigateway get-api-key --include-value`.
   */
  public readonly apiKey: ApiKey;
  /** The standard usage plan, or the gateway tier's with `usageTiers`. */
  public readonly usagePlan: UsagePlan;
  /** The usage plans by kind of caller, when `usageTiers` is given. */
  public readonly usageTiers: UsageTiers | undefined;
  /** The request validator the routes use. */
  public readonly requestValidator: RequestValidator;
  /** The URL of the stage, ending in `/`. */
  public readonly url: string;
  /** The authorizers of the keyed routes, or `undefined` when no route takes a key. */
  public readonly keyAuthorizers: ApiKeyAuthorizers | undefined;

  constructor(scope: Construct, id: string, props: HashcheckApiProps) {
    super(scope, id);
    const routes = props.routes ?? ROUTES;
    checkRoutes(routes, props.functions);
    const stageThrottle = props.stageThrottle ?? { rateLimit: 100, burstLimit: 200 };
    const keyed = routes.some((r) => requiresApiKey(r.auth));

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.restApi = new RestApi(this, 'Api', {
      description: 'hashcheck: known-bad file-hash lookups',
      endpointConfiguration: { types: [props.endpointType ?? EndpointType.REGIONAL] },
      binaryMediaTypes: [...(props.binaryMediaTypes ?? BINARY_MEDIA_TYPES)],
      // rspamd and ClamAV clients cannot send x-api-key: keys reach the usage plans through the authorizers.
      ...(keyed && { apiKeySourceType: ApiKeySourceType.AUTHORIZER }),
      // Exports and bulk answers are mostly hex; the local server compresses from the same threshold.
      minCompressionSize: Size.bytes(MIN_COMPRESSION_BYTES),
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stageName ?? 'prod',
        tracingEnabled: true,
        throttlingRateLimit: stageThrottle.rateLimit,
        throttlingBurstLimit: stageThrottle.burstLimit,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Data traces would log request bodies, and a body here can be the file being checked.
        dataTraceEnabled: false,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });
    // The stack exports the URL under a name of its own; the automatic output would repeat it.
    this.restApi.node.tryRemoveChild('Endpoint');
    this.url = this.restApi.url;

    this.requestValidator = this.restApi.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    this.keyAuthorizers = keyed
      ? new ApiKeyAuthorizers(this, 'KeyAuthorizers', {
          handler:
            props.functions['api-key-authorizer'] ??
            new HashcheckFunction(this, 'KeyAuthorizerFunction', { spec: functionSpec('api-key-authorizer'), logRetention: props.logRetention }),
        })
      : undefined;
    this.addRoutes(routes, props.functions);
    this.addGatewayResponses();

    if (props.usageTiers) {
      this.usageTiers = new UsageTiers(this, 'UsageTiers', { ...props.usageTiers, restApi: this.restApi });
      this.apiKey = this.usageTiers.tiers.gateway.apiKey;
      this.usagePlan = this.usageTiers.tiers.gateway.plan;
    } else {
      this.usageTiers = undefined;
      this.apiKey = new ApiKey(this, 'ApiKey', { description: 'hashcheck API key of the standard usage plan' });
      this.usagePlan = new UsagePlan(this, 'UsagePlan', {
        description: 'hashcheck standard plan: per-key throttling',
        throttle: props.keyThrottle ?? { rateLimit: 50, burstLimit: 100 },
        quota: props.keyQuota,
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
      this.usagePlan.addApiKey(this.apiKey);
    }

    if (props.webAclArn) {
      new CfnWebACLAssociation(this, 'WebAcl', { resourceArn: this.restApi.deploymentStage.stageArn, webAclArn: props.webAclArn });
    } else {
      Validations.of(this.restApi.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF web ACL by default: callers are throttled per stage and per API key, and the common WAF rule sets block the large bodies this API exists to take (bulk lists, inline files). Pass webAclArn to associate one.',
      });
    }
    Validations.of(this.restApi.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "The account-level role API Gateway uses to write execution logs for every API in the region; AWS maintains this policy for exactly that purpose, and a narrower one would break other APIs' logging.",
    });
  }

  private addRoutes(routes: readonly RouteSpec[], functions: HashcheckApiProps['functions']): void {
    const byResource = new Map<IResource, RouteSpec[]>();
    for (const route of routes) {
      const resource = this.restApi.root.resourceForPath(route.path);
      const integration = new LambdaIntegration(functions[route.function]!, { allowTestInvoke: false });
      this.addRouteMethod(resource, route.method, route, integration);
      // HEAD is GET without the body: where the path has no HEAD route of its own, the GET route's function
      // answers it, behind the same key, authorizer and validation (the function leaves the body out).
      if (route.method === 'GET' && !routes.some((r) => r.method === 'HEAD' && r.path === route.path)) {
        this.addRouteMethod(resource, 'HEAD', route, integration);
      }
      byResource.set(resource, [...(byResource.get(resource) ?? []), route]);
    }
    for (const [resource, resourceRoutes] of byResource) {
      const allow = allowedMethods(resourceRoutes.map((r) => r.method));
      this.addMethodNotAllowed(resource, allow);
      new OptionsMethod(resource, allow);
    }
  }

  /** `httpMethod` on a route's resource, served by the route's function with the route's auth and checks. */
  private addRouteMethod(resource: IResource, httpMethod: HttpMethod, route: RouteSpec, integration: Integration): void {
    const method = resource.addMethod(httpMethod, integration, this.routeMethodOptions(route));
    const served = httpMethod === route.method ? routeKey(route) : `${httpMethod} ${route.path} (${routeKey(route)} without the body)`;
    Validations.of(method).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason: requiresApiKey(route.auth)
          ? `${served} requires an API key bound to a usage plan: callers are mail gateways and scripts, identified and throttled per key as the design specifies.`
          : route.auth === 'admin'
            ? `${served} changes the known-bad list and is authorized by IAM (SigV4): only principals granted execute-api:Invoke on it may call.`
            : `${served} is public by design (health check, API description); it reads no data.`,
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'The service has no user pool: machine callers use API keys (and, for admin routes, IAM), not Cognito.',
      },
    );
  }

  /** Who may call a route and what is checked before its function runs, for each method serving it. */
  private routeMethodOptions(route: RouteSpec): MethodOptions {
    return {
      apiKeyRequired: requiresApiKey(route.auth),
      // The key source is the authorizer, so every keyed route has one, wherever its key travels.
      ...(requiresApiKey(route.auth) && { authorizer: this.keyAuthorizers!.authorizerFor(route.auth) }),
      // Only IAM principals allowed to invoke the admin routes may change the list.
      ...(route.auth === 'admin' && { authorizationType: AuthorizationType.IAM }),
      requestValidator: this.requestValidator,
      ...requestParameters(route.path),
    };
  }

  /** `ANY` on a path answers 405 for every method the path does not serve; it reaches no backend. */
  private addMethodNotAllowed(resource: IResource, allow: readonly string[]): void {
    const allowHeader = allow.join(', ');
    const headers: Record<string, string> = { Allow: allowHeader, ...BASE_HEADERS };
    const message = `$context.httpMethod is not allowed on $context.resourcePath; use ${allowHeader}.`;
    const body = errorTemplate('method_not_allowed', JSON.stringify(message), `,"allow":${JSON.stringify(allow)}`);
    const integration = new MockIntegration({
      passthroughBehavior: PassthroughBehavior.WHEN_NO_MATCH,
      requestTemplates: { 'application/json': '{"statusCode": 405}' },
      integrationResponses: [
        {
          statusCode: '405',
          responseParameters: Object.fromEntries(
            Object.entries(headers).map(([name, value]) => [`method.response.header.${name}`, quoted(value)]),
          ),
          responseTemplates: { 'application/json': body },
        },
      ],
    });
    const method = resource.addMethod('ANY', integration, {
      methodResponses: [
        {
          statusCode: '405',
          responseParameters: Object.fromEntries(Object.keys(headers).map((name) => [`method.response.header.${name}`, true])),
        },
      ],
    });
    Validations.of(method).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason: 'Answers 405 method_not_allowed from a mock integration; it reaches no function and no data.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Answers 405 method_not_allowed from a mock integration; there is nothing to authorize.',
      },
    );
  }

  private addGatewayResponses(): void {
    for (const error of GATEWAY_ERRORS) {
      const headers: Record<string, string> = { ...BASE_HEADERS };
      if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
      const messageJson = error.message === undefined ? '$context.error.messageString' : JSON.stringify(error.message);
      this.restApi.addGatewayResponse(error.type.responseType, {
        type: error.type,
        ...(error.status === undefined ? {} : { statusCode: String(error.status) }),
        responseHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, quoted(value)])),
        templates: { 'application/json': errorTemplate(error.code, messageJson) },
      });
    }
  }
}

/** Every method a path can answer, in the order `Allow` lists them (the local server's order). */
const METHOD_ORDER: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'];

/** The methods a path answers, given its routes' methods: HEAD wherever GET is, and OPTIONS everywhere. */
export function allowedMethods(routeMethods: Iterable<string>): string[] {
  const methods = new Set(routeMethods);
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return METHOD_ORDER.filter((m) => methods.has(m));
}

/**
 * `OPTIONS` on a route path: 204 with `Allow` (the path's methods) and the security headers every answer
 * carries, from a mock integration, without auth (it reaches no function and no data). More headers can be
 * added until the app is synthesized (`addHeaders`): the web form's CORS preflight is this same method
 * with the CORS headers added, since a path has one OPTIONS method.
 */
export class OptionsMethod extends Method {
  /** The OPTIONS method of a resource, when it is one of these. */
  public static of(resource: IResource): OptionsMethod | undefined {
    const child = resource.node.tryFindChild('OPTIONS');
    return child instanceof OptionsMethod ? child : undefined;
  }

  private readonly headers: Record<string, string>;

  /** @param allow the methods the path answers, as `Allow` lists them (see {@link allowedMethods}) */
  constructor(resource: IResource, allow: readonly string[]) {
    const headers: Record<string, string> = { Allow: allow.join(', '), ...BASE_HEADERS };
    // Rendered at synthesis, so headers added after construction are in both the answer and its declaration.
    const answered = Lazy.any({
      produce: () => Object.fromEntries(Object.entries(headers).map(([name, value]) => [`method.response.header.${name}`, quoted(value)])),
    }) as unknown as Record<string, string>;
    const declared = Lazy.any({
      produce: () => Object.fromEntries(Object.keys(headers).map((name) => [`method.response.header.${name}`, true])),
    }) as unknown as Record<string, boolean>;
    super(resource, 'OPTIONS', {
      resource,
      httpMethod: 'OPTIONS',
      integration: new MockIntegration({
        passthroughBehavior: PassthroughBehavior.WHEN_NO_MATCH,
        requestTemplates: { 'application/json': '{"statusCode": 204}' },
        integrationResponses: [{ statusCode: '204', responseParameters: answered }],
      }),
      options: {
        authorizationType: AuthorizationType.NONE,
        apiKeyRequired: false,
        methodResponses: [{ statusCode: '204', responseParameters: declared }],
      },
    });
    this.headers = headers;
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'OPTIONS answers 204 with the methods of the path (and, for the web form origin, the CORS preflight headers) from a mock integration; browsers send no credentials with a preflight, and it reaches no function or data.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'OPTIONS is answered by a mock integration that reaches no function or data, and browsers send no credentials with a preflight: there is nothing to authorize.',
      },
    );
  }

  /** Adds headers to the answer, values as sent (`'` quoting is added here); an existing header is replaced. */
  public addHeaders(headers: Readonly<Record<string, string>>): void {
    Object.assign(this.headers, headers);
  }
}

/** Path parameters declared required, so the validator checks them before a function runs. */
function requestParameters(path: string): { requestParameters?: Record<string, boolean> } {
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return {};
  return { requestParameters: Object.fromEntries(names.map((name) => [`method.request.path.${name}`, true])) };
}

/** Rejects, at synth time, a route table the API cannot serve, naming the offending route. */
function checkRoutes(routes: readonly RouteSpec[], functions: HashcheckApiProps['functions']): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = routeKey(route);
    if (seen.has(key)) throw new Error(`Route ${key} is listed twice in the route table.`);
    seen.add(key);
    if (!functions[route.function]) {
      throw new Error(`Route ${key} names function '${route.function}', which was not given to HashcheckApi.`);
    }
  }
}

/** One JSON object per request. Never bodies, never the API key itself (its id identifies the caller). */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      time: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      apiKeyId: AccessLogField.contextIdentityApiKeyId(),
      method: AccessLogField.contextHttpMethod(),
      resource: AccessLogField.contextResourcePath(),
      path: AccessLogField.contextPath(),
      protocol: AccessLogField.contextProtocol(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      errorType: AccessLogField.contextErrorResponseType(),
      errorMessage: AccessLogField.contextErrorMessage(),
      xrayTraceId: AccessLogField.contextXrayTraceId(),
    }),
  );
}
