import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { NotFoundError } from '../core/errors.js';
import { mapError } from './errors.js';
import type { RouteKey } from './routes.js';

/** What a route answers: a JSON value, or raw text with its own content type. */
export interface HttpResult {
  statusCode: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteContext {
  requestId: string;
}

export type RouteHandler = (event: APIGatewayProxyEvent, context: RouteContext) => Promise<HttpResult>;

/** The few logger methods handlers use; Powertools' Logger has them. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Headers on every answer: the API serves JSON to programs and must never be sniffed or cached. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** The variable naming the one browser origin allowed to read answers (the web form's); set by the stack. */
export const CORS_ORIGIN_VARIABLE = 'HASHCHECK_CORS_ORIGIN';

/**
 * CORS headers for the web form's origin, read once at cold start; none when the variable is unset (the
 * local server serves the form on the API's own origin). API Gateway answers the preflight itself.
 */
export function corsHeaders(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const origin = env[CORS_ORIGIN_VARIABLE]?.trim();
  if (!origin) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'x-request-id, retry-after', vary: 'Origin' };
}

const CORS_HEADERS = corsHeaders();

function toResult(result: HttpResult, requestId: string): APIGatewayProxyResult {
  const isJson = result.text === undefined;
  return {
    statusCode: result.statusCode,
    headers: {
      ...BASE_HEADERS,
      ...CORS_HEADERS,
      'content-type': isJson ? 'application/json; charset=utf-8' : (result.contentType ?? 'text/plain; charset=utf-8'),
      'x-request-id': requestId,
      ...result.headers,
    },
    body: isJson ? JSON.stringify(result.json) : result.text!,
  };
}

/**
 * The thin adapter between API Gateway REST proxy events (v1 payload) and route functions: dispatch on
 * method and resource, map every error through the one error table, log failures without bodies.
 */
export function makeHttpHandler(
  routes: Partial<Record<RouteKey, RouteHandler>>,
  deps: { log: Log },
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const requestId = event.requestContext?.requestId ?? 'local';
    const key = `${event.httpMethod} ${event.resource}` as RouteKey;
    try {
      const route = routes[key];
      if (!route) throw new NotFoundError(`No route ${event.httpMethod} ${event.path}.`);
      return toResult(await route(event, { requestId }), requestId);
    } catch (error) {
      const mapped = mapError(error, requestId);
      const fields = { route: key, requestId, status: mapped.statusCode, code: mapped.body.error.code };
      if (mapped.statusCode >= 500) deps.log.error('request failed', { ...fields, error });
      else deps.log.info('request rejected', fields);
      return toResult({ statusCode: mapped.statusCode, json: mapped.body, headers: mapped.headers }, requestId);
    }
  };
}
