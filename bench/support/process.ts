import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The outcome of a finished command. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock milliseconds from spawn to exit. */
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Where stdout goes: kept in memory (default), dropped (commands that print a line per file), or
   * written to a file (large outputs, as `command > FILE` would).
   */
  readonly stdout?: 'keep' | 'ignore' | { readonly file: string };
  /** Exit codes that count as success. @default [0] */
  readonly okCodes?: readonly number[];
}

/**
 * Runs a command to its end and times it from spawn to exit. Throws with the command's stderr when it
 * exits with a code outside `okCodes`: a benchmark whose reference or subject broke must not report.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const okCodes = options.okCodes ?? [0];
  const toFile = typeof options.stdout === 'object' ? openSync(options.stdout.file, 'w') : undefined;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', toFile ?? (options.stdout === 'ignore' ? 'ignore' : 'pipe'), 'pipe'],
    });
    if (toFile !== undefined) closeSync(toFile);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const result: CommandResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      };
      if (code !== null && okCodes.includes(code)) resolve(result);
      else {
        const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new Error(`${command} ${args.join(' ')} ${how}: ${result.stderr.trim().slice(-2000)}`));
      }
    });
  });
}

/** `node --import tsx SCRIPT`: how the suite runs its TypeScript probes and the local server. */
export function tsNodeArgs(script: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', script, ...args];
}

/**
 * The peak resident set size of a live process, in bytes (`VmHWM` of `/proc/PID/status`): the most
 * memory it has held at any one time since it started.
 */
export function peakRssBytes(pid: number | 'self'): number {
  return statusField(pid, 'VmHWM');
}

/** The current resident set size of a live process, in bytes (`VmRSS`). */
export function currentRssBytes(pid: number | 'self'): number {
  return statusField(pid, 'VmRSS');
}

function statusField(pid: number | 'self', field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(match[1]) * 1024;
}

/** Starts a long-running child and resolves once `ready` matches a line of its stdout. */
export function startChild(
  command: string,
  args: readonly string[],
  ready: RegExp,
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const { timeoutMs = 60_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not become ready within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with code ${code} before it was ready: ${stderr.trim()}`));
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = ready.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.off('exit', onExit);
        // Keep draining the pipes so a chatty child never blocks on a full pipe.
        child.stdout!.removeAllListeners('data').resume();
        resolve({ child, match });
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', onExit);
  });
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
