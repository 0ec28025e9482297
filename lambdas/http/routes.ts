/**
 * The one route table. The CDK stack builds its functions, API resources and IAM grants from it, and the
 * local server builds its router from it, so local and deployed routes cannot drift.
 */

import {
  CREATE_UPLOAD_BODY_BYTES,
  INLINE_UPLOAD_BYTES,
  LARGE_TEXT_BODY_BYTES,
  RECORD_BODY_BYTES,
} from '../core/limits.js';

/** What a function may touch. The CDK construct that grants an access also sets the matching variable. */
export interface Permissions {
  /**
   * The KnownHashes table: `read` for lookups (items by key), `list` for exports (the whole table by a
   * scan, nothing by key), `readWrite` for imports.
   */
  readonly knownHashes?: 'read' | 'list' | 'readWrite';
  /** The Scans table of uploads. */
  readonly scans?: 'read' | 'write' | 'readWrite';
  /** The upload bucket: `put` to presign uploads, `readDelete` to scan and then remove an object. */
  readonly uploads?: 'put' | 'readDelete';
  /**
   * The answers bucket: `store` for functions whose answers can outgrow a function's result (6 MB), to
   * store such an answer and presign its GET.
   */
  readonly answers?: 'store';
  /** The exports bucket: `read` to answer exports from the manifest the export builder writes. */
  readonly exports?: 'read';
}

export type FunctionId =
  | 'lookup'
  | 'meta'
  | 'scan-inline'
  | 'create-upload'
  | 'upload-status'
  | 'scan-object'
  | 'admin'
  | 'gateway-compat'
  | 'export'
  | 'api-key-authorizer';

/**
 * What invokes a function: API Gateway for routes, the upload bucket's ObjectCreated events, or API
 * Gateway asking a Lambda authorizer for the API key of a request to a keyed route (deployed only; the
 * local server checks keys itself).
 */
export type FunctionTrigger = 'http' | 'upload-created' | 'api-authorizer';

/** One Lambda function: its entry module under the project root, its size and what it may touch. */
export interface FunctionSpec {
  readonly id: FunctionId;
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly permissions: Permissions;
  readonly trigger: FunctionTrigger;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/**
 * Who may call a route, and where the key travels:
 * - `none`: anyone;
 * - `apiKey`: an `x-api-key` header (deployed: API Gateway API keys and usage plans);
 * - `queryApiKey`: an `apikey` query parameter, as rspamd's VirusTotal client sends it (deployed: a Lambda
 *   authorizer with `apiKeySource = AUTHORIZER`); a missing or wrong key is 403, as VirusTotal answers;
 * - `headerApiKey`: an `apikey` header, as rspamd's MetaDefender client sends it; missing or wrong is 401;
 * - `admin`: deployed, IAM (SigV4); locally the key in `HASHCHECK_ADMIN_KEY` as `x-api-key`.
 * Locally every kind but `none` and `admin` is enforced only when `HASHCHECK_API_KEYS` is set.
 * Deployed, the keys of all three key kinds reach the usage plans through the same authorizer, and API
 * Gateway answers a missing or wrong key itself (401 with the gateway responses of `HashcheckApi`).
 */
export type RouteAuth = 'none' | 'apiKey' | 'queryApiKey' | 'headerApiKey' | 'admin';

/** The route auth kinds whose key belongs to a usage plan. */
export type KeyedAuth = Extract<RouteAuth, 'apiKey' | 'queryApiKey' | 'headerApiKey'>;

/** Where a key travels: a request header (matched in any case) or a query parameter, and its name. */
export interface ApiKeyLocation {
  readonly in: 'header' | 'query';
  readonly name: string;
  /** How answers name the place: `x-api-key header`, `apikey query parameter`. */
  readonly label: string;
}

/**
 * Where each kind of keyed route carries its key, once for every reader: the deployed authorizer
 * function, the API Gateway identity sources of the stack and the local server's key check.
 */
export const API_KEY_LOCATIONS: Readonly<Record<KeyedAuth, ApiKeyLocation>> = {
  apiKey: { in: 'header', name: 'x-api-key', label: 'x-api-key header' },
  queryApiKey: { in: 'query', name: 'apikey', label: 'apikey query parameter' },
  headerApiKey: { in: 'header', name: 'apikey', label: 'apikey header' },
};

/** Whether routes of this kind need an API key of a usage plan, wherever the key travels. */
export function requiresApiKey(auth: RouteAuth): auth is KeyedAuth {
  return Object.hasOwn(API_KEY_LOCATIONS, auth);
}

export interface RouteSpec {
  readonly method: HttpMethod;
  /** The API Gateway resource path, with `{name}` path parameters. */
  readonly path: string;
  readonly function: FunctionId;
  readonly auth: RouteAuth;
  /** The largest body the route reads; the local server refuses larger ones before reading them whole. */
  readonly maxBodyBytes: number;
  /** Appended to the 413 message: where a body that is too large should go instead. */
  readonly largeBodyHint?: string;
}

export {
  CREATE_UPLOAD_BODY_BYTES,
  INLINE_UPLOAD_BYTES,
  LARGE_TEXT_BODY_BYTES,
  MAX_BULK_HASHES,
  MAX_INLINE_FILES,
  MIB,
  RECORD_BODY_BYTES,
} from '../core/limits.js';

/** Appended to the 413 of `POST /v1/files`: where a file too large for it goes instead. */
export const INLINE_LARGE_BODY_HINT = ' Files over 4 MiB go through POST /v1/uploads, which presigns an upload of up to 5 GiB.';

/**
 * Answers of at least this many bytes are gzip-compressed for clients that accept it: deployed by API
 * Gateway (`minimumCompressionSize`), locally by the local server, the same way. Smaller answers are not
 * worth the CPU.
 */
export const MIN_COMPRESSION_BYTES = 1024;

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    id: 'admin',
    entry: 'lambdas/functions/admin.ts',
    description: 'Adds, updates and revokes known-bad records and imports feeds',
    memorySize: 1024,
    timeoutSeconds: 60,
    permissions: { knownHashes: 'readWrite' },
    trigger: 'http',
  },
  {
    id: 'lookup',
    entry: 'lambdas/functions/lookup.ts',
    description: 'Looks hashes up in the known-bad list, one or in bulk',
    memorySize: 512,
    timeoutSeconds: 10,
    permissions: { knownHashes: 'read', answers: 'store' },
    trigger: 'http',
  },
  {
    id: 'meta',
    entry: 'lambdas/functions/meta.ts',
    description: 'Health check and the OpenAPI document',
    memorySize: 256,
    timeoutSeconds: 5,
    permissions: {},
    trigger: 'http',
  },
  {
    id: 'scan-inline',
    entry: 'lambdas/functions/scan-inline.ts',
    description: 'Digests files sent in the request body and looks them up',
    memorySize: 1024,
    timeoutSeconds: 15,
    // Writes the containers it finds bad through a member back to the list, as derived records.
    permissions: { knownHashes: 'readWrite', answers: 'store' },
    trigger: 'http',
  },
  {
    id: 'create-upload',
    entry: 'lambdas/functions/create-upload.ts',
    description: 'Presigns an upload of a large file and records its scan as pending',
    memorySize: 256,
    timeoutSeconds: 5,
    permissions: { scans: 'write', uploads: 'put' },
    trigger: 'http',
  },
  {
    id: 'upload-status',
    entry: 'lambdas/functions/upload-status.ts',
    description: 'Reports the state and result of an upload scan',
    memorySize: 256,
    timeoutSeconds: 5,
    permissions: { scans: 'read', answers: 'store' },
    trigger: 'http',
  },
  {
    id: 'scan-object',
    entry: 'lambdas/functions/scan-object.ts',
    description: 'Streams an uploaded object through the digests into scratch, looks inside it, records the verdict, deletes the object',
    // Hashing is CPU-bound: 3,008 MB (about 1.7 vCPUs) gives the MD5 worker most of a second core and fits
    // accounts capped at 3,008 MB; the stack's scanObjectMemorySize changes it. 15 minutes covers 5 GiB.
    memorySize: 3008,
    timeoutSeconds: 900,
    // KnownHashes read and written: containers found bad through a member are remembered as derived records.
    permissions: { knownHashes: 'readWrite', scans: 'readWrite', uploads: 'readDelete' },
    trigger: 'upload-created',
  },
  {
    id: 'gateway-compat',
    entry: 'lambdas/functions/gateway-compat.ts',
    description: 'Answers VirusTotal v2 and MetaDefender hash reports for mail gateways',
    memorySize: 512,
    // rspamd gives up after 5 s; the lookup deadline (3 s) answers 503 well before.
    timeoutSeconds: 5,
    permissions: { knownHashes: 'read' },
    trigger: 'http',
  },
  {
    id: 'export',
    entry: 'lambdas/functions/export.ts',
    description: 'Exports the known-bad list as rspamd maps, ClamAV databases and IOC files',
    memorySize: 512,
    // Reads the manifest and at most one export of 4 MiB; the export builder (lib/export-builder.ts) writes them.
    timeoutSeconds: 10,
    permissions: { exports: 'read' },
    trigger: 'http',
  },
  {
    id: 'api-key-authorizer',
    entry: 'lambdas/functions/api-key-authorizer.ts',
    description: 'Hands API Gateway the API key of a request from where its route carries it, for usage plans',
    memorySize: 256,
    timeoutSeconds: 5,
    permissions: {},
    trigger: 'api-authorizer',
  },
];

export const ROUTES: readonly RouteSpec[] = [
  { method: 'PUT', path: '/v1/admin/hashes/{hash}', function: 'admin', auth: 'admin', maxBodyBytes: RECORD_BODY_BYTES },
  { method: 'DELETE', path: '/v1/admin/hashes/{hash}', function: 'admin', auth: 'admin', maxBodyBytes: RECORD_BODY_BYTES },
  { method: 'POST', path: '/v1/admin/imports', function: 'admin', auth: 'admin', maxBodyBytes: LARGE_TEXT_BODY_BYTES },
  { method: 'GET', path: '/v1/hashes/{hash}', function: 'lookup', auth: 'apiKey', maxBodyBytes: 0 },
  { method: 'POST', path: '/v1/hashes/lookup', function: 'lookup', auth: 'apiKey', maxBodyBytes: LARGE_TEXT_BODY_BYTES },
  {
    method: 'POST',
    path: '/v1/files',
    function: 'scan-inline',
    auth: 'apiKey',
    maxBodyBytes: INLINE_UPLOAD_BYTES,
    largeBodyHint: INLINE_LARGE_BODY_HINT,
  },
  { method: 'POST', path: '/v1/uploads', function: 'create-upload', auth: 'apiKey', maxBodyBytes: CREATE_UPLOAD_BODY_BYTES },
  { method: 'GET', path: '/v1/uploads/{uploadId}', function: 'upload-status', auth: 'apiKey', maxBodyBytes: 0 },
  { method: 'GET', path: '/v1/health', function: 'meta', auth: 'none', maxBodyBytes: 0 },
  { method: 'GET', path: '/v1/openapi.json', function: 'meta', auth: 'none', maxBodyBytes: 0 },
  // rspamd's virustotal scanner: `url = "https://HOST/vtapi/v2/file"`, key in `?apikey=`.
  { method: 'GET', path: '/vtapi/v2/file/report', function: 'gateway-compat', auth: 'queryApiKey', maxBodyBytes: 0 },
  // rspamd's metadefender scanner: `url = "https://HOST/v4/hash"`, key in an `apikey` header.
  { method: 'GET', path: '/v4/hash/{hash}', function: 'gateway-compat', auth: 'headerApiKey', maxBodyBytes: 0 },
  // rspamd maps and ClamAV updaters fetch by URL alone, so the key goes in `?apikey=`. rspamd checks a map
  // for changes with a conditional HEAD and fetches it with GET only when it changed.
  { method: 'GET', path: '/v1/exports/{format}', function: 'export', auth: 'queryApiKey', maxBodyBytes: 0 },
  { method: 'HEAD', path: '/v1/exports/{format}', function: 'export', auth: 'queryApiKey', maxBodyBytes: 0 },
];

/** The key handlers dispatch on: `METHOD /resource/{param}`, as API Gateway reports it. */
export type RouteKey = `${HttpMethod} ${string}`;

export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): RouteKey {
  return `${route.method} ${route.path}`;
}

export function functionSpec(id: FunctionId): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.id === id);
  if (!spec) throw new Error(`No function '${id}' in the route table`);
  return spec;
}

export interface MatchedRoute {
  route: RouteSpec;
  pathParameters: Record<string, string>;
}

/**
 * Finds the route for a request path, as API Gateway would: literal segments win over parameters
 * (`/v1/hashes/lookup` is not a hash). Returns the routes of the path whatever the method, so callers
 * can tell 404 from 405.
 */
export function matchPath(path: string): MatchedRoute[] {
  const segments = path.split('/').filter((s, i) => i > 0 || s !== '');
  const scored: { match: MatchedRoute; literals: number }[] = [];
  for (const route of ROUTES) {
    const parts = route.path.split('/').filter((s, i) => i > 0 || s !== '');
    if (parts.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    for (const [i, part] of parts.entries()) {
      const segment = segments[i]!;
      const param = /^\{(\w+)\}$/.exec(part);
      if (param) {
        const value = segment === '' ? undefined : safeDecode(segment);
        if (value === undefined) ok = false;
        else pathParameters[param[1]!] = value;
      } else if (part === segment) literals += 1;
      else ok = false;
      if (!ok) break;
    }
    if (ok) scored.push({ match: { route, pathParameters }, literals });
  }
  const best = Math.max(...scored.map((s) => s.literals));
  return scored.filter((s) => s.literals === best).map((s) => s.match);
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Media types API Gateway passes to functions base64-encoded (file uploads). */
export const BINARY_MEDIA_TYPES: readonly string[] = ['application/octet-stream', 'multipart/form-data', 'message/rfc822'];
