import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The project root: the command line runs from here, as `npx hashcheck` does. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The executable that package.json's `bin` names. */
export const LAUNCHER = fileURLToPath(new URL('../../bin/hashcheck.mjs', import.meta.url));

/** How one run of the command line ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** HASHCHECK_URL for the run. */
  readonly url?: string;
  /** Written to standard input, which is then closed (standard input is never a terminal here). */
  readonly input?: string | Buffer;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Run as this user (and group), to meet permissions as a normal user does when the tests run as root. */
  readonly user?: { uid: number; gid: number };
  /** Run this file instead of `node bin/hashcheck.mjs` (the launcher itself, through its shebang). */
  readonly executable?: string;
}

/**
 * Runs `hashcheck` as a subprocess with piped standard streams, as a script would, and collects what it
 * printed. The process is killed if it outlives the test's patience.
 */
export function runHashcheck(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  // The run's environment is the test's, without a key or URL of the machine's own, plus what the test sets.
  const env: Record<string, string | undefined> = { ...process.env, HASHCHECK_API_KEY: undefined, HASHCHECK_URL: undefined };
  Object.assign(env, { NO_COLOR: '1' }, options.env);
  if (options.url !== undefined) env['HASHCHECK_URL'] = options.url;
  const [command, commandArgs] = options.executable
    ? [options.executable, [...args]]
    : [process.execPath, [LAUNCHER, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: options.cwd ?? PROJECT_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.user && { uid: options.user.uid, gid: options.user.gid }),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Parses JSON Lines output. */
export function jsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** A port on this machine that nothing listens on: taken from the system, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An HTTP server in front of the real one whose answers a test can replace, to meet what the local
 * server never does by itself (throttling, a partial answer). `intercept` returns `true` when it answered.
 */
export async function startProxy(
  target: string,
  intercept: (req: IncomingMessage, body: Buffer, res: ServerResponse, forward: () => Promise<{ status: number; body: string }>) => Promise<boolean>,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push(`${req.method} ${req.url}`);
    const forward = async () => {
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method!,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
        ...(body.length > 0 && { body }),
      });
      return { status: answer.status, body: await answer.text() };
    };
    try {
      if (await intercept(req, body, res, forward)) return;
      const answer = await forward();
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
