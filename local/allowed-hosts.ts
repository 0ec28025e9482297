import { hostname, networkInterfaces } from 'node:os';

/** The variable naming the further names the local server answers to. */
export const ALLOWED_HOSTS_VARIABLE = 'HASHCHECK_ALLOWED_HOSTS';

/** A host the server answers for: a name or address, with a port, or any port when none is given. */
export interface HostEntry {
  /** Lower case; IPv6 addresses in brackets, as in a Host header (`[::1]`). */
  readonly name: string;
  readonly port?: number;
  /**
   * Also answered when the Host header has no port. For the loopback names only: rspamd's HTTP client, for
   * one, sends `Host: 127.0.0.1` without the port, and a rebound foreign name never arrives as a loopback name.
   */
  readonly portless?: boolean;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_ADDRESSES = ['0.0.0.0', '::', ''];

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`, as a Host header or an entry of
 * HASHCHECK_ALLOWED_HOSTS carries it; `undefined` when it is none of these.
 */
export function parseHost(value: string): HostEntry | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_])?)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: match[1]!.toLowerCase(), ...(port === undefined ? {} : { port }) };
}

/**
 * The hosts a server listening on `listenHost:port` is reached by: the loopback names with its port, the
 * address it listens on, every address of this machine (and its host name) when it listens on all of
 * them, and the configured entries (a name alone there stands for any port).
 */
export function allowedHostsFor(listenHost: string, port: number, configured: readonly HostEntry[]): HostEntry[] {
  const names = new Set(LOOPBACK_NAMES);
  const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);
  if (WILDCARD_ADDRESSES.includes(listenHost)) {
    names.add(listenHost === '::' ? '[::]' : '0.0.0.0');
    names.add(hostname().toLowerCase());
    for (const address of Object.values(networkInterfaces()).flat()) {
      // Link-local IPv6 addresses need a zone in a URL; nobody types those into a Host header.
      if (!address || (address.family === 'IPv6' && address.scopeid)) continue;
      names.add(bracketed(address.address.toLowerCase()));
    }
  } else {
    names.add(bracketed(listenHost.toLowerCase()));
  }
  const loopback = LOOPBACK_NAMES.map((name) => ({ name, port, portless: true }));
  const others = [...names].filter((name) => !LOOPBACK_NAMES.includes(name)).map((name) => ({ name, port }));
  return [...loopback, ...others, ...configured];
}

/**
 * Whether a Host header names this server. A Host without a port means port 80, as in a URL, except for
 * the loopback names, which are answered without a port too. This is what keeps a page of another site,
 * whose name was rebound to this machine's address (DNS rebinding), from reading the API: its requests
 * carry its own name.
 */
export function isAllowedHost(header: string, allowed: readonly HostEntry[]): boolean {
  const host = parseHost(header);
  if (!host) return false;
  return allowed.some(
    (entry) =>
      entry.name === host.name &&
      (entry.port === undefined || entry.port === (host.port ?? 80) || (host.port === undefined && entry.portless === true)),
  );
}
