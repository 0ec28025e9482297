import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeApiKeyAuthorizer } from '../../lambdas/handlers/api-key-authorizer.js';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/vtapi/v2/file/report';

function authorizerEvent(overrides: Partial<APIGatewayRequestAuthorizerEvent>): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    resource: '/vtapi/v2/file/report',
    path: '/vtapi/v2/file/report',
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
    ...overrides,
  };
}

const authorize = makeApiKeyAuthorizer();

describe('the API key authorizer', () => {
  it.each([
    ['the apikey query parameter of the VirusTotal route', { queryStringParameters: { apikey: 'vt-key', resource: 'x' } }],
    ['the apikey header of the MetaDefender route', { resource: '/v4/hash/{hash}', headers: { ApiKey: 'vt-key' } }],
    ['the x-api-key header of a lookup route', { resource: '/v1/hashes/{hash}', headers: { 'X-Api-Key': 'vt-key' } }],
    ['the apikey query parameter of an export, fetched with HEAD', { resource: '/v1/exports/{format}', httpMethod: 'HEAD', queryStringParameters: { apikey: 'vt-key' } }],
    [
      'the apikey query parameter of a full API Gateway event, with its multi-value copy',
      { queryStringParameters: { apikey: 'vt-key', resource: 'x' }, multiValueQueryStringParameters: { apikey: ['vt-key'], resource: ['x'] } },
    ],
  ])('hands API Gateway the key from %s', async (_name, overrides) => {
    const result = await authorize(authorizerEvent(overrides));
    expect(result.usageIdentifierKey).toBe('vt-key');
  });

  it('allows the whole stage, so a cached answer serves every route the key reaches, and never names the key', async () => {
    const result = await authorize(authorizerEvent({ queryStringParameters: { apikey: 'vt-key' } }));
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*' },
    ]);
    expect(JSON.stringify({ ...result, usageIdentifierKey: undefined })).not.toContain('vt-key');
  });

  it.each([
    ['no key at all', {}],
    ['a blank key', { queryStringParameters: { apikey: '  ' } }],
    ['the key in the wrong place for the route', { headers: { 'x-api-key': 'vt-key' } }],
    ['a route that takes no key', { resource: '/v1/health', headers: { 'x-api-key': 'vt-key' } }],
    [
      'the apikey query parameter given twice, as API Gateway passes it',
      { queryStringParameters: { apikey: 'other-key' }, multiValueQueryStringParameters: { apikey: ['vt-key', 'other-key'] } },
    ],
    [
      'the same key given twice in the query',
      { queryStringParameters: { apikey: 'vt-key' }, multiValueQueryStringParameters: { apikey: ['vt-key', 'vt-key'] } },
    ],
    [
      'the x-api-key header given twice',
      { resource: '/v1/hashes/{hash}', headers: { 'X-Api-Key': 'other-key' }, multiValueHeaders: { 'X-Api-Key': ['vt-key', 'other-key'] } },
    ],
  ])('refuses %s as Unauthorized (401)', async (_name, overrides) => {
    await expect(authorize(authorizerEvent(overrides))).rejects.toThrow('Unauthorized');
  });
});
