import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lambdas/core/errors.js';
import { makeApiKeyAuthorizer } from '../../lambdas/handlers/api-key-authorizer.js';
import { makeMetaHandler } from '../../lambdas/handlers/meta.js';
import { makeHttpHandler } from '../../lambdas/http/handler.js';
import { fixtureEvent, memoryLog } from '../support/events.js';

/** An API Gateway event for `method` on a resource, as the deployed API sends it to the resource's function. */
function gatewayEvent(method: string, resource: string, path = resource) {
  const event = fixtureEvent('api-gateway-get-hash', { httpMethod: method, resource, path, pathParameters: null });
  return { ...event, requestContext: { ...event.requestContext, httpMethod: method, resourcePath: resource } };
}

describe('HEAD on a route path without a HEAD route, as API Gateway sends it', () => {
  const handler = makeMetaHandler({ log: memoryLog() });

  it.each(['/v1/health', '/v1/openapi.json'])('answers HEAD %s with the status and headers of GET and an empty body', async (resource) => {
    const get = await handler(gatewayEvent('GET', resource));
    const head = await handler(gatewayEvent('HEAD', resource));
    expect(get.statusCode).toBe(200);
    expect(get.body.length).toBeGreaterThan(0);
    expect(head.statusCode).toBe(get.statusCode);
    expect(head.headers).toEqual(get.headers);
    expect(head.body).toBe('');
  });

  it('answers a HEAD the GET route refuses with the same error status and headers, and no body', async () => {
    const log = memoryLog();
    const missing = makeHttpHandler(
      {
        'GET /v1/uploads/{uploadId}': async () => {
          throw new NotFoundError('No upload 0000.');
        },
      },
      { log },
    );
    const get = await missing(gatewayEvent('GET', '/v1/uploads/{uploadId}', '/v1/uploads/0000'));
    const head = await missing(gatewayEvent('HEAD', '/v1/uploads/{uploadId}', '/v1/uploads/0000'));
    expect(get.statusCode).toBe(404);
    expect(JSON.parse(get.body).error.code).toBe('not_found');
    expect(head.statusCode).toBe(404);
    expect(head.headers).toEqual(get.headers);
    expect(head.body).toBe('');
  });

  it('answers HEAD by the GET route only where the resource has no HEAD route of its own', async () => {
    const own = makeHttpHandler(
      {
        'GET /v1/health': async () => ({ statusCode: 200, text: 'ok' }),
        'GET /v1/exports/{format}': async () => ({ statusCode: 200, text: 'get' }),
        'HEAD /v1/exports/{format}': async () => ({ statusCode: 200, text: 'head' }),
      },
      { log: memoryLog() },
    );
    expect(await own(gatewayEvent('HEAD', '/v1/health'))).toMatchObject({ statusCode: 200, body: '' });
    expect((await own(gatewayEvent('HEAD', '/v1/exports/{format}', '/v1/exports/sha256.txt'))).body).toBe('head');
  });

  it('answers HEAD on a resource with no GET route 404, without a body', async () => {
    const head = await makeMetaHandler({ log: memoryLog() })(gatewayEvent('HEAD', '/v1/hashes/lookup'));
    expect(head.statusCode).toBe(404);
    expect(head.body).toBe('');
  });
});

describe('the API key authorizer on HEAD', () => {
  const authorize = makeApiKeyAuthorizer();
  const event = (overrides: Partial<APIGatewayRequestAuthorizerEvent>): APIGatewayRequestAuthorizerEvent => ({
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/HEAD/v1/hashes/x',
    resource: '/v1/hashes/{hash}',
    path: '/v1/hashes/x',
    httpMethod: 'HEAD',
    headers: {},
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
    ...overrides,
  });

  it.each([
    ['the x-api-key header of HEAD /v1/hashes/{hash}', { headers: { 'X-Api-Key': 'head-key' } }],
    ['the apikey header of HEAD /v4/hash/{hash}', { resource: '/v4/hash/{hash}', headers: { apikey: 'head-key' } }],
    ['the apikey query parameter of HEAD /vtapi/v2/file/report', { resource: '/vtapi/v2/file/report', queryStringParameters: { apikey: 'head-key' } }],
  ])('hands API Gateway the key of the GET route from %s', async (_name, overrides) => {
    expect((await authorize(event(overrides))).usageIdentifierKey).toBe('head-key');
  });
});
