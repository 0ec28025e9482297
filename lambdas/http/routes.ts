/**
 * The one route table. The CDK stack builds its functions, API resources and IAM grants from it, and the
 * local server builds its router from it, so local and deployed routes cannot drift.
 */

/** What a function may touch. The CDK construct that grants an access also sets the matching variable. */
export interface Permissions {
  /** The KnownHashes table: `read` for lookups, `readWrite` for imports. */
  readonly knownHashes?: 'read' | 'readWrite';
  /** The Scans table of uploads. */
  readonly scans?: 'read' | 'write' | 'readWrite';
  /** The upload bucket: `put` to presign uploads, `readDelete` to scan and then remove an object. */
  readonly uploads?: 'put' | 'readDelete';
}

export type FunctionId = 'lookup' | 'meta';

/** One Lambda function: its entry module under the project root, its size and what it may touch. */
export interface FunctionSpec {
  readonly id: FunctionId;
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly permissions: Permissions;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Who may call a route once deployed. */
export type RouteAuth = 'none' | 'apiKey';

export interface RouteSpec {
  readonly method: HttpMethod;
  /** The API Gateway resource path, with `{name}` path parameters. */
  readonly path: string;
  readonly function: FunctionId;
  readonly auth: RouteAuth;
  /** The largest body the route reads; the local server refuses larger ones before reading them whole. */
  readonly maxBodyBytes: number;
}

/** 1 MiB. */
export const MIB = 1024 * 1024;

/** Bulk lookups: up to 10,000 hashes, each possibly followed by a file path (`sha256sum` output). */
export const MAX_BULK_HASHES = 10_000;

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    id: 'lookup',
    entry: 'lambdas/handlers/lookup.ts',
    description: 'Looks hashes up in the known-bad list, one or in bulk',
    memorySize: 512,
    timeoutSeconds: 10,
    permissions: { knownHashes: 'read' },
  },
  {
    id: 'meta',
    entry: 'lambdas/handlers/meta.ts',
    description: 'Health check and the OpenAPI document',
    memorySize: 256,
    timeoutSeconds: 5,
    permissions: {},
  },
];

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/v1/hashes/{hash}', function: 'lookup', auth: 'apiKey', maxBodyBytes: 0 },
  { method: 'POST', path: '/v1/hashes/lookup', function: 'lookup', auth: 'apiKey', maxBodyBytes: 6 * MIB },
  { method: 'GET', path: '/v1/health', function: 'meta', auth: 'none', maxBodyBytes: 0 },
  { method: 'GET', path: '/v1/openapi.json', function: 'meta', auth: 'none', maxBodyBytes: 0 },
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
