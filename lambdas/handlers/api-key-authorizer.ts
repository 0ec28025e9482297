import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { API_KEY_LOCATIONS, ROUTES, requiresApiKey, type RouteAuth, type RouteSpec } from '../http/routes.js';

/**
 * Every value a request carries under a name: API Gateway keeps them all in the multi-value maps and only
 * the last in the single-value ones, which are read when the multi-value map has nothing under the name.
 */
function valuesOf(
  single: Record<string, string | undefined> | null | undefined,
  multi: Record<string, string[] | undefined> | null | undefined,
  name: string,
  anyCase: boolean,
): string[] {
  const matches = (key: string) => (anyCase ? key.toLowerCase() === name : key === name);
  const all = Object.entries(multi ?? {}).flatMap(([key, values]) => (matches(key) && values ? values : []));
  if (all.length > 0) return all;
  return Object.entries(single ?? {}).flatMap(([key, value]) => (matches(key) && value !== undefined ? [value] : []));
}

/**
 * The key of a request, from where the route's auth kind carries it. A key given twice (`?apikey=a&apikey=b`)
 * is no key: which one the request is metered under would depend on who reads it, so it is refused as a
 * missing key is. The VirusTotal function refuses the same request (400) should a cached answer for one of
 * the keys let it through.
 */
function keyOf(auth: RouteAuth, event: APIGatewayRequestAuthorizerEvent): string | undefined {
  if (!requiresApiKey(auth)) return undefined;
  const { in: where, name } = API_KEY_LOCATIONS[auth];
  const values =
    where === 'header'
      ? valuesOf(event.headers, event.multiValueHeaders, name, true)
      : valuesOf(event.queryStringParameters, event.multiValueQueryStringParameters, name, false);
  return values.length === 1 ? values[0] : undefined;
}

/** `arn:…:api-id/stage/*`: a cached answer then serves every route the same key reaches through this authorizer. */
function stageWildcard(methodArn: string): string {
  const [apiAndRegion, stage] = methodArn.split('/');
  return `${apiAndRegion}/${stage}/*`;
}

/**
 * The REQUEST authorizer of every keyed route. API Gateway reads API keys for usage plans from one place
 * only, and rspamd sends its key in a query parameter (VirusTotal) or an `apikey` header (MetaDefender),
 * not in `x-api-key`; so the API takes keys from this authorizer (`apiKeySource = AUTHORIZER`), which
 * hands API Gateway the key from wherever the route's auth kind carries it. It does not judge the key:
 * API Gateway checks it against the usage plans (the methods require a key) and throttles per key, as
 * for any API key. A request without a key, or with the key given twice, is refused here (401).
 */
export function makeApiKeyAuthorizer(routes: readonly RouteSpec[] = ROUTES) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const routeOf = (method: string) => routes.find((r) => r.method === method && r.path === event.resource);
    // HEAD on a path without a HEAD route is served by its GET route, so it takes the GET route's key.
    const route = routeOf(event.httpMethod) ?? (event.httpMethod === 'HEAD' ? routeOf('GET') : undefined);
    const key = route ? keyOf(route.auth, event)?.trim() : undefined;
    // API Gateway answers this exact message with 401 Unauthorized.
    if (!key) throw new Error('Unauthorized');
    return {
      // Never the key itself: the principal id shows up in logs.
      principalId: 'api-key',
      usageIdentifierKey: key,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcard(event.methodArn) }],
      },
    };
  };
}
