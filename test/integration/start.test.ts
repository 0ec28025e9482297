import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmStart, spawnNpmStart } from '../support/npm-start.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` in this checkout, up to the lines that name its URL and record count. */
function startServerProcess(env: Record<string, string>) {
  return npmStart(ROOT, env);
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-start-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints its URL and record count, stops cleanly on SIGTERM, and keeps its data across restarts', async () => {
    const first = await startServerProcess({ PORT: '0', HASHCHECK_DATA_DIR: dataDir });
    expect(first.output()).toMatch(/known-bad records: 70 \(seed list loaded into an empty data folder\)/);
    const answer = await fetch(`${first.url}/v1/hashes/f3d4144860ca10ba60f7ef4d176cc736`);
    expect(((await answer.json()) as { verdict: string }).verdict).toBe('malicious');
    first.child.kill('SIGTERM');
    expect(await exitCode(first.child)).toBe(0);

    const second = await startServerProcess({ PORT: '0', HASHCHECK_DATA_DIR: dataDir });
    expect(second.output()).toMatch(/known-bad records: 70; data in/);
    second.child.kill('SIGINT');
    expect(await exitCode(second.child)).toBe(0);
  });

  it('stops cleanly on a SIGTERM sent the moment the ready line appears', async () => {
    // The signal goes to npm, as a service manager or `kill` sends it; npm passes it on to the server.
    const child = spawnNpmStart(ROOT, { PORT: '0', HASHCHECK_DATA_DIR: join(dataDir, 'ready') });
    let output = '';
    let signalled = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!signalled && output.includes('listening on')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await exitCode(child)).toBe(0);
    expect(output).toContain('SIGTERM received, shutting down');
  });

  it('stops cleanly on a signal that arrives while it is still starting', async () => {
    const child = spawnNpmStart(ROOT, { PORT: '0', HASHCHECK_DATA_DIR: join(dataDir, 'starting') });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // The first line comes before the store and the server are up.
      if (output.includes('hashcheck is starting')) child.kill('SIGINT');
    });
    expect(await exitCode(child)).toBe(0);
    // stdout alone: npm's own lines come first, then the server's.
    expect(output).toMatch(/^hashcheck is starting; data in .*\nSIGINT received, shutting down\n/m);
    expect(output).not.toContain('listening on');
  });

  it('refuses to start with a HASHCHECK_ALLOWED_HOSTS entry that is not a host', async () => {
    const child = spawnNpmStart(ROOT, { PORT: '0', HASHCHECK_DATA_DIR: join(dataDir, 'hosts'), HASHCHECK_ALLOWED_HOSTS: 'http://hashcheck.lan/' });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(stderr).toContain("HASHCHECK_ALLOWED_HOSTS: 'http://hashcheck.lan/' is not a host or host:port");
  });

  it('says which port is taken when PORT is in use', async () => {
    const first = await startServerProcess({ PORT: '0', HASHCHECK_DATA_DIR: join(dataDir, 'a') });
    const port = new URL(first.url).port;
    const second = spawnNpmStart(ROOT, { PORT: port, HASHCHECK_DATA_DIR: join(dataDir, 'b') });
    let stderr = '';
    second.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await exitCode(second)).toBe(1);
    expect(stderr).toContain(`port ${port} is in use`);
    first.child.kill('SIGTERM');
    await exitCode(first.child);
  });
});
