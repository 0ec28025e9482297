import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from './request.js';

/**
 * The base URL callers reach the service at, for links in answers: the scheme API Gateway reports in
 * `X-Forwarded-Proto` (plain HTTP locally), the `Host` the caller used, and the stage prefix, which is
 * the part of the request's full path in front of the route's path (`/prod` deployed, nothing locally).
 */
export function publicBaseUrl(event: APIGatewayProxyEvent): string {
  const scheme = header(event, 'x-forwarded-proto')?.split(',')[0]?.trim() || 'http';
  const host = header(event, 'host') ?? event.requestContext?.domainName ?? 'localhost';
  const fullPath = event.requestContext?.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : '';
  return `${scheme}://${host}${prefix.replace(/\/+$/, '')}`;
}
