import { describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { EXPORT_FORMATS, rebuildExports, type ExportManifest, type ExportObjects, type ReadList } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';

const RECORD: KnownRecord = {
  sha256: 'a'.repeat(64) as HashHex,
  fileName: 'payload.dll',
  platform: 'windows',
  version: '1',
  kind: 'payload',
  stage: 'test',
  campaign: 'Rebuild test',
  confidence: 'high',
  sources: ['test'],
};

/** Exports kept in memory, with switches to make a step fail. */
class MemoryObjects implements ExportObjects {
  manifest: ExportManifest | undefined;
  readonly objects = new Map<string, string>();
  failDelete = false;
  async readManifest() {
    return this.manifest;
  }
  async writeManifest(manifest: ExportManifest) {
    this.manifest = JSON.parse(JSON.stringify(manifest)) as ExportManifest;
  }
  async putExport(key: string, chunks: AsyncIterable<string>) {
    let text = '';
    for await (const chunk of chunks) text += chunk;
    this.objects.set(key, text);
    return { size: Buffer.byteLength(text) };
  }
  async deleteExports(keys: readonly string[]) {
    if (this.failDelete) throw new UpstreamUnavailableError('delete failed');
    for (const key of keys) this.objects.delete(key);
  }
}

const list = (updatedAt: string | undefined, records: KnownRecord[] = [RECORD]): (() => Promise<ReadList>) => async () => ({
  updatedAt,
  records: async function* () {
    yield* records;
  },
});

const deps = (objects: MemoryObjects, readList: () => Promise<ReadList>) => ({
  objects,
  readList,
  now: () => new Date('2026-05-01T00:00:00.000Z'),
  newListId: () => 'list1',
});

describe('rebuildExports', () => {
  it('writes every format of version 1, dated by the list, and names them in the manifest', async () => {
    const objects = new MemoryObjects();
    const manifest = await rebuildExports(deps(objects, list('2026-04-01T10:20:30.456Z')));
    expect(manifest.version).toBe(1);
    expect(Object.keys(manifest.formats).sort()).toEqual([...EXPORT_FORMATS].sort());
    expect(manifest.formats['sha256.txt']).toMatchObject({ key: '1/sha256.txt', lastModified: 'Wed, 01 Apr 2026 10:20:30 GMT' });
    expect(objects.objects.get('1/sha256.txt')).toContain(RECORD.sha256);
  });

  it('dates a version a second after the previous one when the list’s own dates did not move (a deletion leaves none)', async () => {
    const objects = new MemoryObjects();
    await rebuildExports(deps(objects, list('2026-04-01T10:20:30.456Z')));
    const second = await rebuildExports(deps(objects, list('2026-04-01T10:20:30.456Z', [])));
    expect(second.version).toBe(2);
    expect(second.formats['md5.txt']!.lastModified).toBe('Wed, 01 Apr 2026 10:20:31 GMT');
  });

  it('keeps the new version served, not marked stale, when removing the previous version’s objects fails', async () => {
    const objects = new MemoryObjects();
    await rebuildExports(deps(objects, list(undefined)));
    objects.failDelete = true;
    const second = await rebuildExports(deps(objects, list(undefined)));
    expect(objects.manifest).toEqual(second);
    expect(objects.manifest?.lastError).toBeUndefined();
  });

  it('records a failure to read the list before any export was written, with no formats to serve', async () => {
    const objects = new MemoryObjects();
    const failing = async (): Promise<ReadList> => Promise.reject(new UpstreamUnavailableError('The known-bad list could not be read.'));
    await expect(rebuildExports(deps(objects, failing))).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(objects.manifest).toMatchObject({ version: 0, formats: {}, lastError: { message: 'The known-bad list could not be read.' } });
  });

  it('reports an unexpected failure without its internals', async () => {
    const objects = new MemoryObjects();
    await rebuildExports(deps(objects, list(undefined)));
    const failing = async (): Promise<ReadList> => Promise.reject(new Error('ENOSPC: /tmp/secret-path'));
    await expect(rebuildExports(deps(objects, failing))).rejects.toThrow('ENOSPC');
    expect(objects.manifest?.lastError?.message).not.toContain('/tmp');
    expect(objects.manifest?.version).toBe(1);
  });
});
