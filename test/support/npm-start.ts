import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * `npm start` in `cwd`, as a person runs it, with `env` added. NODE_OPTIONS is left out so that nothing the
 * test runner preloads reaches the server; npm does not look for a newer npm (there is no network here).
 */
export function spawnNpmStart(cwd: string, env: Record<string, string>): ChildProcess {
  const { NODE_OPTIONS: _left, ...inherited } = process.env;
  return spawn('npm', ['start'], {
    cwd,
    env: { ...inherited, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Started {
  /** The `npm` process. */
  readonly child: ChildProcess;
  readonly url: string;
  /** stdout and stderr so far, as they arrived. */
  output(): string;
  /** stdout alone so far. */
  stdout(): string;
  /** npm's exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Runs {@link spawnNpmStart} and waits for the lines that name the server's URL and its record count. */
export function npmStart(cwd: string, env: Record<string, string>): Promise<Started> {
  const child = spawnNpmStart(cwd, env);
  let output = '';
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url && /known-bad records: .*\n/.test(output)) resolve({ child, url, output: () => output, stdout: () => stdout, exited });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before it was ready:\n${output}`)));
  });
}

/** A running process: its id and its command line, one argument per entry. */
export interface ProcessEntry {
  readonly pid: number;
  readonly argv: string[];
}

/** The processes descended from `pid` (children, their children, ...), read from /proc. */
export function descendantsOf(pid: number): ProcessEntry[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name (field 2) is in parentheses and may hold spaces: the parent id follows the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: ProcessEntry[] = [];
  let generation = [pid];
  while (generation.length > 0) {
    const next: number[] = [];
    for (const [child, parent] of parents) {
      if (!generation.includes(parent)) continue;
      next.push(child);
      try {
        found.push({ pid: child, argv: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        // The process ended meanwhile.
      }
    }
    generation = next;
  }
  return found;
}
