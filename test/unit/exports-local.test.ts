import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { EXPORT_FORMATS, renderExport } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { recordDigests, type KnownRecord } from '../../lambdas/core/records.js';
import type { LocalKeys } from '../../local/auth.js';
import { makeLocalExports } from '../../local/exports.js';
import { parseRequestTarget } from '../../local/http-edge.js';

const NOW = new Date('2026-03-04T05:06:07.891Z');
const silent = { info: () => {}, warn: () => {}, error: () => {} };

function record(n: number, extra: Partial<KnownRecord> = {}): KnownRecord {
  return {
    sha256: n.toString(16).padStart(64, '0') as HashHex,
    sha1: (n * 7919).toString(16).padStart(40, '0') as HashHex,
    md5: (n * 104729).toString(16).padStart(32, '0') as HashHex,
    fileName: `payload-${n}.dll`,
    platform: 'windows',
    version: '1',
    kind: 'payload',
    stage: 'test',
    campaign: 'Local export test',
    confidence: 'high',
    sources: ['test'],
    ...extra,
  };
}

/** The embedded store's API in memory: a version bumped by every write, records read lazily in primary-digest order. */
class FakeStore {
  version = 0;
  reads = 0;
  failing = false;
  /** While set, every read of the records waits for it. */
  gate: Promise<void> | undefined;
  private readonly byKey = new Map<string, KnownRecord>();
  readonly hashes = {
    records: () => this.records(),
  };
  put(...records: KnownRecord[]): void {
    for (const r of records) this.byKey.set(recordDigests(r)[0]!.hash, r);
    this.version++;
  }
  listVersion(): number {
    return this.version;
  }
  list(): KnownRecord[] {
    return [...this.byKey.values()].filter((r) => !r.revoked);
  }
  private async *records(): AsyncGenerator<KnownRecord> {
    this.reads++;
    await this.gate;
    if (this.failing) throw new UpstreamUnavailableError('The known-bad list could not be read; try again shortly.');
    for (const key of [...this.byKey.keys()].sort()) yield this.byKey.get(key)!;
  }
}

let dataDir: string;
let store: FakeStore;
let server: Server;
let url: string;
let clock: Date;

async function start(keys: LocalKeys = { apiKeys: [] }): Promise<void> {
  const exports = makeLocalExports({ store, dataDir, log: silent, keys, now: () => clock });
  server = createServer((req, res) => {
    const target = parseRequestTarget(req.url ?? '')!;
    void Promise.resolve(exports.handle(req, res, target, 'req-1')).then((handled) => {
      if (!handled) {
        res.writeHead(599);
        res.end('not handled');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-local-exports-'));
  store = new FakeStore();
  store.put(record(1), record(2, { size: 68 }), record(3, { sha256: undefined }), record(4, { revoked: { at: 'x', by: 'y', reason: 'z' } }));
  clock = NOW;
  await start();
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file and folder under the exports folder, by path relative to it. */
async function exportFiles(): Promise<string[]> {
  return (await readdir(join(dataDir, 'exports'), { recursive: true })).map(String).sort();
}

describe('makeLocalExports', () => {
  it.each(EXPORT_FORMATS)('serves %s with the bytes the list renders to, dated when its version was first exported', async (format) => {
    const answer = await raw(`/v1/exports/${format}`);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe(renderExport(format, { records: store.list(), updatedAt: NOW.toISOString() }).body);
    expect(answer.headers['content-length']).toBe(String(answer.body.length));
    expect(answer.headers['etag']).toMatch(/^W\/".+"$/);
    expect(answer.headers['last-modified']).toBe(new Date('2026-03-04T05:06:07Z').toUTCString());
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers If-None-Match and HEAD from the file already written, without reading the list again', async () => {
    const first = await raw('/v1/exports/sha256.txt');
    const reads = store.reads;
    const again = await raw('/v1/exports/sha256.txt', { 'if-none-match': String(first.headers['etag']) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers['etag']).toBe(first.headers['etag']);
    const head = await raw('/v1/exports/sha256.txt', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(first.body.length));
    const full = await raw('/v1/exports/sha256.txt');
    expect(full.body.equals(first.body)).toBe(true);
    expect(store.reads).toBe(reads);
  });

  it('answers If-Modified-Since with the Last-Modified date 304, and an earlier date 200', async () => {
    const first = await raw('/v1/exports/md5.txt');
    const lastModified = String(first.headers['last-modified']);
    expect((await raw('/v1/exports/md5.txt', { 'if-modified-since': lastModified })).status).toBe(304);
    const earlier = new Date(new Date(lastModified).getTime() - 1000).toUTCString();
    expect((await raw('/v1/exports/md5.txt', { 'if-modified-since': earlier })).status).toBe(200);
  });

  it('writes a new version after a change, with a new ETag, a later Last-Modified even within the same second, and removes the old one', async () => {
    const first = await raw('/v1/exports/sha256.txt');
    store.put(record(99));
    const changed = await raw('/v1/exports/sha256.txt', { 'if-none-match': String(first.headers['etag']), 'if-modified-since': String(first.headers['last-modified']) });
    expect(changed.status).toBe(200);
    expect(changed.headers['etag']).not.toBe(first.headers['etag']);
    expect(new Date(String(changed.headers['last-modified'])).getTime()).toBe(new Date(String(first.headers['last-modified'])).getTime() + 1000);
    expect(changed.body.toString()).toContain(record(99).sha256);
    expect(await exportFiles()).toEqual(['2', '2/sha256.txt', '2/sha256.txt.gz', '2/version.json', 'list-id']);
  });

  it('keeps the exports readable by the service’s user only, with nothing temporary left behind', async () => {
    await Promise.all(EXPORT_FORMATS.map((format) => raw(`/v1/exports/${format}`)));
    const files = await exportFiles();
    expect(files.filter((f) => f.includes('.tmp') || f.includes('.sort-'))).toEqual([]);
    for (const f of files) {
      const info = await stat(join(dataDir, 'exports', f));
      expect((info.mode & 0o777).toString(8)).toBe(info.isDirectory() ? '700' : '600');
    }
    expect(((await stat(join(dataDir, 'exports'))).mode & 0o777).toString(8)).toBe('700');
  });

  it('writes a version once when requests for it arrive together', async () => {
    const before = store.reads;
    const answers = await Promise.all(Array.from({ length: 5 }, () => raw('/v1/exports/iocs.json')));
    expect(new Set(answers.map((a) => a.body.toString())).size).toBe(1);
    // iocs.json reads the list twice: once to count, once to write.
    expect(store.reads - before).toBe(2);
  });

  it('finishes writing a version the list has moved past while a newer one is written and served', async () => {
    let release = () => {};
    store.gate = new Promise((resolve) => (release = resolve));
    const reads = store.reads;
    const older = raw('/v1/exports/sha1.txt');
    for (const deadline = Date.now() + 10_000; store.reads === reads; ) {
      if (Date.now() > deadline) throw new Error('the export of the older version never started');
      await new Promise((resolve) => setImmediate(resolve));
    }
    store.gate = undefined;
    store.put(record(50));
    expect((await raw('/v1/exports/sha256.txt')).status).toBe(200);
    release();
    const answer = await older;
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toMatch(/^# hashcheck known-bad list: SHA-1/);
  });

  it('gzips for a client that takes gzip, to the same bytes, with the same ETag', async () => {
    store.put(...Array.from({ length: 100 }, (_, i) => record(1000 + i)));
    const plain = await raw('/v1/exports/iocs.json');
    const gzipped = await raw('/v1/exports/iocs.json', { 'accept-encoding': 'gzip, deflate' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['content-length']).toBe(String(gzipped.body.length));
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
    expect(gzipped.headers['etag']).toBe(plain.headers['etag']);
    for (const coding of ['identity', 'gzip;q=0', 'br']) {
      expect((await raw('/v1/exports/iocs.json', { 'accept-encoding': coding })).headers['content-encoding']).toBeUndefined();
    }
  });

  it('answers an unknown format 404 not_found listing the formats', async () => {
    const answer = await raw('/v1/exports/clamav.exe');
    expect(answer.status).toBe(404);
    const body = JSON.parse(answer.body.toString()) as { error: { code: string; formats: string[]; requestId: string } };
    expect(body.error).toMatchObject({ code: 'not_found', formats: [...EXPORT_FORMATS], requestId: 'req-1' });
  });

  it('leaves every other request to the server', async () => {
    for (const [path, method] of [
      ['/v1/health', 'GET'],
      ['/v1/exports/sha256.txt', 'POST'],
      ['/v1/exports/sha256.txt', 'OPTIONS'],
      ['/v1/exports', 'GET'],
    ] as const) {
      expect((await raw(path, {}, method)).status).toBe(599);
    }
  });

  it('answers 403 without the API key when keys are set, as the deployed key check does, and serves with it in ?apikey=', async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await start({ apiKeys: ['k1'] });
    expect((await raw('/v1/exports/sha256.txt')).status).toBe(403);
    expect((await raw('/v1/exports/sha256.txt?apikey=k1')).status).toBe(200);
  });

  it('answers 503 upstream_unavailable when the list cannot be read, writes no export, and writes it once the list reads again', async () => {
    store.failing = true;
    const failed = await raw('/v1/exports/sha256.txt');
    expect(failed.status).toBe(503);
    expect(JSON.parse(failed.body.toString()).error.code).toBe('upstream_unavailable');
    expect((await exportFiles()).filter((f) => f.endsWith('.txt') || f.includes('.tmp') || f.includes('.sort-'))).toEqual([]);
    store.failing = false;
    expect((await raw('/v1/exports/sha256.txt')).status).toBe(200);
  });
});
