import { Duration, Validations } from 'aws-cdk-lib';
import { CfnGatewayResponse, type IRestApi, type Method, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { CORS_ORIGIN_VARIABLE } from '../lambdas/http/handler.js';
import type { RouteSpec } from '../lambdas/http/routes.js';

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
 * - each route path answers `OPTIONS` preflights itself (a mock integration: no function runs), allowing
 *   the origin, the path's methods and {@link CORS_REQUEST_HEADERS};
 * - every answer API Gateway makes itself (a missing key, throttling, a gateway error) carries
 *   `Access-Control-Allow-Origin`, so the page can read it and say what happened, not just "network error";
 * - each function gets `HASHCHECK_CORS_ORIGIN`, from which the shared HTTP adapter adds the header to
 *   every answer it makes.
 * Any other origin gets no CORS header, so browsers keep its pages from reading the answers.
 * @returns the preflight methods
 */
export function allowBrowserOrigin(options: AllowBrowserOriginOptions): Method[] {
  const { restApi, routes, origin } = options;
  const methodsByPath = new Map<string, string[]>();
  for (const route of routes) methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);

  const preflights = [...methodsByPath].map(([path, methods]) => {
    const preflight = restApi.root.resourceForPath(path).addCorsPreflight({
      allowOrigins: [origin],
      allowMethods: [...methods, 'OPTIONS'],
      allowHeaders: [...CORS_REQUEST_HEADERS],
      maxAge: PREFLIGHT_MAX_AGE,
    });
    Validations.of(preflight).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason: `CORS preflight of ${path} (${methods.join(', ')}): a mock integration answering which origin and headers may call; browsers send no credentials with it, and it reaches no function or data.`,
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'A CORS preflight answered by a mock integration: browsers send no credentials with it, so there is nothing to authorize.',
      },
    );
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
