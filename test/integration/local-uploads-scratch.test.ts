import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_FOLDER } from '../../local/server.js';
import { UPLOADS_FOLDER } from '../../local/uploads.js';
import { EICAR, zipOf } from '../support/archives.js';
import { fetchJson } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let root: string;
/** The server's TMPDIR: empty, and it must stay so. */
let serverTmp: string;
let dataDir: string;
let child: ChildProcess;
let url: string;
let output = '';

/** Names created, changed or deleted in a folder while it is watched (inotify: a file made and deleted shows too). */
function watchFolder(path: string): { names: string[]; watcher: FSWatcher } {
  const names: string[] = [];
  const watcher = watch(path, (_event, name) => names.push(String(name)));
  return { names, watcher };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hashcheck-scratch-'));
  serverTmp = join(root, 'tmp');
  dataDir = join(root, 'data');
  mkdirSync(serverTmp);
  // A server process of its own, so that its TMPDIR is its own; tsx keeps no cache there.
  const { NODE_OPTIONS: _left, ...inherited } = process.env;
  child = spawn(process.execPath, ['--import', 'tsx', 'bin/local-server.ts'], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', HASHCHECK_DATA_DIR: dataDir, TMPDIR: serverTmp, TSX_DISABLE_CACHE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  url = await pollUntil(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], 60_000, `the server to start:\n${output}`);
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(root, { recursive: true, force: true });
});

describe('where an upload is written', () => {
  it('writes an upload once, into the scratch folder of the data folder, and nothing of it outside the data folder', async () => {
    const tmp = watchFolder(serverTmp);
    const scratch = watchFolder(join(dataDir, SCRATCH_FOLDER));
    const uploads = watchFolder(join(dataDir, UPLOADS_FOLDER));
    try {
      const zip = zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' });
      const created = await fetchJson(`${url}/v1/uploads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileName: 'tools.zip', size: zip.length }),
      });
      expect(created.status).toBe(201);
      expect((await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: zip })).status).toBe(200);
      const scanned = await pollUntil(async () => {
        const { body } = await fetchJson(`${url}/v1/uploads/${created.body.uploadId}`);
        return body.status === 'pending' ? undefined : body;
      }, 60_000, 'the upload to be scanned');
      // Looked inside (its member extracted and digested), so the scratch space was used, in the data folder.
      expect(scanned.file).toMatchObject({ verdict: 'malicious', inside: { members: 2, complete: true } });
      expect(scratch.names.some((name) => name.startsWith('hashcheck-inside-'))).toBe(true);
      await pollUntil(() => (readdirSync(join(dataDir, SCRATCH_FOLDER)).length === 0 ? true : undefined), 10_000, 'the scratch folder to be emptied');
      // Written once: not also into the uploads folder.
      expect(uploads.names).toEqual([]);
      // Nothing of it in the server's TMPDIR, not even for a moment.
      expect(tmp.names).toEqual([]);
      expect(readdirSync(serverTmp)).toEqual([]);
    } finally {
      for (const { watcher } of [tmp, scratch, uploads]) watcher.close();
    }
  });
});
