import * as z from 'zod/v4-mini';
import { EXPORT_FORMATS } from '../core/exports.js';
import { apiRegistry, importFormatSchema, recordKindSchema } from '../core/schemas.js';
import { LARGE_ANSWER_BYTES, LARGE_ANSWER_URL_SECONDS, MIB } from '../core/limits.js';
import { MAX_UPLOAD_BYTES, UPLOAD_URL_TTL_SECONDS } from '../core/uploads.js';
import { INLINE_UPLOAD_BYTES, MAX_BULK_HASHES, MAX_INLINE_FILES, ROUTES, routeKey, type RouteKey } from './routes.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });

/** The answer of a deployed route whose answer is too large for a function's result: follow `Location` with a GET. */
const largeAnswerResponse = {
  description:
    `Deployed only, for an answer too large to send directly (over ${LARGE_ANSWER_BYTES / MIB} MiB): the whole answer, as the 200 would carry it, is at \`Location\` (also in \`answer\`) for ${LARGE_ANSWER_URL_SECONDS / 60} minutes. ` +
    'HTTP clients follow it with a GET by themselves (fetch, browsers, the CLI; curl needs `-L`); the link needs no API key.',
  headers: { Location: { description: 'Where the whole answer is', schema: { type: 'string', format: 'uri' } } },
  content: { 'application/json': { schema: ref('LargeAnswer') } },
};

/** A parameter's schema, generated like the components. */
function parameterSchema(schema: z.ZodMiniType): Record<string, unknown> {
  const { $schema: _version, ...rest } = z.toJSONSchema(schema, { metadata: apiRegistry });
  return rest;
}

/** The request bodies among the components: documented as callers send them, before any normalising. */
const REQUEST_COMPONENTS = ['RecordInput', 'BulkLookupRequest', 'CreateUploadRequest', 'RevokeRequest'];

/**
 * The document's components, generated from the schemas every answer and request is checked with. Limits
 * a route answers with 413 rather than 400 are added here, since the schemas leave them to the route.
 */
function componentSchemas(): Record<string, Record<string, any>> {
  const generate = (io: 'input' | 'output') =>
    z.toJSONSchema(apiRegistry, { io, metadata: apiRegistry, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas;
  const answers = generate('output');
  const requests = generate('input');
  const components: Record<string, Record<string, any>> = {};
  for (const [name, schema] of Object.entries(answers)) {
    const { $schema: _version, $id: _uri, id: _name, ...rest } = (REQUEST_COMPONENTS.includes(name) ? requests[name]! : schema) as Record<string, any>;
    components[name] = rest;
  }
  components['BulkLookupRequest']!['properties'].hashes.maxItems = MAX_BULK_HASHES;
  components['CreateUploadRequest']!['properties'].size.maximum = MAX_UPLOAD_BYTES;
  return components;
}

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
      'One result per input, in input order. Plain text takes one entry per line: a bare hash, `sha256sum`/`sha1sum`/`md5sum` output (`<hash>  <path>`, `<hash> *<path>`), tagged output (`SHA256 (<path>) = <hash>`) or a hashdeep line (`<size>,<md5>,<sha256>,<path>`, both hashes answered); each result\'s `input` is the whole line (CRLF accepted; blank lines, lines starting with `#` and hashdeep `%%%%` headers ignored).',
    parameters: [
      {
        name: 'only',
        in: 'query',
        required: false,
        description:
          '`malicious`: leave the `unknown` results out; the malicious and invalid ones keep their input order, and the summary still counts every input. For checking large feeds, where nearly every hash is unknown.',
        schema: { type: 'string', enum: ['malicious'] },
      },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: ref('BulkLookupRequest'),
        },
        'text/plain': { schema: { type: 'string' } },
      },
    },
    responses: {
      '200': { description: 'The verdicts and their counts', content: { 'application/json': { schema: ref('BulkAnswer') } } },
      '303': largeAnswerResponse,
      '400': errorResponse('`invalid_request`: the JSON is malformed or has the wrong shape, the list holds no hash, or `only` is not `malicious`'),
      '413': errorResponse(`\`payload_too_large\`: more than ${MAX_BULK_HASHES} hashes`),
      '415': errorResponse('`unsupported_media_type`: neither `application/json` nor `text/plain`, or a charset other than UTF-8'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read'),
    },
  },
  'POST /v1/files': {
    operationId: 'scanFiles',
    summary: `Digest and judge files sent in the body (up to ${INLINE_UPLOAD_BYTES / 1024 / 1024} MiB in all)`,
    description: `The raw bytes as \`application/octet-stream\` (name in an optional \`X-File-Name\` header), or up to ${MAX_INLINE_FILES} file parts as \`multipart/form-data\`. Larger files go through \`POST /v1/uploads\`. A whole mail message as \`message/rfc822\` is answered with one verdict per attachment (decoded, attached messages opened), each with its \`mimePath\`; message text is not checked.`,
    requestBody: {
      required: true,
      content: {
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } } },
        'message/rfc822': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      '200': { description: 'One verdict per file, in order', content: { 'application/json': { schema: ref('Files') } } },
      '303': largeAnswerResponse,
      '400': errorResponse(
        '`invalid_request`: an empty body, no file part, a truncated or malformed multipart body, or a message that is not MIME, is cut off or cannot be decoded',
      ),
      '413': errorResponse('`payload_too_large`: over the inline limit; use `POST /v1/uploads`'),
      '415': errorResponse('`unsupported_media_type`: not `application/octet-stream`, `multipart/form-data` or `message/rfc822`'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read'),
    },
  },
  'POST /v1/uploads': {
    operationId: 'createUpload',
    summary: `Presign the upload of a large file (up to ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB) for scanning`,
    description: `The URLs are valid for ${UPLOAD_URL_TTL_SECONDS / 60} minutes. Once the file is stored it is scanned and deleted; poll \`GET /v1/uploads/{uploadId}\` for the verdict.`,
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: ref('CreateUploadRequest'),
        },
      },
    },
    responses: {
      '201': { description: 'Where to send the file', content: { 'application/json': { schema: ref('CreatedUpload') } } },
      '400': errorResponse('`invalid_request`: the JSON is malformed or has the wrong shape'),
      '413': errorResponse('`payload_too_large`: over 5 GiB'),
      '415': errorResponse('`unsupported_media_type`: not `application/json`'),
      '503': errorResponse('`upstream_unavailable`: the scan could not be recorded'),
    },
  },
  'GET /v1/uploads/{uploadId}': {
    operationId: 'getUpload',
    summary: 'The state of an upload scan, with the verdict once done',
    parameters: [{ name: 'uploadId', in: 'path', required: true, schema: { type: 'string' } }],
    responses: {
      '200': { description: 'pending, done or failed', content: { 'application/json': { schema: ref('UploadStatus') } } },
      '303': largeAnswerResponse,
      '404': errorResponse('`not_found`: no such upload, or its result has expired'),
      '503': errorResponse('`upstream_unavailable`: the scan could not be read'),
    },
  },
  'PUT /v1/admin/hashes/{hash}': {
    operationId: 'putRecord',
    summary: 'Add or update the known-bad record of a hash (admins only)',
    description:
      'The body is the record: `fileName`, `platform`, `version`, `kind`, `stage`, `campaign`, `confidence`, `sources`, and the other digests if known. A revoked record is reinstated. Deployed: IAM (SigV4); locally: the admin key in `x-api-key`.',
    security: [{ adminIam: [] }],
    parameters: [{ name: 'hash', in: 'path', required: true, schema: { type: 'string' } }],
    requestBody: { required: true, content: { 'application/json': { schema: ref('RecordInput') } } },
    responses: {
      '200': { description: 'Updated, or unchanged', content: { 'application/json': { schema: ref('AdminChange') } } },
      '201': { description: 'Added', content: { 'application/json': { schema: ref('AdminChange') } } },
      '400': errorResponse('`invalid_hash` or `invalid_request`: the hash or the record is not valid'),
      '401': errorResponse('`unauthorized`: no admin credentials'),
      '403': errorResponse('`unauthorized`: these credentials may not change the list'),
      '415': errorResponse('`unsupported_media_type`: not `application/json`'),
      '503': errorResponse('`upstream_unavailable`: the list could not be written'),
    },
  },
  'DELETE /v1/admin/hashes/{hash}': {
    operationId: 'revokeRecord',
    summary: 'Revoke a record: it is kept with who, when and why, and no longer matches (admins only)',
    security: [{ adminIam: [] }],
    parameters: [
      { name: 'hash', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'reason', in: 'query', required: false, description: 'Why, when there is no JSON body.', schema: { type: 'string' } },
    ],
    requestBody: {
      required: false,
      content: { 'application/json': { schema: ref('RevokeRequest') } },
    },
    responses: {
      '200': { description: 'Revoked, or already revoked', content: { 'application/json': { schema: ref('AdminChange') } } },
      '400': errorResponse('`invalid_hash` or `invalid_request`: no reason given'),
      '401': errorResponse('`unauthorized`: no admin credentials'),
      '403': errorResponse('`unauthorized`: these credentials may not change the list'),
      '404': errorResponse('`not_found`: no record for this hash'),
      '503': errorResponse('`upstream_unavailable`: the list could not be written'),
    },
  },
  'POST /v1/admin/imports': {
    operationId: 'importFeed',
    summary: 'Import a feed: our CSV or JSON Lines, a plain hash list, a STIX 2.1 bundle or a MISP event (admins only)',
    description:
      'The format is detected from the content; `format` overrides it. A plain list needs `campaign` and `source`. Every input is validated before anything is written; inputs that cannot become a whole record are rejected with their reason. Importing the same feed twice changes nothing, and revoked records stay revoked.',
    security: [{ adminIam: [] }],
    parameters: [
      { name: 'format', in: 'query', required: false, schema: parameterSchema(importFormatSchema) },
      { name: 'kind', in: 'query', required: false, schema: parameterSchema(recordKindSchema) },
      ...['campaign', 'source', 'platform', 'confidence'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ],
    requestBody: {
      required: true,
      content: Object.fromEntries(
        ['application/json', 'application/stix+json', 'application/x-ndjson', 'text/csv', 'text/plain'].map((t) => [t, { schema: { type: 'string' } }]),
      ),
    },
    responses: {
      '200': { description: 'The import report', content: { 'application/json': { schema: ref('ImportReport') } } },
      '400': errorResponse('`invalid_request`: an empty or unusable feed'),
      '401': errorResponse('`unauthorized`: no admin credentials'),
      '403': errorResponse('`unauthorized`: these credentials may not change the list'),
      '413': errorResponse('`payload_too_large`: over 4 MiB; split the feed'),
      '415': errorResponse('`unsupported_media_type`'),
      '503': errorResponse('`upstream_unavailable`: the list could not be written'),
    },
  },
  'GET /vtapi/v2/file/report': {
    operationId: 'virusTotalFileReport',
    summary: 'VirusTotal v2 compatible report for one hash, for rspamd and other VirusTotal clients',
    description:
      'Set rspamd\'s `virustotal` scanner `url` to `https://HOST/vtapi/v2/file`. A known-bad hash is 200 with `response_code: 1` and 10 positives; any other hash is 404, which rspamd takes as clean. When the list cannot be read the answer is 503, which rspamd reports as a failed check, never as clean.',
    security: [{ queryApiKey: [] }],
    parameters: [
      { name: 'apikey', in: 'query', required: true, description: 'An API key.', schema: { type: 'string' } },
      { name: 'resource', in: 'query', required: true, description: 'One MD5, SHA-1 or SHA-256.', schema: { type: 'string' } },
    ],
    responses: {
      '200': { description: 'Known-bad', content: { 'application/json': { schema: ref('VirusTotalReport') } } },
      '400': errorResponse('`invalid_hash` or `invalid_request`: no resource, several, or not a hash'),
      '401': errorResponse('`unauthorized`: deployed, no key or a key API Gateway does not know'),
      '403': errorResponse('`unauthorized`: locally, no key or a wrong one (VirusTotal answers 403)'),
      '404': errorResponse('`not_found`: not on the list (unknown, not clean)'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read; rspamd reports a failed check'),
    },
  },
  'GET /v4/hash/{hash}': {
    operationId: 'metaDefenderHashReport',
    summary: 'MetaDefender v4 compatible hash report, for rspamd\'s metadefender scanner',
    description: 'Set the scanner\'s `url` to `https://HOST/v4/hash`; it sends the key in an `apikey` header.',
    security: [{ headerApiKey: [] }],
    parameters: [{ name: 'hash', in: 'path', required: true, description: 'MD5, SHA-1 or SHA-256.', schema: { type: 'string' } }],
    responses: {
      '200': { description: 'Known-bad: infected', content: { 'application/json': { schema: ref('MetaDefenderReport') } } },
      '400': errorResponse('`invalid_hash`'),
      '401': errorResponse('`unauthorized`: no key or a wrong one'),
      '404': errorResponse('`not_found`: not on the list (unknown, not clean)'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read'),
    },
  },
  'GET /v1/exports/{format}': {
    operationId: 'getExport',
    summary: 'The list as an rspamd map, a ClamAV database or an IOC file',
    description:
      'Formats: `sha256.txt`, `sha1.txt`, `md5.txt` (rspamd maps: `#` comments, then one digest per line), `clamav.hsb` (SHA-256, and SHA-1 for records without one), `clamav.hdb` (MD5), `iocs.csv`, `iocs.json`. Answers carry `ETag` and `Last-Modified`; a request with `If-None-Match` or `If-Modified-Since` that shows the copy is current is answered 304. Compressed with gzip for clients that accept it. The key goes in `?apikey=`, since map fetchers send no headers of their own.',
    security: [{ queryApiKey: [] }],
    parameters: [
      { name: 'format', in: 'path', required: true, schema: { type: 'string', enum: [...EXPORT_FORMATS] } },
      { name: 'apikey', in: 'query', required: false, description: 'An API key, when keys are required.', schema: { type: 'string' } },
    ],
    responses: {
      '200': {
        description: 'The export',
        content: {
          'text/plain': { schema: { type: 'string' } },
          'text/csv': { schema: { type: 'string' } },
          'application/json': { schema: ref('IocExport') },
        },
      },
      '304': { description: 'Not modified since the copy named by `If-None-Match` or `If-Modified-Since`' },
      '401': errorResponse('`unauthorized`: deployed, no key or a key API Gateway does not know'),
      '403': errorResponse('`unauthorized`: locally, a missing or wrong key'),
      '404': errorResponse('`not_found`: no such format; `formats` lists them'),
      '503': errorResponse('`upstream_unavailable`: the list could not be read; no partial list is served'),
    },
  },
  'HEAD /v1/exports/{format}': {
    operationId: 'headExport',
    summary: 'The headers of an export, for fetchers that check for changes first (rspamd maps)',
    security: [{ queryApiKey: [] }],
    parameters: [
      { name: 'format', in: 'path', required: true, schema: { type: 'string', enum: [...EXPORT_FORMATS] } },
      { name: 'apikey', in: 'query', required: false, schema: { type: 'string' } },
    ],
    responses: {
      '200': { description: 'The export changed (or no validator was sent): fetch it with GET' },
      '304': { description: 'Not modified' },
      '401': { description: 'Deployed: no key or an unknown one' },
      '403': { description: 'Locally: a missing or wrong key' },
      '404': { description: 'No such format' },
      '503': { description: 'The list could not be read' },
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
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        queryApiKey: { type: 'apiKey', in: 'query', name: 'apikey', description: 'An API key in the query, as VirusTotal clients and map fetchers send it.' },
        headerApiKey: { type: 'apiKey', in: 'header', name: 'apikey', description: 'An API key in an apikey header, as MetaDefender clients send it.' },
        adminIam: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Deployed: AWS SigV4 signed by an IAM principal allowed to invoke the admin routes. Locally: the HASHCHECK_ADMIN_KEY in x-api-key.',
        },
      },
    },
  };
}
