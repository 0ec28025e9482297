import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ForbiddenError, InvalidRequestError, UnauthorizedError } from '../lambdas/core/errors.js';
import { API_KEY_LOCATIONS, type RouteAuth } from '../lambdas/http/routes.js';
import { ALLOWED_HOSTS_VARIABLE, parseHost } from './allowed-hosts.js';

/** The keys the local server accepts, read from the environment at start. */
export interface LocalKeys {
  /** Lookup keys (`HASHCHECK_API_KEYS`, comma-separated); empty means the server is open. */
  readonly apiKeys: readonly string[];
  /** The admin key (`HASHCHECK_ADMIN_KEY`); without it admin routes are refused. */
  readonly adminKey?: string;
}

export function readLocalKeys(env: Readonly<Record<string, string | undefined>> = process.env): LocalKeys {
  const apiKeys = (env['HASHCHECK_API_KEYS'] ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const adminKey = env['HASHCHECK_ADMIN_KEY']?.trim() || undefined;
  return { apiKeys, ...(adminKey ? { adminKey } : {}) };
}

/**
 * The further names the local server answers to (`HASHCHECK_ALLOWED_HOSTS`, comma-separated `host` or
 * `host:port`), besides the loopback names and the address it listens on. Throws naming the variable
 * when an entry is not a host.
 */
export function readAllowedHosts(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const entries = (env[ALLOWED_HOSTS_VARIABLE] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  for (const entry of entries) {
    if (!parseHost(entry)) {
      throw new Error(
        `${ALLOWED_HOSTS_VARIABLE}: '${entry}' is not a host or host:port (no scheme, no path; IPv6 addresses in brackets)`,
      );
    }
  }
  return entries;
}

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a request's key the way the deployed API does for the route's kind of auth, so clients that
 * work locally with keys set work deployed. Throws `UnauthorizedError` (401) or `ForbiddenError` (403),
 * and `InvalidRequestError` (400) for an `apikey` query parameter given twice.
 */
export function authorize(
  auth: RouteAuth,
  req: IncomingMessage,
  url: { readonly searchParams: URLSearchParams },
  keys: LocalKeys,
): void {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  switch (auth) {
    case 'none':
      return;
    case 'admin': {
      const given = header('x-api-key');
      if (!keys.adminKey) throw new ForbiddenError('Admin routes are disabled: set HASHCHECK_ADMIN_KEY to enable them.');
      if (!given) throw new UnauthorizedError('This admin route needs the admin key in the x-api-key header.');
      if (!sameKey(given, keys.adminKey)) throw new ForbiddenError('This key may not change the list.');
      return;
    }
    default: {
      if (keys.apiKeys.length === 0) return;
      const location = API_KEY_LOCATIONS[auth];
      // Two keys in the query have no one meaning (deployed, the key authorizer refuses them too).
      const queryKeys = location.in === 'query' ? url.searchParams.getAll(location.name) : [];
      if (queryKeys.length > 1) throw new InvalidRequestError(`The ${location.label} is given ${queryKeys.length} times: send it once.`);
      const given = location.in === 'query' ? url.searchParams.get(location.name) : header(location.name);
      const accepted = given !== undefined && given !== null && keys.apiKeys.some((k) => sameKey(given, k));
      if (accepted) return;
      if (auth === 'queryApiKey') throw new ForbiddenError(`A valid ${location.label} is required.`);
      const where = location.label;
      if (!given) throw new UnauthorizedError(`This route needs an API key in the ${where}.`);
      if (auth === 'headerApiKey') throw new UnauthorizedError(`The API key in the ${where} is not valid.`);
      throw new ForbiddenError(`The API key in the ${where} is not valid.`);
    }
  }
}
