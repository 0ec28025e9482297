import { MAX_BULK_HASHES, ROUTES, routeKey, type RouteKey } from './routes.js';

/** JSON Schema fragments shared by the operations below. */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });

const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'requestId'],
        properties: {
          code: {
            type: 'string',
            enum: [
              'invalid_hash',
              'invalid_request',
              'unsupported_media_type',
              'payload_too_large',
              'not_found',
              'method_not_allowed',
              'unauthorized',
              'rate_limited',
              'upstream_unavailable',
              'internal',
            ],
          },
          message: { type: 'string' },
          requestId: { type: 'string' },
        },
      },
    },
  },
  Match: {
    type: 'object',
    description: 'The known-bad record that matched, with every digest known for that file.',
    required: ['fileName', 'platform', 'version', 'kind', 'stage', 'campaign', 'confidence', 'sources'],
    properties: {
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      sha1: { type: 'string', pattern: '^[0-9a-f]{40}$' },
      md5: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      fileName: { type: 'string' },
      platform: { type: 'string' },
      version: { type: 'string' },
      kind: { type: 'string', enum: ['installer', 'library', 'executable', 'payload', 'stealer', 'test-file', 'other'] },
      stage: { type: 'string' },
      campaign: { type: 'string' },
      confidence: { type: 'string' },
      sources: { type: 'array', items: { type: 'string' } },
      addedAt: { type: 'string', format: 'date-time' },
    },
  },
  HashVerdict: {
    type: 'object',
    required: ['hash', 'algorithm', 'verdict', 'match'],
    properties: {
      hash: { type: 'string', description: 'The hash, trimmed and in lower case.' },
      algorithm: { type: 'string', enum: ['md5', 'sha1', 'sha256'] },
      verdict: {
        type: 'string',
        enum: ['malicious', 'unknown'],
        description: '`unknown` means "not on the list", never "clean".',
      },
      match: { oneOf: [ref('Match'), { type: 'null' }] },
    },
  },
  BulkResult: {
    oneOf: [
      { allOf: [{ type: 'object', required: ['input'], properties: { input: { type: 'string' } } }, ref('HashVerdict')] },
      {
        type: 'object',
        required: ['input', 'error'],
        properties: {
          input: { type: 'string' },
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { const: 'invalid_hash' }, message: { type: 'string' } },
          },
        },
      },
    ],
  },
  BulkAnswer: {
    type: 'object',
    required: ['results', 'summary'],
    properties: {
      results: { type: 'array', items: ref('BulkResult') },
      summary: {
        type: 'object',
        required: ['total', 'malicious', 'unknown', 'invalid'],
        properties: {
          total: { type: 'integer' },
          malicious: { type: 'integer' },
          unknown: { type: 'integer' },
          invalid: { type: 'integer' },
        },
      },
    },
  },
  Health: {
    type: 'object',
    required: ['status', 'service'],
    properties: { status: { const: 'ok' }, service: { const: 'hashcheck' } },
  },
};

/** What each route does, its inputs and its answers; the test keeps this and the route table in step. */
export const OPERATIONS: Readonly<Record<RouteKey, Record<string, unknown>>> = {
  'GET /v1/hashes/{hash}': {
    operationId: 'getHash',
    summary: 'Look up one MD5, SHA-1 or SHA-256 hash',
    parameters: [
      {
        name: 'hash',
        in: 'path',
        required: true,
        description: '32, 40 or 64 hex characters, any case; surrounding spaces are ignored.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': { description: 'The verdict', content: { 'application/json': { schema: ref('HashVerdict') } } },
      '400': errorResponse('`invalid_hash`: not 32, 40 or 64 hex characters'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read; never answered as `unknown`'),
    },
  },
  'POST /v1/hashes/lookup': {
    operationId: 'lookupHashes',
    summary: `Look up to ${MAX_BULK_HASHES} hashes at once`,
    description:
      'One result per input, in input order. Plain text takes one hash per line (CRLF accepted; blank lines and lines starting with `#` ignored).',
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['hashes'],
            properties: { hashes: { type: 'array', maxItems: MAX_BULK_HASHES, items: { type: 'string' } } },
          },
        },
        'text/plain': { schema: { type: 'string' } },
      },
    },
    responses: {
      '200': { description: 'The verdicts and their counts', content: { 'application/json': { schema: ref('BulkAnswer') } } },
      '400': errorResponse('`invalid_request`: the JSON is malformed or has the wrong shape'),
      '413': errorResponse(`\`payload_too_large\`: more than ${MAX_BULK_HASHES} hashes`),
      '415': errorResponse('`unsupported_media_type`: neither `application/json` nor `text/plain`'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read'),
    },
  },
  'GET /v1/health': {
    operationId: 'getHealth',
    summary: 'Liveness check',
    security: [],
    responses: { '200': { description: 'The service is up', content: { 'application/json': { schema: ref('Health') } } } },
  },
  'GET /v1/openapi.json': {
    operationId: 'getOpenApi',
    summary: 'This document',
    security: [],
    responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
  },
};

/** Builds the OpenAPI 3.1 document of the routes in the route table. */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const operation = OPERATIONS[routeKey(route)];
    if (!operation) throw new Error(`Route ${routeKey(route)} has no OpenAPI description`);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hashcheck',
      version: '1',
      description:
        'Known-bad file-hash lookups. A hash or file is `malicious` when it matches a known-bad record and `unknown` otherwise: absence from the list proves nothing.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ apiKey: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    },
  };
}
