import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { StoreFault } from './faulty-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The entry of `npm start`, and the test entry that runs the same server steered over IPC (store faults,
 * memory after garbage collection).
 */
export const SERVER_ENTRIES = {
  npmStart: 'bin/local-server.ts',
  steerable: 'test/support/server-process-main.ts',
} as const;

/** A local server running in a process of its own, so its memory and its output are its own. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its resident set size in bytes, from /proc. */
  rssBytes(): Promise<number>;
  /** Sets the store fault (only for the `steerable` entry). */
  setFault(mode: StoreFault): Promise<void>;
  /** Its memory usage right after a garbage collection (only for the `steerable` entry). */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Stops it with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a server entry with `node --import tsx`, as `npm start` runs it, and waits (up to `timeoutMs`)
 * for the line that names its URL.
 */
export function startServerProcess(
  entry: (typeof SERVER_ENTRIES)[keyof typeof SERVER_ENTRIES],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  // --expose-gc lets the steerable entry collect garbage before it reports its memory.
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    };
    child.once('exit', onExit);
    const onData = () => {
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (!url || !output.includes('known-bad records')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      resolve({
        url,
        pid: child.pid!,
        output: () => output,
        rssBytes: async () => {
          const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
          const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
          if (kib === undefined) throw new Error('no VmRSS in /proc status');
          return Number(kib) * 1024;
        },
        setFault: (mode) =>
          new Promise((done) => {
            child.once('message', () => done());
            child.send({ mode });
          }),
        memory: () =>
          new Promise((done) => {
            child.once('message', (answer: { memory: NodeJS.MemoryUsage }) => done(answer.memory));
            child.send({ memory: true });
          }),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
  });
}
