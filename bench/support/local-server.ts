import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOADS_FOLDER } from '../../local/uploads.js';
import { scratchDir } from './data.js';
import { peakRssBytes, startChild, stopChild, tsNodeArgs } from './process.js';

/** The local server (`npm start`) as a child process of its own, so its memory is measured alone. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  /** `VmHWM` of the server process so far, in bytes. */
  peakRss(): number;
  /** Upload files left in the data folder (a scanned upload's is deleted). */
  storedObjects(): string[];
  /** Stops the server and deletes its data folder. */
  stop(): Promise<void>;
}

/**
 * Starts `bin/local-server.ts` exactly as `npm start` does, on a free port (PORT=0) and with its data in
 * a fresh temporary folder, and waits for the line announcing its URL. `env` adds server settings.
 */
export async function startServerProcess(projectRoot: string, env: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  const data = await scratchDir('server');
  let child: ChildProcess;
  let url: string;
  try {
    const started = await startChild(process.execPath, tsNodeArgs('bin/local-server.ts'), /hashcheck is listening on (http:\/\/\S+)/, {
      cwd: projectRoot,
      env: { ...process.env, PORT: '0', HASHCHECK_DATA_DIR: data.path, POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
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
