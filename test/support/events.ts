import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A fixture API Gateway REST proxy event (v1 payload) from `test/fixtures/`, with fields overridden. */
export function fixtureEvent(name: string, overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  const event = JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as APIGatewayProxyEvent;
  return { ...event, ...overrides };
}

/** The fixture POST event with another body and content type. */
export function lookupEvent(body: string, contentType = 'application/json', isBase64Encoded = false): APIGatewayProxyEvent {
  const event = fixtureEvent('api-gateway-post-lookup');
  return {
    ...event,
    body,
    isBase64Encoded,
    headers: { ...event.headers, 'Content-Type': contentType },
    multiValueHeaders: { ...event.multiValueHeaders, 'Content-Type': [contentType] },
  };
}

/** The fixture GET event for another hash. */
export function getHashEvent(hash: string): APIGatewayProxyEvent {
  return fixtureEvent('api-gateway-get-hash', { path: `/v1/hashes/${hash}`, pathParameters: { hash } });
}

/** A logger that keeps what it is given, so tests can check what was (and was not) logged. */
export function memoryLog() {
  const lines: { level: string; message: string; extra: unknown[] }[] = [];
  const at = (level: string) => (message: string, ...extra: unknown[]) => void lines.push({ level, message, extra });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}
