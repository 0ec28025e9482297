import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pollUntil } from './poll.js';

/** Debian's stock configuration, which the local files are laid over as an operator's are. */
const STOCK_CONFIG = '/etc/rspamd/rspamd.conf';

/** The installed rspamd's version line (`Rspamd daemon version 3.4`), or undefined when there is none. */
export function rspamdVersion(): string | undefined {
  const run = spawnSync('rspamd', ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** What rspamd answers on `/checkv2` for one message. */
export interface RspamdResult {
  action: string;
  score: number;
  symbols: Record<string, { name: string; score: number; options?: string[] }>;
  messages?: Record<string, string>;
}

export interface RspamdInstance {
  /** The scanning worker, `http://127.0.0.1:<port>`. */
  normalUrl: string;
  /** The configuration folder (`local.d`, `override.d`) and rspamd's own db, run and log folders. */
  dir: string;
  /** What `rspamadm configtest` printed for this configuration. */
  configtest: { status: number | null; output: string };
  /** Scans a message as an MTA hands it over; `settings` are rspamd's per-message settings (`symbols_disabled`). */
  scan(message: string | Buffer, settings?: Record<string, unknown>): Promise<RspamdResult>;
  /** The end of rspamd's log (its lines containing `containing`, if given), for failure messages. */
  logTail(lines?: number, containing?: string): Promise<string>;
  stop(): Promise<void>;
}

/** A port nobody listens on now, on loopback. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port from the loopback listener');
  return address.port;
}

/** Runs a command without blocking this process (which may be serving the requests rspamd makes). */
function run(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/**
 * Debian's rspamd with Debian's stock configuration, `localFiles` as the operator's `/etc/rspamd/local.d/...`
 * (keys are paths below `/etc/rspamd/`, e.g. `local.d/antivirus.conf`), on loopback ports of its own, with its
 * database, pid and log in a temporary folder and no Redis. `testOptions` go to `local.d/options.inc` as well
 * (after the operator's, if any). Runs `rspamadm configtest` first and refuses to start a configuration it
 * rejects. Resolves once the scanning worker answers `/ping`.
 */
export async function startRspamd(options: {
  localFiles: Record<string, string>;
  testOptions?: string;
  readyTimeoutMs?: number;
}): Promise<RspamdInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'hashcheck-rspamd-'));
  const etc = join(dir, 'etc');
  const [normalPort, controllerPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
  const files: Record<string, string> = { ...options.localFiles };
  files['local.d/options.inc'] = `${files['local.d/options.inc'] ?? ''}\n# Test run: rspamd's map cache in this folder.\nmaps_cache_dir = "${join(dir, 'db')}";\n${options.testOptions ?? ''}\n`;
  // Stock rspamd.conf binds the workers to localhost:11332-11334; override.d replaces those with free ports.
  files['override.d/worker-normal.inc'] = `bind_socket = "127.0.0.1:${normalPort}";\n`;
  files['override.d/worker-controller.inc'] = `bind_socket = "127.0.0.1:${controllerPort}";\n`;
  files['override.d/worker-proxy.inc'] = `bind_socket = "127.0.0.1:${proxyPort}";\n`;
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(etc, path)), { recursive: true });
    await writeFile(join(etc, path), text);
  }
  for (const sub of ['db', 'run', 'log']) await mkdir(join(dir, sub));

  const vars = [
    `--var=LOCAL_CONFDIR=${etc}`,
    `--var=DBDIR=${join(dir, 'db')}`,
    `--var=RUNDIR=${join(dir, 'run')}`,
    `--var=LOGDIR=${join(dir, 'log')}`,
  ];
  const configtest = await run('rspamadm', [...vars, 'configtest', '-c', STOCK_CONFIG]);
  if (configtest.status !== 0 || !configtest.output.includes('syntax OK')) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`rspamadm configtest rejects the configuration (exit ${configtest.status}):\n${configtest.output}`);
  }

  const logPath = join(dir, 'log', 'rspamd.log');
  const consolePath = join(dir, 'log', 'console.log');
  const consoleFd = openSync(consolePath, 'a');
  // rspamd refuses to run its workers as root unless told to: as root (a CI container), --insecure.
  const asRoot = process.getuid?.() === 0 ? ['--insecure'] : [];
  let child: ChildProcess;
  try {
    child = spawn('rspamd', ['--no-fork', ...asRoot, '-c', STOCK_CONFIG, ...vars], { stdio: ['ignore', consoleFd, consoleFd] });
  } finally {
    closeSync(consoleFd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  child.once('error', () => undefined);

  const logTail = async (lines = 40, containing?: string) => {
    const read = async (path: string) =>
      (await readFile(path, 'utf8').catch(() => ''))
        .split('\n')
        .filter((line) => containing === undefined || line.includes(containing))
        .slice(-lines)
        .join('\n');
    return `${await read(consolePath)}\n${await read(logPath)}`;
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      try {
        await pollUntil(async () => (exited ? true : undefined), 30_000, 'rspamd to stop on SIGTERM');
      } catch {
        child.kill('SIGKILL');
        await exit;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  const normalUrl = `http://127.0.0.1:${normalPort}`;
  try {
    await pollUntil(
      async () => {
        if (exited) throw new Error(`rspamd exited (${exited.code ?? exited.signal}) before it answered:\n${await logTail()}`);
        const pong = await fetch(`${normalUrl}/ping`).then((r) => r.text(), () => '');
        return pong.trim() === 'pong' ? true : undefined;
      },
      options.readyTimeoutMs ?? 180_000,
      'rspamd to answer /ping',
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    normalUrl,
    dir,
    configtest,
    logTail,
    stop,
    async scan(message, settings) {
      const headers: Record<string, string> = {};
      if (settings) headers['Settings'] = JSON.stringify(settings);
      const response = await fetch(`${normalUrl}/checkv2`, { method: 'POST', headers, body: message });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`rspamd answered ${response.status}: ${text}`);
      return JSON.parse(text) as RspamdResult;
    },
  };
}
