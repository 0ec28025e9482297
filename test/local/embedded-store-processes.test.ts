import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
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
function startChild(mode: 'hold' | 'import' | 'import-records'): { child: ChildProcess; output: () => string; exited: Promise<void> } {
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
  it.each([
    ['putRecords', 'import'],
    ['an import, as a request writes it', 'import-records'],
  ] as const)('keeps every record whole, with all its digests or none, when the server is killed in the middle of %s', async (_what, mode) => {
    const importer = startChild(mode);
    await pollUntil(() => (/^begin 1$/m.test(importer.output()) ? true : undefined), 120_000, 'the second batch to start');
    // Killed as soon as a first part of the second batch is committed, the rest of it still being written:
    // a store committing a record's digests apart would leave records found by some digests only.
    const file = join(dataDir, DATABASE_FILE);
    const reader = open({ path: file, maxDbs: 8, readOnly: true });
    const stored = reader.openDB({ name: 'records', keyEncoding: 'binary' });
    await new Promise<void>((resolve) => {
      const check = () => {
        reader.resetReadTxn();
        if ((stored.getStats() as { entryCount: number }).entryCount <= EMBEDDED_BATCH_SIZE) return;
        watcher.close();
        importer.child.kill('SIGKILL');
        resolve();
      };
      const watcher = watch(file, check);
      check();
      void importer.exited.then(() => {
        watcher.close();
        resolve();
      });
    });
    await reader.close();
    await killHard(importer);
    const committed = [...importer.output().matchAll(/^committed (\d+)$/gm)].length;
    expect(committed).toBeGreaterThanOrEqual(1);

    const store = await openEmbeddedStore(dataDir);
    opened.push(store);
    let whole = 0;
    for (let batch = 0; batch <= committed + 1; batch++) {
      const records = Array.from({ length: EMBEDDED_BATCH_SIZE }, (_, i) => embeddedBatchRecord(batch, i));
      const found = await store.hashes.getMany(records.flatMap((r) => [r.sha256!, r.sha1!, r.md5!]));
      // Each record is found by every one of its digests, as written, or by none.
      const parts = records.map((r) => [r.sha256!, r.sha1!, r.md5!].filter((digest) => found.has(digest)).length);
      expect({ batch, parts: [...new Set(parts)].filter((n) => n !== 0 && n !== 3) }).toEqual({ batch, parts: [] });
      for (const [i, record] of records.entries()) if (parts[i] === 3) expect(found.get(record.md5!)).toEqual(record);
      const wholeHere = parts.filter((n) => n === 3).length;
      // What the importer saw committed is all there; the batch it was writing may be in part, record by record.
      if (batch < committed) expect({ batch, whole: wholeHere }).toEqual({ batch, whole: EMBEDDED_BATCH_SIZE });
      whole += wholeHere;
    }
    expect(await store.hashes.countRecords()).toBe(whole);
    const version = store.listVersion();
    // The store takes writes again after the crash.
    await store.hashes.putRecords([embeddedBatchRecord(99, 0)]);
    expect(store.listVersion()).toBe(version + 1);
  });
});
