import { describe, expect, it } from 'vitest';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { importRecords, type RecordStore } from '../../lambdas/core/import.js';
import { recordDigests, type KnownRecord } from '../../lambdas/core/records.js';

function memoryStore(): RecordStore & { items: Map<HashHex, KnownRecord>; writes: number } {
  const items = new Map<HashHex, KnownRecord>();
  const store = {
    items,
    writes: 0,
    async getStored(hashes: readonly HashHex[]) {
      return new Map(hashes.flatMap((h) => (items.has(h) ? [[h, items.get(h)!] as const] : [])));
    },
    async getMany(hashes: readonly HashHex[]) {
      return new Map([...(await store.getStored(hashes))].filter(([, r]) => !r.revoked));
    },
    async putRecords(records: readonly KnownRecord[]) {
      store.writes += 1;
      for (const r of records) for (const d of recordDigests(r)) items.set(d.hash, r);
    },
  };
  return store;
}

const record: KnownRecord = {
  sha256: 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868' as HashHex,
  md5: 'f3d4144860ca10ba60f7ef4d176cc736' as HashHex,
  fileName: 'a.msi',
  platform: 'windows',
  version: '1',
  kind: 'installer',
  stage: 'supply-chain',
  campaign: 'c',
  confidence: 'high',
  sources: ['s'],
};

describe('importRecords', () => {
  it('adds new records under every digest with the import time', async () => {
    const store = memoryStore();
    const report = await importRecords([record], { store, now: () => new Date('2026-01-01T00:00:00Z') });
    expect(report).toEqual({ total: 1, added: 1, updated: 0, unchanged: 0, revoked: 0 });
    expect(store.items.get(record.md5!)).toMatchObject({ fileName: 'a.msi', addedAt: '2026-01-01T00:00:00.000Z' });
    expect(store.items.get(record.sha256!)).toBe(store.items.get(record.md5!));
  });

  it('changes nothing when the same list is imported again', async () => {
    const store = memoryStore();
    await importRecords([record], { store, now: () => new Date('2026-01-01T00:00:00Z') });
    const again = await importRecords([record], { store, now: () => new Date('2026-06-01T00:00:00Z') });
    expect(again).toEqual({ total: 1, added: 0, updated: 0, unchanged: 1, revoked: 0 });
    expect(store.writes).toBe(1);
    expect(store.items.get(record.md5!)?.addedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('rewrites a changed record and keeps the time it was first added', async () => {
    const store = memoryStore();
    await importRecords([record], { store, now: () => new Date('2026-01-01T00:00:00Z') });
    const report = await importRecords([{ ...record, sources: ['s', 't'] }], { store, now: () => new Date('2026-06-01T00:00:00Z') });
    expect(report).toEqual({ total: 1, added: 0, updated: 1, unchanged: 0, revoked: 0 });
    expect(store.items.get(record.sha256!)).toMatchObject({ sources: ['s', 't'], addedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('leaves a revoked record revoked, unless an administrator reinstates it', async () => {
    const store = memoryStore();
    const revoked = { at: '2026-02-01T00:00:00.000Z', by: 'analyst', reason: 'false positive' };
    await store.putRecords([{ ...record, addedAt: '2026-01-01T00:00:00.000Z', revoked }]);
    const report = await importRecords([record], { store, now: () => new Date('2026-06-01T00:00:00Z') });
    expect(report).toMatchObject({ added: 0, updated: 0, unchanged: 0, revoked: 1 });
    expect(store.items.get(record.md5!)?.revoked).toEqual(revoked);

    const reinstated = await importRecords([record], { store, now: () => new Date() }, { reinstate: true });
    expect(reinstated).toMatchObject({ updated: 1, revoked: 0 });
    expect(store.items.get(record.md5!)?.revoked).toBeUndefined();
    expect(store.items.get(record.md5!)?.addedAt).toBe('2026-01-01T00:00:00.000Z');
  });
});
