import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { ContainerMemory } from '../../lambdas/core/derived.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { createUpload, UPLOAD_URL_TTL_SECONDS, type CreatedUpload, type ScanRecord, type ScanStore } from '../../lambdas/core/uploads.js';
import { makeClientErrorListener, parseRequestTarget } from '../../local/http-edge.js';
import { UPLOAD_KEY_FILE } from '../../local/upload-signing.js';
import { makeLocalUploads, UPLOADS_FOLDER, type LocalUploads } from '../../local/uploads.js';
import { zipOf } from '../support/archives.js';
import { memoryLog } from '../support/events.js';
import { multipartBody } from '../support/multipart.js';
import { pollUntil } from '../support/poll.js';
import { openRaw, parseRawAnswer, sendRaw, type RawAnswer } from '../support/raw-http.js';
import { EICAR, EICAR_RECORD } from '../support/reference.js';

class MemoryScans implements ScanStore {
  readonly rows = new Map<string, ScanRecord>();
  async put(record: ScanRecord): Promise<void> {
    this.rows.set(record.uploadId, record);
  }
  async finish(record: ScanRecord): Promise<boolean> {
    if (this.rows.get(record.uploadId)?.status !== 'pending') return false;
    this.rows.set(record.uploadId, record);
    return true;
  }
  async get(uploadId: string): Promise<ScanRecord | undefined> {
    return this.rows.get(uploadId);
  }
}

/** A list holding the EICAR record alone. */
const store: HashStore = {
  getMany: async (hashes) => {
    const known = new Set<string>([EICAR_RECORD.sha256!, EICAR_RECORD.sha1!, EICAR_RECORD.md5!]);
    return new Map<HashHex, KnownRecord>(hashes.filter((hash) => known.has(hash)).map((hash) => [hash, EICAR_RECORD]));
  },
};

/** The upload URLs served by a bare HTTP server, as the local server serves them, with the edge's answers to broken HTTP. */
async function serveUploads(options: {
  dataDir: string;
  now: () => Date;
  inside?: SevenZipLookInside;
  remember?: ContainerMemory;
  bodyIdleTimeoutMs?: number;
}) {
  const scans = new MemoryScans();
  const log = memoryLog();
  let baseUrl = '';
  const uploads = await makeLocalUploads({ ...options, baseUrl: () => baseUrl, scans, store, log });
  const server: Server = createServer((req, res) => {
    const target = parseRequestTarget(req.url ?? '/')!;
    if (uploads.handle(req, res, target, randomUUID())) return;
    if (target.path === '/create') {
      // Stands for `POST /v1/uploads`, answered as the local server answers the API.
      void uploads.answering(req, target, async () => {
        const created = await createUpload({ fileName: 'a.bin', size: 1 }, { scans, objects: uploads.signer, now: options.now });
        const body = JSON.stringify(created);
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not an upload');
  });
  server.on('clientError', makeClientErrorListener({ headersTimeoutMs: 10_000, maxHeaderBytes: 16 * 1024 }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    uploads,
    scans,
    log,
    /** Asks for an upload as `POST /v1/uploads` does. */
    create: (fileName: string, size: number): Promise<CreatedUpload> => createUpload({ fileName, size }, { scans, objects: uploads.signer, now: options.now }),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let dataDir: string;
let skewMs = 0;
const now = () => new Date(Date.now() + skewMs);
let local: Awaited<ReturnType<typeof serveUploads>>;

beforeAll(async () => {
  dataDir = join(await mkdtemp(join(tmpdir(), 'hashcheck-local-uploads-')), 'data');
  local = await serveUploads({ dataDir, now });
});

afterAll(async () => {
  await local?.close();
  await rm(join(dataDir, '..'), { recursive: true, force: true });
});

beforeEach(() => {
  skewMs = 0;
});

/** Files in the data folder's uploads folder. */
const stored = () => readdirSync(join(dataDir, UPLOADS_FOLDER));
const noneStored = () => pollUntil(() => (stored().length === 0 ? true : undefined), 10_000, 'the upload to be deleted');

const finished = (uploadId: string) =>
  pollUntil(() => {
    const row = local.scans.rows.get(uploadId);
    return row?.status === 'pending' ? undefined : row;
  }, 30_000, `upload ${uploadId} to be scanned`);

/** The path and query of a URL, for a request written by hand. */
const pathOf = (url: string) => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};

/** Sends a request written by hand and parses the answer the server gives before it closes the connection. */
async function raw(head: string, body: Buffer | string = ''): Promise<RawAnswer> {
  const answer = parseRawAnswer(await sendRaw(local.url, Buffer.concat([Buffer.from(head), Buffer.from(body)]), { keepOpen: true }));
  if (!answer) throw new Error('no answer');
  return answer;
}

const putHead = (url: string, headers: string) => `PUT ${pathOf(url)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`;

/** A chunked body of the given pieces, ended. */
const chunked = (...pieces: (Buffer | string)[]) =>
  Buffer.concat([...pieces.flatMap((piece) => [Buffer.from(`${Buffer.byteLength(piece).toString(16)}\r\n`), Buffer.from(piece), Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);

async function expectRefused(answer: { status: number; body: string }, status: number, code: string): Promise<void> {
  expect(answer.status).toBe(status);
  expect(JSON.parse(answer.body)).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
}

/** The scan of a refused upload is still waiting for its file, and nothing of the body is kept. */
function expectNothingKept(uploadId: string): void {
  expect(local.scans.rows.get(uploadId)?.status).toBe('pending');
  expect(stored()).toEqual([]);
}

async function putFile(created: CreatedUpload, body: Buffer | string) {
  const response = await fetch(created.put.url, { method: 'PUT', headers: created.put.headers, body });
  return { status: response.status, body: await response.text() };
}

describe('the signing key', () => {
  it('is made on first use as 32 bytes in a 0600 file, the data folder 0700, and kept across restarts', async () => {
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, UPLOAD_KEY_FILE))).toBe(0o600);
    expect(readFileSync(join(dataDir, UPLOAD_KEY_FILE))).toHaveLength(32);
    expect(mode(join(dataDir, UPLOADS_FOLDER))).toBe(0o700);
    // A server started again on the same folder keeps the key: the URLs handed out before still hold.
    const keyBefore = readFileSync(join(dataDir, UPLOAD_KEY_FILE));
    const fixed = () => new Date('2026-01-01T00:00:00Z');
    const restart = () => makeLocalUploads({ dataDir, baseUrl: () => local.url, scans: local.scans, store, now: fixed, log: memoryLog() });
    const key = 'uploads/0b5f6f1e-8d1c-4c3e-9f0a-2a7b6c5d4e3f';
    const signed = await (await restart()).signer.presignUpload(key, 1, 60);
    expect(readFileSync(join(dataDir, UPLOAD_KEY_FILE))).toEqual(keyBefore);
    expect((await (await restart()).signer.presignUpload(key, 1, 60)).put.url).toBe(signed.put.url);
    expect(signed.put.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/uploads\/0b5f6f1e-8d1c-4c3e-9f0a-2a7b6c5d4e3f\?size=1&expires=1767225660&signature=[0-9a-f]{64}$/);
    expect(signed.post).toEqual({ url: signed.put.url, fields: {} });
  });
});

describe('uploads to the server itself', () => {
  it('scans a file sent with the PUT URL, answers 200 once it is in, finds EICAR malicious, then deletes it', async () => {
    const created = await local.create('eicar.com', 68);
    expect(created.put.url.startsWith(`${local.url}/uploads/${created.uploadId}?`)).toBe(true);
    expect(created.put.headers).toEqual({ 'content-length': '68' });
    expect(await putFile(created, EICAR)).toEqual({ status: 200, body: '' });
    const row = await finished(created.uploadId);
    expect(row).toMatchObject({ status: 'done', file: { fileName: 'eicar.com', size: 68, md5: EICAR_RECORD.md5, verdict: 'malicious' } });
    expect(row.file!.matches[0]!.kind).toBe('test-file');
    await noneStored();
  });

  it('scans a file sent as a browser form POST, fields first and the file last, and answers 204', async () => {
    const created = await local.create('eicar.com', 68);
    const form = new FormData();
    for (const [name, value] of Object.entries(created.post.fields)) form.append(name, value);
    form.append('note', 'a field before the file');
    form.append('file', new Blob([EICAR]), 'eicar.com');
    const post = await fetch(created.post.url, { method: 'POST', body: form });
    expect(post.status).toBe(204);
    expect(await finished(created.uploadId)).toMatchObject({ status: 'done', file: { size: 68, verdict: 'malicious' } });
    await noneStored();
  });

  it('writes the body to a 0600 file in the 0700 uploads folder while it arrives, and refuses a second upload meanwhile', async () => {
    const created = await local.create('sample.bin', 10);
    const first = openRaw(local.url);
    first.socket.write(putHead(created.put.url, 'Transfer-Encoding: chunked\r\n') + '5\r\nhello\r\n');
    const path = join(dataDir, UPLOADS_FOLDER, created.uploadId);
    await pollUntil(() => (existsSync(path) ? true : undefined), 10_000, 'the upload file');
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const second = await putFile(created, '0123456789');
    await expectRefused(second, 409, 'invalid_request');

    first.socket.write('5\r\nworld\r\n0\r\n\r\n');
    expect(parseRawAnswer(await first.received)?.status).toBe(200);
    expect(await finished(created.uploadId)).toMatchObject({ status: 'done', file: { size: 10, verdict: 'unknown' } });
    await noneStored();
  });

  it('looks inside an uploaded archive, names the known-bad member and remembers the archive as a derived record', async () => {
    const scratchParent = await mkdtemp(join(tmpdir(), 'hashcheck-local-uploads-inside-'));
    const insideDir = join(scratchParent, 'data');
    const remembered: KnownRecord[] = [];
    const remember: ContainerMemory = {
      store: { ...store, getStored: async () => new Map(), putRecords: async (records) => void remembered.push(...records) },
      now,
    };
    const inside = new SevenZipLookInside(undefined, { scratchParent });
    const withInside = await serveUploads({ dataDir: insideDir, now, inside, remember });
    try {
      const zip = zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' });
      const created = await withInside.create('tools.zip', zip.length);
      expect((await fetch(created.put.url, { method: 'PUT', headers: created.put.headers, body: zip })).status).toBe(200);
      const row = await pollUntil(() => {
        const scan = withInside.scans.rows.get(created.uploadId);
        return scan?.status === 'pending' ? undefined : scan;
      });
      expect(row).toMatchObject({ status: 'done', file: { verdict: 'malicious', matches: [], inside: { members: 2, complete: true } } });
      expect(row.file!.inside!.matches[0]!.path).toEqual(['tools/eicar.com']);
      expect(remembered).toEqual([expect.objectContaining({ sha256: row.file!.sha256, kind: 'container' })]);
      await pollUntil(() => (readdirSync(join(insideDir, UPLOADS_FOLDER)).length === 0 ? true : undefined), 10_000, 'the upload to be deleted');
      expect(readdirSync(scratchParent).filter((name) => name.startsWith('hashcheck-inside-'))).toEqual([]);
    } finally {
      await withInside.close();
      await rm(scratchParent, { recursive: true, force: true });
    }
  });

  it('never logs the file name or its bytes', async () => {
    const name = `secret-plan-${randomUUID()}.doc`;
    const created = await local.create(name, 68);
    await putFile(created, EICAR);
    await finished(created.uploadId);
    await putFile(created, EICAR);
    const logged = JSON.stringify(local.log.lines);
    expect(logged).toContain(created.uploadId);
    expect(logged).not.toContain(name);
    expect(logged).not.toContain('EICAR-STANDARD');
    await noneStored();
  });
});

describe('the upload URLs', () => {
  it('name the host and port the client asked by, so a page opened at localhost sends to its own origin', async () => {
    const port = new URL(local.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'hashcheck.internal']) {
      const answer = parseRawAnswer(await sendRaw(local.url, `POST /create HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, { keepOpen: true }))!;
      expect(answer.status).toBe(201);
      const created = JSON.parse(answer.body) as CreatedUpload;
      expect(created.put.url.startsWith(`http://${host}/uploads/${created.uploadId}?`), host).toBe(true);
      expect(created.post.url).toBe(created.put.url);
    }
  });

  it('name the server\'s own address when the request named no usable host', async () => {
    for (const head of ['POST /create HTTP/1.0\r\n', 'POST /create HTTP/1.1\r\nHost: a@b\r\n']) {
      const answer = parseRawAnswer(await sendRaw(local.url, `${head}Connection: close\r\nContent-Length: 0\r\n\r\n`, { keepOpen: true }))!;
      expect(answer.status).toBe(201);
      expect((JSON.parse(answer.body) as CreatedUpload).put.url.startsWith(`${local.url}/uploads/`)).toBe(true);
    }
  });
});

describe('uploads refused, nothing kept and the scan left pending', () => {
  it('answers 403 unauthorized for a forged, missing or borrowed signature, or a changed size', async () => {
    const created = await local.create('eicar.com', 68);
    const other = await local.create('other.bin', 68);
    const url = new URL(created.put.url);
    const signature = url.searchParams.get('signature')!;
    const variants: URL[] = [];
    const withParam = (name: string, value: string | null) => {
      const changed = new URL(url);
      if (value === null) changed.searchParams.delete(name);
      else changed.searchParams.set(name, value);
      variants.push(changed);
    };
    withParam('signature', `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`);
    withParam('signature', null);
    withParam('signature', 'not-hex');
    withParam('size', '69');
    withParam('expires', String(Number(url.searchParams.get('expires')) + 3600));
    variants.push(new URL(`${local.url}/uploads/${created.uploadId}`));
    // Another upload's valid URL, pointed at this upload.
    variants.push(new URL(other.put.url.replace(other.uploadId, created.uploadId)));
    for (const variant of variants) {
      const response = await fetch(variant, { method: 'PUT', headers: created.put.headers, body: EICAR });
      await expectRefused({ status: response.status, body: await response.text() }, 403, 'unauthorized');
      const form = new FormData();
      form.append('file', new Blob([EICAR]), 'eicar.com');
      const post = await fetch(variant, { method: 'POST', body: form });
      await expectRefused({ status: post.status, body: await post.text() }, 403, 'unauthorized');
    }
    expectNothingKept(created.uploadId);
    // The real URL still works.
    expect((await putFile(created, EICAR)).status).toBe(200);
    expect(await finished(created.uploadId)).toMatchObject({ status: 'done' });
    await noneStored();
  });

  it('answers 403 for a URL past its expiry', async () => {
    const created = await local.create('eicar.com', 68);
    skewMs = UPLOAD_URL_TTL_SECONDS * 1000 + 1000;
    const answer = await putFile(created, EICAR);
    await expectRefused(answer, 403, 'unauthorized');
    expect(JSON.parse(answer.body).error.message).toContain('expired');
    expectNothingKept(created.uploadId);
  });

  it('answers 409 to a second upload to a URL already used, and the verdict stands', async () => {
    const created = await local.create('eicar.com', 68);
    expect((await putFile(created, EICAR)).status).toBe(200);
    const verdict = await finished(created.uploadId);
    await noneStored();
    await expectRefused(await putFile(created, 'X'.repeat(68)), 409, 'invalid_request');
    const form = new FormData();
    form.append('file', new Blob(['X'.repeat(68)]), 'other.bin');
    const post = await fetch(created.post.url, { method: 'POST', body: form });
    await expectRefused({ status: post.status, body: await post.text() }, 409, 'invalid_request');
    expect(local.scans.rows.get(created.uploadId)).toEqual(verdict);
    expect(stored()).toEqual([]);
  });

  it('answers 413 and closes the connection for a chunked body longer than declared, and the URL still takes the right file', async () => {
    const created = await local.create('sample.bin', 10);
    const answer = await raw(putHead(created.put.url, 'Transfer-Encoding: chunked\r\n'), chunked('0123456789', 'X'));
    await expectRefused(answer, 413, 'payload_too_large');
    expect(answer.headers['connection']).toBe('close');
    expectNothingKept(created.uploadId);
    expect((await putFile(created, '0123456789')).status).toBe(200);
    expect(await finished(created.uploadId)).toMatchObject({ status: 'done', file: { size: 10 } });
    await noneStored();
  });

  it('answers 400 for a chunked body that ends short of the declared size', async () => {
    const created = await local.create('sample.bin', 10);
    await expectRefused(await raw(putHead(created.put.url, 'Transfer-Encoding: chunked\r\n'), chunked('01234')), 400, 'invalid_request');
    expectNothingKept(created.uploadId);
  });

  it('answers 400 to a client that stops sending early and ends the connection', async () => {
    const created = await local.create('sample.bin', 10);
    const client = openRaw(local.url);
    client.socket.write(putHead(created.put.url, 'Content-Length: 10\r\n'));
    client.socket.write('01234');
    await pollUntil(() => (stored().length > 0 ? true : undefined), 10_000, 'the upload to start');
    client.socket.end();
    await expectRefused(parseRawAnswer(await client.received)!, 400, 'invalid_request');
    await noneStored();
    expectNothingKept(created.uploadId);
  });

  it('answers 408 and closes the connection when the body stops arriving, however long the upload may take', async () => {
    const idleDir = join(dataDir, '..', 'idle');
    const idle = await serveUploads({ dataDir: idleDir, now, bodyIdleTimeoutMs: 200 });
    try {
      const created = await idle.create('sample.bin', 10);
      const client = openRaw(idle.url);
      client.socket.write(putHead(created.put.url, 'Content-Length: 10\r\n') + '01234');
      const answer = parseRawAnswer(await client.received)!;
      await expectRefused(answer, 408, 'invalid_request');
      expect(answer.headers['connection']).toBe('close');
      expect(readdirSync(join(idleDir, UPLOADS_FOLDER))).toEqual([]);
      expect(idle.scans.rows.get(created.uploadId)?.status).toBe('pending');
    } finally {
      await idle.close();
    }
  });

  it.each([
    ['shorter than declared with 400', 'Content-Length: 9\r\n', 400, 'invalid_request'],
    ['longer than declared with 413', 'Content-Length: 11\r\n', 413, 'payload_too_large'],
    ['left out with 400', '', 400, 'invalid_request'],
  ])('answers a Content-Length %s before reading the body', async (_name, header, status, code) => {
    const created = await local.create('sample.bin', 10);
    // Only the head is sent: the answer comes without the body.
    const answer = await raw(putHead(created.put.url, header));
    await expectRefused(answer, status, code);
    expect(answer.headers['connection']).toBe('close');
    expectNothingKept(created.uploadId);
  });

  it('answers 413 for a form whose file is longer than declared, 400 for one shorter', async () => {
    const created = await local.create('sample.bin', 10);
    for (const [content, status, code] of [
      ['0123456789X', 413, 'payload_too_large'],
      ['012345678', 400, 'invalid_request'],
    ] as const) {
      const form = multipartBody([{ field: 'file', fileName: 'sample.bin', content }]);
      const post = await fetch(created.post.url, { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body });
      await expectRefused({ status: post.status, body: await post.text() }, status, code);
      expectNothingKept(created.uploadId);
    }
  });

  it('answers 400 to malformed forms and keeps serving', async () => {
    const created = await local.create('sample.bin', 10);
    const form = multipartBody([{ field: 'file', fileName: 'sample.bin', content: '0123456789' }]);
    const boundary = form.contentType.split('boundary=')[1]!;
    const bodies: [string, Buffer | string][] = [
      // A folded header line before any header: 72 bytes that end an s3rver process (dicer 0.3 throws on them).
      ['multipart/form-data; boundary=x', '--x\r\n Content-Disposition: form-data; name="file"\r\n\r\n0123456789\r\n--x--\r\n'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n0123456789'],
      ['multipart/form-data', form.body],
      [form.contentType, form.body.subarray(0, form.body.length - 10)],
      [form.contentType, Buffer.concat([Buffer.from(`--${boundary}\r\n\r\n`), Buffer.alloc(20, 0x41)])],
      [form.contentType, multipartBody([{ field: 'note', content: 'x'.repeat(20) }]).body],
      [`multipart/form-data; boundary=${boundary}`, multipartBody([{ field: 'other', fileName: 'a.bin', content: '0123456789' }]).body],
    ];
    for (const [type, body] of bodies) {
      const post = await fetch(created.post.url, { method: 'POST', headers: { 'content-type': type }, body });
      await expectRefused({ status: post.status, body: await post.text() }, 400, 'invalid_request');
      expectNothingKept(created.uploadId);
    }
    const response = await fetch(created.post.url, { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body });
    expect(response.status).toBe(204);
    expect(await finished(created.uploadId)).toMatchObject({ status: 'done', file: { size: 10 } });
    await noneStored();
  });

  it('answers 415 to a POST that is no form, 405 to other methods and 404 to a path that names no upload', async () => {
    const created = await local.create('sample.bin', 10);
    const post = await fetch(created.post.url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: '0123456789' });
    await expectRefused({ status: post.status, body: await post.text() }, 415, 'unsupported_media_type');
    const get = await fetch(created.put.url);
    await expectRefused({ status: get.status, body: await get.text() }, 405, 'method_not_allowed');
    expect(get.headers.get('allow')).toBe('PUT, POST, OPTIONS');
    const nowhere = await fetch(`${local.url}/uploads/not-an-id`, { method: 'PUT', body: 'x' });
    await expectRefused({ status: nowhere.status, body: await nowhere.text() }, 404, 'not_found');
    expectNothingKept(created.uploadId);
    const other = await fetch(`${local.url}/v1/uploads`, { method: 'POST' });
    expect(await other.text()).toBe('not an upload');
  });
});
