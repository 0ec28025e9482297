import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { peakRssBytes, type CommandResult, type RunOptions } from './process.js';

/** GNU time, which reports the peak RSS of the command it ran as the kernel counted it (`wait4`'s `ru_maxrss`). */
const GNU_TIME = '/usr/bin/time';

function hasGnuTime(): boolean {
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A finished command, with the most memory it held at any one time. */
export interface MeasuredResult extends CommandResult {
  /** Peak resident set size of the command's process, threads included, in bytes. */
  readonly peakRssBytes: number;
  /** How the peak was read: exactly at exit (GNU time), or sampled while it ran (`VmHWM` every 20 ms). */
  readonly peakRssMethod: 'exit' | 'sampled';
}

/**
 * Runs a command to its end like `run`, timing it from spawn to exit, and reads its peak RSS: through GNU
 * time (`/usr/bin/time -f %M`) when it is installed, which reads it from the kernel when the process ends,
 * so no peak is missed; otherwise by reading `VmHWM` of `/proc/PID/status` every 20 ms while it runs (the
 * peak is kept by the kernel, so only what happens in the last 20 ms can be missed). Worker threads share
 * the process, so their memory is counted; a child process the command starts is not.
 */
export function runMeasuringPeakRss(command: string, args: readonly string[], options: RunOptions = {}): Promise<MeasuredResult> {
  const okCodes = options.okCodes ?? [0];
  const exact = hasGnuTime();
  const report = join(tmpdir(), `hashcheck-bench-peak-rss-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const [file, argv] = exact ? [GNU_TIME, ['-f', '%M', '-o', report, command, ...args]] : [command, [...args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', options.stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
    });
    let sampled = 0;
    const sample = () => {
      try {
        if (child.pid !== undefined) sampled = Math.max(sampled, peakRssBytes(child.pid));
      } catch {
        // The process has just ended.
      }
    };
    const sampler = exact ? undefined : setInterval(sample, 20);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (error) => {
      clearInterval(sampler);
      rmSync(report, { force: true });
      reject(error);
    });
    child.once('close', (code, signal) => {
      const ms = performance.now() - started;
      clearInterval(sampler);
      let peak = sampled;
      if (exact) {
        // A command exiting with a status other than 0 gets a line saying so before the figure.
        const lines = readFileSync(report, 'utf8').trim().split('\n');
        rmSync(report, { force: true });
        peak = Number(lines[lines.length - 1]) * 1024;
      }
      const result: MeasuredResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms,
        peakRssBytes: peak,
        peakRssMethod: exact ? 'exit' : 'sampled',
      };
      if (code !== null && okCodes.includes(code) && Number.isFinite(peak) && peak > 0) resolve(result);
      else {
        const how = code === null ? `was killed by ${signal}` : okCodes.includes(code) ? 'left no peak RSS' : `exited with code ${code}`;
        reject(new Error(`${command} ${args.join(' ')} ${how}: ${result.stderr.trim().slice(-2000)}`));
      }
    });
  });
}
