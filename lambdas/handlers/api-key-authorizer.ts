import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ROUTES, type RouteAuth, type RouteSpec } from '../http/routes.js';

/** Where each kind of route auth carries its key. */
function keyOf(auth: RouteAuth, event: APIGatewayRequestAuthorizerEvent): string | undefined {
  const header = (name: string) =>
    Object.entries(event.headers ?? {}).find(([key, value]) => key.toLowerCase() === name && value !== undefined)?.[1];
  switch (auth) {
    case 'apiKey':
      return header('x-api-key');
    case 'queryApiKey':
      return event.queryStringParameters?.['apikey'] ?? undefined;
    case 'headerApiKey':
      return header('apikey');
    default:
      return undefined;
  }
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
 * for any API key. A request without a key is refused here (401).
 */
export function makeApiKeyAuthorizer(routes: readonly RouteSpec[] = ROUTES) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const route = routes.find((r) => r.method === event.httpMethod && r.path === event.resource);
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

export const handler = makeApiKeyAuthorizer();
