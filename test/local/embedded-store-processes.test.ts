import { spawn, type ChildProcess } from 'node:child_process';
import { statSync, watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openEmbeddedStore, StoreInUseError, type EmbeddedStore } from '../../local/embedded-store.js';
import { EMBEDDED_BATCH_SIZE, embeddedBatchRecord } from '../support/embedded-records.js';
import { pollUntil } from '../support/poll.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(ROOT, 'test', 'support', 'embedded-store-child.ts');

let parent: string;
let dataDir: string;
const children: ChildProcess[] = [];
const opened: EmbeddedStore[] = [];

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'hashcheck-embedded-'));
  dataDir = join(parent, 'data');
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await rm(parent, { recursive: true, force: true });
});

/** Another process on the data folder, with what it has said so far. */
function startChild(mode: 'hold' | 'import'): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, output: () => output, exited };
}

async function killHard(child: { child: ChildProcess; exited: Promise<void> }): Promise<void> {
  child.child.kill('SIGKILL');
  await child.exited;
}

describe('openEmbeddedStore: one server at a time', () => {
  it('refuses a folder another process has open with StoreInUseError naming the folder, and takes it once that process is killed', async () => {
    const holder = startChild('hold');
    await pollUntil(() => (holder.output().includes('opened') ? true : undefined), 60_000, 'the other process to open the store');

    const error = await openEmbeddedStore(dataDir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreInUseError);
    expect((error as Error).message).toContain(dataDir);
    expect((error as Error).message).toContain(`another hashcheck server (process ${holder.child.pid})`);
    expect((error as Error).message).toContain('HASHCHECK_DATA_DIR');

    await killHard(holder);
    const store = await openEmbeddedStore(dataDir);
    opened.push(store);
    expect(store.listVersion()).toBe(0);
  });

  it('makes a second process wait its turn: it is refused while this one has the folder open and admitted after close', async () => {
    const store = await openEmbeddedStore(dataDir);
    const refused = startChild('hold');
    await refused.exited;
    expect(refused.output()).toMatch(/^in-use The data folder .* is in use by another hashcheck server \(process \d+\)/m);
    await store.close();
    const admitted = startChild('hold');
    await pollUntil(() => (admitted.output().includes('opened') ? true : undefined), 60_000, 'the other process to open the store');
  });
});

describe('EmbeddedStore crash safety', () => {
  it('keeps each write whole when the server is killed in the middle of an import', async () => {
    const importer = startChild('import');
    await pollUntil(() => (/^begin 1$/m.test(importer.output()) ? true : undefined), 120_000, 'the second batch to start');
    // Killed while LMDB writes the pages of the next batch: once the file has grown by a few megabytes more
    // (a batch writes several times that), so a store committing a batch in parts would have committed some.
    const file = join(dataDir, DATABASE_FILE);
    const grown = statSync(file).size + 4 * 1024 * 1024;
    await new Promise<void>((resolve) => {
      const watcher = watch(file, () => {
        if (statSync(file).size < grown) return;
        watcher.close();
        importer.child.kill('SIGKILL');
        resolve();
      });
      void importer.exited.then(() => {
        watcher.close();
        resolve();
      });
    });
    await killHard(importer);
    const committed = [...importer.output().matchAll(/^committed (\d+)$/gm)].length;
    expect(committed).toBeGreaterThanOrEqual(1);

    const store = await openEmbeddedStore(dataDir);
    opened.push(store);
    const version = store.listVersion();
    // Everything the importer saw committed is there, and the batch it was writing wholly or not at all (on a
    // busy machine the kill may land just after LMDB committed it, before the importer could say so).
    expect([committed, committed + 1]).toContain(version);
    for (let batch = 0; batch <= committed + 1; batch++) {
      const records = Array.from({ length: EMBEDDED_BATCH_SIZE }, (_, i) => embeddedBatchRecord(batch, i));
      const found = await store.hashes.getMany(records.flatMap((r) => [r.sha256!, r.sha1!, r.md5!]));
      // Every record of a batch with all its digests, or nothing of it.
      expect({ batch, found: found.size }).toEqual({ batch, found: batch < version ? 3 * EMBEDDED_BATCH_SIZE : 0 });
      if (batch < version) expect(found.get(records[123]!.md5!)).toEqual(records[123]);
    }
    expect(await store.hashes.countRecords()).toBe(version * EMBEDDED_BATCH_SIZE);
    // The store takes writes again after the crash.
    await store.hashes.putRecords([embeddedBatchRecord(99, 0)]);
    expect(store.listVersion()).toBe(version + 1);
  });
});
