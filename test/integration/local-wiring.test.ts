import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ENTRIES, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';
import { EICAR } from '../support/reference.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

/** The pid and every descendant of it, from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name (field 2) may hold spaces and parentheses: the parent pid follows the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const visit = (pid: number) => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return tree;
}

/** The inodes of the sockets the processes hold open, from their file descriptors. */
function socketInodes(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * Every socket of these inodes a client could reach: TCP sockets in LISTEN (state 0A) and bound UDP
 * sockets, as `protocol port`.
 */
function reachableSockets(inodes: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let table: string;
    try {
      table = readFileSync(`/proc/net/${protocol}`, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of table.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [, local = '', , state, , , , , , inode = ''] = fields;
      if (!inodes.has(inode)) continue;
      if (protocol.startsWith('tcp') && state !== '0A') continue;
      found.push(`${protocol} ${parseInt(local.split(':')[1] ?? '', 16)}`);
    }
  }
  return found.sort();
}

describe('the local server', () => {
  it('loads no AWS SDK: its bundle takes no module of @aws-sdk or @smithy', async () => {
    const result = await build({
      entryPoints: [join(ROOT, 'bin/local-server.ts')],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // Packages with native parts are loaded from node_modules as they are, never bundled.
      external: ['lmdb', 'esbuild'],
    });
    const inputs = Object.keys(result.metafile.inputs);
    // The bundle did take the server's own modules: the check below looks at a real graph.
    expect(inputs).toContain('local/server.ts');
    expect(inputs.filter((path) => /node_modules\/@(aws-sdk|smithy)\//.test(path))).toEqual([]);
  });

  describe('as npm start runs it', () => {
    let dataDir: string;
    let server: ServerProcess;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-wiring-'));
      server = await startServerProcess(SERVER_ENTRIES.npmStart, { HASHCHECK_DATA_DIR: join(dataDir, 'data') });
    });

    afterAll(async () => {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('listens on one port, its own, and nothing of its process tree listens on another', async () => {
      // Every part that could open a port has run: a lookup, a file scan and the page.
      expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).body.verdict).toBe('malicious');
      expect((await fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' })).status).toBe(200);
      expect((await fetch(`${server.url}/`)).status).toBe(200);

      const port = Number(new URL(server.url).port);
      const sockets = reachableSockets(socketInodes(processTree(server.pid)));
      expect(sockets).toHaveLength(1);
      expect(sockets[0]).toMatch(new RegExp(`^tcp6? ${port}$`));
    });

    it('refuses to start a second server on the same data folder, naming the folder, and exits 1', async () => {
      const second = spawn(process.execPath, ['--import', 'tsx', SERVER_ENTRIES.npmStart], {
        cwd: ROOT,
        env: { ...process.env, PORT: '0', HASHCHECK_DATA_DIR: join(dataDir, 'data') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      second.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      second.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', (exitCode) => resolve(exitCode)));

      expect(code).toBe(1);
      // One line naming the folder and the cause, no stack trace.
      const refusal = output.split('\n').find((line) => line.startsWith('hashcheck: ') && line.includes(join(dataDir, 'data')));
      expect(refusal).toMatch(/in use by another hashcheck server/);
      expect(output).not.toMatch(/^\s+at /m);
      expect(output).not.toMatch(/listening on/);
      // The first one keeps serving.
      expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
    });
  });

  it('takes a large upload on its own port: the URLs it signs point at itself, and the verdict arrives', async () => {
    const server = await startTestServer();
    try {
      const created = await fetchJson(`${server.url}/v1/uploads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileName: 'eicar.com', size: EICAR.length }),
      });
      expect(created.status).toBe(201);
      expect(new URL(created.body.put.url).origin).toBe(server.url);
      expect(new URL(created.body.post.url).origin).toBe(server.url);

      const put = await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: EICAR });
      expect(put.status).toBe(200);
      const status = await pollUntil(
        async () => {
          const answer = await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`);
          return answer.body.status === 'pending' ? undefined : answer.body;
        },
        30_000,
        'the upload to be scanned',
      );
      expect(status).toMatchObject({ status: 'done', file: { verdict: 'malicious' } });
    } finally {
      await server.stop();
    }
  });

  it('runs several servers in one process, each on its own store', async () => {
    const adminKey = 'wiring-admin-key';
    const first = await startTestServer({ apiKeys: [], adminKey });
    const second = await startTestServer({ apiKeys: [], adminKey });
    let firstRunning = true;
    try {
      const hash = 'ab'.repeat(32);
      const put = await fetchJson(`${first.url}/v1/admin/hashes/${hash}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-api-key': adminKey },
        body: JSON.stringify({ fileName: 'only-in-first.exe', platform: 'windows', version: '1', kind: 'payload', stage: 'test', campaign: 'Wiring', confidence: 'high', sources: ['test'] }),
      });
      expect(put.status).toBe(201);

      expect((await fetchJson(`${first.url}/v1/hashes/${hash}`)).body.verdict).toBe('malicious');
      expect((await fetchJson(`${second.url}/v1/hashes/${hash}`)).body.verdict).toBe('unknown');
      // Closing one leaves the other serving.
      await first.stop();
      firstRunning = false;
      expect((await fetchJson(`${second.url}/v1/hashes/${MSI_MD5}`)).body.verdict).toBe('malicious');
    } finally {
      if (firstRunning) await first.stop();
      await second.stop();
    }
  });
});
