import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../local/embedded-store.js';
import { startTestServer, fetchJson } from '../support/local-server.js';

const BACKUP = fileURLToPath(new URL('../../bin/backup-data.mjs', import.meta.url));
const SHA256 = 'b'.repeat(64);

let server: Awaited<ReturnType<typeof startTestServer>>;
let scratch: string;

function backup(dataDir: string, target: string) {
  return spawnSync(process.execPath, [BACKUP, target], { encoding: 'utf8', env: { ...process.env, HASHCHECK_DATA_DIR: dataDir } });
}

beforeAll(async () => {
  server = await startTestServer();
  scratch = await mkdtemp(join(tmpdir(), 'hashcheck-backup-test-'));
  await server.store.hashes.putRecords([
    { sha256: SHA256, fileName: 'loader.dll', platform: 'windows', version: '1', kind: 'library', stage: 'payload', campaign: 'backup test', confidence: 'high', sources: ['backup test'] },
  ] as never);
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('npm run backup', () => {
  it('copies the list of a running server into a private folder a server can start on', async () => {
    const target = join(scratch, 'copy');
    const version = server.store.listVersion();

    const run = backup(server.dataDir, target);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // The server kept answering meanwhile.
    expect((await fetchJson(`${server.url}/v1/hashes/${SHA256}`)).body.verdict).toBe('malicious');
    expect((await stat(target)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(target)) expect((await stat(join(target, name))).mode & 0o777).toBe(0o600);
    const copy = await openEmbeddedStore(target);
    try {
      expect(copy.listVersion()).toBe(version);
      expect((await copy.hashes.getMany([SHA256 as never])).get(SHA256 as never)?.fileName).toBe('loader.dll');
      expect(await copy.hashes.countRecords()).toBe(await server.store.hashes.countRecords());
    } finally {
      await copy.close();
    }
  });

  it('refuses a folder that is not empty with exit 2, leaving it as it was', async () => {
    const taken = await mkdtemp(join(scratch, 'taken-'));
    await writeFile(join(taken, 'notes.txt'), 'mine');

    const run = backup(server.dataDir, taken);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain('is not empty');
    expect(await readdir(taken)).toEqual(['notes.txt']);
  });

  it('says there is no list when the data folder holds none, with exit 2', async () => {
    const empty = await mkdtemp(join(scratch, 'empty-'));

    const run = backup(empty, join(scratch, 'nothing'));

    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`there is no list in ${empty}`);
  });
});
