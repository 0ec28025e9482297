import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_FOLDER } from '../../local/server.js';
import { fetchJson } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';
import { openRaw } from '../support/raw-http.js';
import { SERVER_ENTRIES, startServerProcess, type ServerProcess } from '../support/server-process.js';

/** The upload's declared size: 3 MiB. */
const SIZE = 3 * 1024 * 1024;
let root: string;
let dataDir: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hashcheck-restart-'));
  dataDir = join(root, 'data');
});

afterAll(async () => {
  for (const server of started) await server.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function start(): Promise<ServerProcess> {
  const server = await startServerProcess(SERVER_ENTRIES.npmStart, { HASHCHECK_DATA_DIR: dataDir });
  started.push(server);
  return server;
}

/** Files being looked into in the data folder's scratch folder: an upload's bytes once they arrive. */
function filesInScratch(): string[] {
  const scratch = join(dataDir, SCRATCH_FOLDER);
  if (!existsSync(scratch)) return [];
  return readdirSync(scratch, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('an upload URL after a restart', () => {
  it('takes no second file when the server was killed while it received the first, and the scan still waits', async () => {
    const first = await start();
    const created = await fetchJson(`${first.url}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'sample.bin', size: SIZE }),
    });
    expect(created.status).toBe(201);
    const url = new URL(created.body.put.url);
    const pathAndQuery = url.pathname + url.search;

    // Half of the file (more than the 1 MiB the server writes at a time), then the server is killed
    // (kill -9: nothing of it can tidy up).
    const client = openRaw(first.url);
    client.socket.write(`PUT ${pathAndQuery} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${SIZE}\r\n\r\n`);
    client.socket.write(Buffer.alloc(SIZE / 2, 0x61));
    await pollUntil(() => (filesInScratch().length > 0 ? true : undefined), 30_000, 'the first bytes to be written');
    process.kill(first.pid, 'SIGKILL');
    await client.received;
    await pollUntil(() => (isRunning(first.pid) ? undefined : true), 30_000, 'the killed server to be gone');

    const second = await start();
    // The same URL, sent to the server now listening on the data folder.
    const again = await fetch(`${second.url}${pathAndQuery}`, { method: 'PUT', headers: created.body.put.headers, body: Buffer.alloc(SIZE, 0x62) });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({
      error: { code: 'invalid_request', message: expect.stringContaining('has been used'), requestId: expect.any(String) },
    });
    expect((await fetchJson(`${second.url}/v1/uploads/${created.body.uploadId}`)).body.status).toBe('pending');
    expect(filesInScratch()).toEqual([]);
  });
});
