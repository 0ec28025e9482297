import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKeys } from '../../local/auth.js';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../local/server.js';

/**
 * The local server on a free port with its data in a fresh temporary folder. One per test file: the
 * handler modules read their configuration once, at import, as on a Lambda cold start. The environment's
 * HASHCHECK_ALLOWED_HOSTS is not read: only the loopback names, unless `options` gives others.
 */
export async function startTestServer(
  keys: LocalKeys = { apiKeys: [] },
  options: Omit<LocalServerOptions, 'dataDir' | 'port' | 'keys'> = {},
): Promise<LocalServer & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-test-'));
  const server = await startLocalServer({ allowedHosts: [], ...options, dataDir, port: 0, keys });
  return {
    ...server,
    dataDir,
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fetches a JSON answer and returns the status, headers and parsed body. */
export async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}
