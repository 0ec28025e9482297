import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOAD_BUCKET } from '../../local/server.js';
import { scratchDir } from './data.js';
import { peakRssBytes, startChild, stopChild, tsNodeArgs } from './process.js';

/** The local server (`npm start`) as a child process of its own, so its memory is measured alone. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  /** `VmHWM` of the server process so far, in bytes. */
  peakRss(): number;
  /** Objects left in the local upload bucket (s3rver's metadata files aside). */
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
  const bucketDir = join(data.path, 's3', UPLOAD_BUCKET);
  return {
    url,
    pid,
    dataDir: data.path,
    peakRss: () => peakRssBytes(pid),
    storedObjects: () => (existsSync(bucketDir) ? walk(bucketDir) : []),
    stop: async () => {
      await stopChild(child);
      await data.dispose();
    },
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.startsWith('.') || entry.name.endsWith('._S3rver_metadata.json') ? [] : [entry.name],
  );
}

/**
 * Server settings for the lookup benchmarks. The local table is dynalite, in the server's own process:
 * on a loaded machine a 10,000-hash batch can take it longer than the 3 s lookup deadline set for
 * DynamoDB, and the fail-closed 503 would turn an emulator stall into a failed run. Throughput is
 * measured with a deadline the emulator always meets.
 */
export const LOOKUP_BENCH_ENV: Readonly<Record<string, string>> = { HASHCHECK_LOOKUP_DEADLINE_MS: '120000' };

export { pollUntil } from '../../local/poll.js';

/** Fetches and parses a JSON answer; a status outside 2xx is an error naming the answer. */
export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}
