import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOADS_FOLDER } from '../../local/uploads.js';
import { scratchDir } from './data.js';
import { currentRssBytes, peakRssBytes, run, startChild, stopChild } from './process.js';

/** The local server (`npm start`) as a child process of its own, so its memory is measured alone. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  /** `VmHWM` of the server process so far, in bytes. */
  peakRss(): number;
  /** `VmRSS` of the server process now, in bytes. */
  currentRss(): number;
  /** Upload files left in the data folder (a scanned upload's is deleted). */
  storedObjects(): string[];
  /** Stops the server and deletes its data folder (unless it was given one). */
  stop(): Promise<void>;
}

/** Options of {@link startServerProcess}. */
export interface ServerOptions {
  /**
   * A data folder to run on (a copy of a prepared list, say), kept when the server stops; by default a
   * fresh temporary folder, deleted when it stops.
   */
  readonly dataDir?: string;
}

let built: Promise<void> | undefined;

/**
 * Builds the server `npm start` runs (`node bin/build-server.mjs`, which does nothing when the build is
 * current), once per suite run, so a start never waits on the bundler and a benchmark measures the code
 * of the checkout as it is.
 */
export function ensureServerBuilt(projectRoot: string): Promise<void> {
  built ??= run(process.execPath, ['bin/build-server.mjs'], { cwd: projectRoot }).then(() => undefined);
  return built;
}

/**
 * Starts the local server exactly as `npm start` does (`node bin/start.mjs`: the built
 * `dist/local-server.mjs` in one `node` process), on a free port (PORT=0) and with its data in a fresh
 * temporary folder (or `options.dataDir`), and waits for the line announcing its URL. `env` adds server
 * settings.
 */
export async function startServerProcess(
  projectRoot: string,
  env: Readonly<Record<string, string>> = {},
  options: ServerOptions = {},
): Promise<ServerProcess> {
  await ensureServerBuilt(projectRoot);
  const data = options.dataDir === undefined ? await scratchDir('server') : { path: options.dataDir, dispose: async () => {} };
  let child: ChildProcess;
  let url: string;
  try {
    const started = await startChild(process.execPath, ['bin/start.mjs'], /hashcheck is listening on (http:\/\/\S+)/, {
      cwd: projectRoot,
      env: { ...process.env, PORT: '0', HASHCHECK_DATA_DIR: data.path, POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
      timeoutMs: 180_000,
    });
    child = started.child;
    url = started.match[1]!;
  } catch (error) {
    await data.dispose();
    throw error;
  }
  const pid = child.pid!;
  const uploadsDir = join(data.path, UPLOADS_FOLDER);
  return {
    url,
    pid,
    dataDir: data.path,
    peakRss: () => peakRssBytes(pid),
    currentRss: () => currentRssBytes(pid),
    storedObjects: () => (existsSync(uploadsDir) ? walk(uploadsDir) : []),
    stop: async () => {
      await stopChild(child);
      await data.dispose();
    },
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [entry.name],
  );
}

/**
 * Server settings for the lookup benchmarks: none. The server runs with the lookup deadline it has in
 * use, so a benchmark that meets a 503 shows a deadline the embedded store does not keep.
 */
export const LOOKUP_BENCH_ENV: Readonly<Record<string, string>> = {};

export { pollUntil } from '../../local/poll.js';

/** Fetches and parses a JSON answer; a status outside 2xx is an error naming the answer. */
export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}
