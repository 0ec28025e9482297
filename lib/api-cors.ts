import { Duration } from 'aws-cdk-lib';
import { CfnGatewayResponse, type IRestApi, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { CORS_ORIGIN_VARIABLE } from '../lambdas/http/handler.js';
import type { RouteSpec } from '../lambdas/http/routes.js';
import { OptionsMethod, allowedMethods } from './hashcheck-api.js';

/** Request headers a page may send: the body's type, and the API key the web form keeps per tab. */
export const CORS_REQUEST_HEADERS: readonly string[] = ['content-type', 'x-api-key'];

/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE = Duration.hours(1);

export interface AllowBrowserOriginOptions {
  /** The REST API serving `routes`. */
  readonly restApi: RestApi;
  /** The routes a page may call; each of their paths gets a preflight allowing its methods. */
  readonly routes: readonly RouteSpec[];
  /** The one origin allowed (`https://host`), the web form's. */
  readonly origin: string;
  /** The functions serving the routes: they send the CORS header on their own answers. */
  readonly functions: Iterable<LambdaFunction>;
}

/**
 * Lets exactly one browser origin call the API, as the web form does from its own CloudFront domain:
 * - the `OPTIONS` method of each route path (`OptionsMethod`, a mock integration: no function runs) answers
 *   preflights too, allowing the origin, the path's methods and {@link CORS_REQUEST_HEADERS}, besides `Allow`;
 * - every answer API Gateway makes itself (a missing key, throttling, a gateway error) carries
 *   `Access-Control-Allow-Origin`, so the page can read it and say what happened, not just "network error";
 * - each function gets `HASHCHECK_CORS_ORIGIN`, from which the shared HTTP adapter adds the header to
 *   every answer it makes.
 * Any other origin gets no CORS header, so browsers keep its pages from reading the answers.
 * @returns the preflight methods
 */
export function allowBrowserOrigin(options: AllowBrowserOriginOptions): OptionsMethod[] {
  const { restApi, routes, origin } = options;
  const methodsByPath = new Map<string, string[]>();
  for (const route of routes) methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);

  const preflights = [...methodsByPath].map(([path, methods]) => {
    const resource = restApi.root.resourceForPath(path);
    // A path has one OPTIONS method: the one answering Allow (HashcheckApi's) answers the preflight too.
    const preflight = OptionsMethod.of(resource) ?? new OptionsMethod(resource, allowedMethods(methods));
    preflight.addHeaders({
      'Access-Control-Allow-Origin': origin,
      Vary: 'Origin',
      'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(','),
      'Access-Control-Allow-Headers': CORS_REQUEST_HEADERS.join(','),
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE.toSeconds()),
    });
    return preflight;
  });

  for (const response of gatewayResponsesOf(restApi)) {
    const parameters = (response.responseParameters ?? {}) as Record<string, string>;
    response.responseParameters = {
      ...parameters,
      'gatewayresponse.header.Access-Control-Allow-Origin': `'${origin}'`,
      'gatewayresponse.header.Vary': "'Origin'",
    };
  }

  for (const fn of options.functions) fn.addEnvironment(CORS_ORIGIN_VARIABLE, origin);
  return preflights;
}

function gatewayResponsesOf(api: IRestApi): CfnGatewayResponse[] {
  return api.node.findAll().filter((c): c is CfnGatewayResponse => c instanceof CfnGatewayResponse);
}
