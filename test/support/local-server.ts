import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKeys } from '../../local/auth.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../local/embedded-store.js';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../local/server.js';
import { faultyStores, type StoreFaults } from './faulty-store.js';

/** A local server of a test, on the embedded store of its own data folder. */
export interface TestServer extends LocalServer {
  /** The embedded store under the server; closing it makes every read fail, as a store gone bad does. */
  readonly store: EmbeddedStore;
  /** The switch between the server and its store, to make the store's calls fail. */
  readonly faults: StoreFaults;
  /** Reopens the store on the same data folder (after `store.close()`) and puts the server back on it. */
  reopenStore(): Promise<EmbeddedStore>;
  /** Stops the server, closes its store and deletes its data folder. */
  stop(): Promise<void>;
}

/**
 * The local server on a free port with its data in a fresh temporary folder, and its embedded store
 * behind a fault switch. Several can run in one test file. The environment's HASHCHECK_ALLOWED_HOSTS is
 * not read: only the loopback names, unless `options` gives others.
 */
export async function startTestServer(
  keys: LocalKeys = { apiKeys: [] },
  options: Omit<LocalServerOptions, 'dataDir' | 'port' | 'keys' | 'stores'> = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-test-'));
  const open = () => openEmbeddedStore(dataDir, { readDeadlineMs: options.lookupDeadlineMs });
  let store = await open();
  const { stores, faults } = faultyStores(store);
  let server: LocalServer;
  try {
    server = await startLocalServer({ allowedHosts: [], ...options, dataDir, port: 0, keys, stores });
  } catch (error) {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...server,
    get store() {
      return store;
    },
    faults,
    reopenStore: async () => {
      store = await open();
      faults.use(store);
      return store;
    },
    stop: async () => {
      await server.close();
      await store.close().catch(() => undefined);
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
