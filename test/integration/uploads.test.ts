import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPLOADS_FOLDER } from '../../local/uploads.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';
import { EICAR } from '../support/reference.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-uploads-'));
});

afterAll(async () => {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const createUpload = (body: unknown, type = 'application/json') =>
  fetchJson(`${server.url}/v1/uploads`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) });

const finished = (uploadId: string) =>
  pollUntil(
    async () => {
      const { body } = await fetchJson(`${server.url}/v1/uploads/${uploadId}`);
      return body.status === 'pending' ? undefined : body;
    },
    30_000,
    `upload ${uploadId} to be scanned`,
  );

/** Files left in the data folder's uploads folder: uploads are deleted once scanned. */
function storedObjects(): string[] {
  return readdirSync(join(server.dataDir, UPLOADS_FOLDER));
}

/** The verdict is written before the object is deleted, so the deletion is awaited, with a deadline. */
const objectsDeleted = () => pollUntil(async () => (storedObjects().length === 0 ? true : undefined), 10_000, 'the upload to be deleted');

function openssl(algorithm: string, path: string): string {
  return execFileSync('openssl', ['dgst', `-${algorithm}`, '-r', path], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('large files through presigned uploads', () => {
  it('scans a file sent with the presigned PUT, with openssl digests, then deletes it', async () => {
    const bytes = randomBytes(6 * 1024 * 1024 + 123);
    const path = join(tmp, 'installer.msi');
    writeFileSync(path, bytes);
    const created = await createUpload({ fileName: 'installer.msi', size: bytes.length });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ uploadId: expect.any(String), maxBytes: bytes.length, put: { headers: {} } });
    // The URLs point at the server itself: nothing else listens.
    expect(created.body.put.url.startsWith(`${server.url}/uploads/${created.body.uploadId}?`)).toBe(true);
    expect(created.body.post.url.startsWith(`${server.url}/uploads/${created.body.uploadId}?`)).toBe(true);
    expect(new Date(created.body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
    expect((await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`)).body).toEqual({
      uploadId: created.body.uploadId,
      status: 'pending',
      file: null,
    });

    const put = await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: bytes });
    expect(put.status).toBe(200);
    const result = await finished(created.body.uploadId);
    expect(result).toEqual({
      uploadId: created.body.uploadId,
      status: 'done',
      file: {
        fileName: 'installer.msi',
        size: bytes.length,
        md5: openssl('md5', path),
        sha1: openssl('sha1', path),
        sha256: openssl('sha256', path),
        verdict: 'unknown',
        matches: [],
        // Random bytes are no container: looked into, nothing inside.
        inside: { members: 0, containers: 0, complete: true, reasons: [], matches: [] },
      },
    });
    await objectsDeleted();
    expect(storedObjects()).toEqual([]);
  });

  it('scans the EICAR file sent as a browser form POST and finds it malicious', async () => {
    const created = await createUpload({ fileName: 'eicar.com', size: 68 });
    const form = new FormData();
    for (const [name, value] of Object.entries(created.body.post.fields as Record<string, string>)) form.append(name, value);
    form.append('file', new Blob([EICAR]), 'eicar.com');
    const post = await fetch(created.body.post.url, { method: 'POST', body: form });
    expect(post.status).toBeLessThan(300);
    const result = await finished(created.body.uploadId);
    expect(result.file).toMatchObject({ fileName: 'eicar.com', size: 68, verdict: 'malicious' });
    expect(result.file.matches[0].kind).toBe('test-file');
    await objectsDeleted();
    expect(storedObjects()).toEqual([]);
  });

  it('refuses a file larger than declared with 413, keeping nothing and the scan still waiting for the file', async () => {
    const created = await createUpload({ fileName: 'liar.bin', size: 10 });
    const put = await fetchJson(created.body.put.url, { method: 'PUT', body: randomBytes(11) });
    expect(put.status).toBe(413);
    expect(put.body.error).toEqual({ code: 'payload_too_large', message: expect.any(String), requestId: expect.any(String) });
    expect(storedObjects()).toEqual([]);
    expect((await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`)).body.status).toBe('pending');
  });

  it('refuses a forged upload URL with 403 unauthorized: the bytes never replace the upload', async () => {
    const created = await createUpload({ fileName: 'eicar.com', size: 68 });
    const forged = new URL(created.body.put.url);
    forged.searchParams.set('signature', '0'.repeat(64));
    const put = await fetchJson(forged.href, { method: 'PUT', body: 'X'.repeat(68) });
    expect(put.status).toBe(403);
    expect(put.body.error.code).toBe('unauthorized');
    expect(storedObjects()).toEqual([]);
    await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: EICAR });
    expect((await finished(created.body.uploadId)).file).toMatchObject({ verdict: 'malicious' });
    await objectsDeleted();
  });

  it('refuses a second upload to the same URL with 409, and the scan already done stands', async () => {
    const created = await createUpload({ fileName: 'eicar.com', size: 68 });
    await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: EICAR });
    const first = await finished(created.body.uploadId);
    await objectsDeleted();
    const again = await fetchJson(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: 'X'.repeat(68) });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_request');
    expect(storedObjects()).toEqual([]);
    expect((await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`)).body).toEqual(first);
  });

  it('signs upload URLs for the host the client named, so a page opened at localhost sends to its own origin', async () => {
    const created = await fetchJson(`http://localhost:${server.port}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'eicar.com', size: 68 }),
    });
    expect(created.status).toBe(201);
    expect(created.body.post.url.startsWith(`http://localhost:${server.port}/uploads/${created.body.uploadId}?`)).toBe(true);
    const form = new FormData();
    form.append('file', new Blob([EICAR]), 'eicar.com');
    expect((await fetch(created.body.post.url, { method: 'POST', body: form })).status).toBe(204);
    expect((await finished(created.body.uploadId)).file).toMatchObject({ verdict: 'malicious' });
    await objectsDeleted();
  });

  it('answers 400 to a malformed form POST to an upload URL, and keeps serving', async () => {
    const created = await createUpload({ fileName: 'sample.bin', size: 10 });
    // A folded header line before any header: 72 bytes that end an s3rver process (dicer 0.3 throws on them).
    const crash = '--x\r\n Content-Disposition: form-data; name="file"\r\n\r\n0123456789\r\n--x--\r\n';
    const post = await fetchJson(created.body.post.url, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: crash });
    expect(post.status).toBe(400);
    expect(post.body.error.code).toBe('invalid_request');
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
    expect((await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`)).body.status).toBe('pending');
  });

  it.each([
    ['over 5 GiB', { fileName: 'disk.img', size: 5 * 1024 ** 3 + 1 }, 'application/json', 413, 'payload_too_large'],
    ['no size', { fileName: 'a' }, 'application/json', 400, 'invalid_request'],
    ['a negative size', { fileName: 'a', size: -1 }, 'application/json', 400, 'invalid_request'],
    ['a size that is not a number', { fileName: 'a', size: '12' }, 'application/json', 400, 'invalid_request'],
    ['a form body', { fileName: 'a', size: 1 }, 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
  ])('refuses an upload request with %s', async (_name, body, type, status, code) => {
    const answer = await createUpload(body, type);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
  });

  it('answers 404 for an upload id it never issued', async () => {
    for (const id of ['0b9cf3d0-0000-4000-8000-000000000000', 'not-an-id', '..%2F..%2Fetc']) {
      const answer = await fetchJson(`${server.url}/v1/uploads/${id}`);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('not_found');
    }
  });
});

describe('inline files on the local server', () => {
  it('answers 413 pointing to /v1/uploads for a 5 MiB body, and keeps serving', async () => {
    const answer = await fetchJson(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: randomBytes(5 * 1024 * 1024),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error.message).toContain('/v1/uploads');
    const eicar = await fetchJson(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: EICAR,
    });
    expect(eicar.body.files[0].verdict).toBe('malicious');
  });
});
