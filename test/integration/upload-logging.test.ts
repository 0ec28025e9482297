import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartBody } from '../support/multipart.js';
import { pollUntil } from '../support/poll.js';
import { SERVER_ENTRIES, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { mailWith } from '../support/mail.js';

/** A string found nowhere else, carried in every file body this test sends. */
const MARKER = `hashcheck-never-log-${randomUUID()}`;

/** A file holding the marker between random bytes, so it is found only if the bytes themselves are logged. */
const fileWithMarker = () => Buffer.concat([randomBytes(100), Buffer.from(MARKER), randomBytes(100)]);

/**
 * The forms the marker takes when its bytes are logged: as they are, in hex, and in base64 at each of
 * the three alignments it can have in a longer base64 text (the groups at either end depend on the
 * neighbouring bytes, so they are left out).
 */
function markerForms(): string[] {
  const forms = [MARKER, Buffer.from(MARKER).toString('hex')];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset, 0x20), Buffer.from(MARKER)]).toString('base64');
    forms.push(encoded.slice(4, -4));
  }
  return forms;
}

let dataDir: string;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hashcheck-logging-'));
  // The steerable entry runs the same server, and can make the store fail so error paths log too.
  server = await startServerProcess(SERVER_ENTRIES.steerable, {
    HASHCHECK_DATA_DIR: dataDir,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const post = (path: string, contentType: string, body: Buffer | string) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

/**
 * Declares a body over the route's limit and sends its first bytes (with the marker), then waits for the
 * answer, which the server gives without reading on; the rest of the body is never sent.
 */
function postTooLarge(path: string, contentType: string, declaredBytes: number): Promise<number> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': contentType, 'content-length': String(declaredBytes) } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.write(fileWithMarker());
  });
}

describe('logs of the upload routes', () => {
  it('never contain a file body, whatever happens to the upload', async () => {
    const statuses: Record<string, number> = {};
    const record = async (what: string, answer: Promise<Response>) => {
      const response = await answer;
      await response.arrayBuffer();
      statuses[what] = response.status;
      return response;
    };

    await record('raw', post('/v1/files', 'application/octet-stream', fileWithMarker()));
    const form = multipartBody([
      { field: 'note', content: `a form field ${MARKER}` },
      { field: 'file', fileName: 'sample.bin', content: fileWithMarker() },
    ]);
    await record('multipart', post('/v1/files', form.contentType, form.body));
    await record('truncated multipart', post('/v1/files', form.contentType, form.body.subarray(0, form.body.length - 60)));
    await record('broken multipart', post('/v1/files', 'multipart/form-data; boundary=nothing-like-it', form.body));
    const message = mailWith([{ name: 'invoice.bin', type: 'application/octet-stream', bytes: fileWithMarker() }], {
      text: `Please find the invoice attached. ${MARKER}`,
    });
    await record('mail message', post('/v1/files', 'message/rfc822', message));
    statuses['too large'] = await postTooLarge('/v1/files', 'application/octet-stream', 5 * 1024 * 1024);
    await record('create-upload garbage', post('/v1/uploads', 'application/json', `{"fileName": "${MARKER}`));

    // Large files through the server's own upload URLs, scanned once they are in; refused ones too.
    const large = fileWithMarker();
    const createLarge = async (fileName: string) =>
      (await (await post('/v1/uploads', 'application/json', JSON.stringify({ fileName, size: large.length }))).json()) as {
        uploadId: string;
        put: { url: string; headers: Record<string, string> };
        post: { url: string; fields: Record<string, string> };
      };
    const scannedAt = (uploadId: string) =>
      pollUntil(
        async () => {
          const status = (await (await fetch(`${server.url}/v1/uploads/${uploadId}`)).json()) as { status: string };
          return status.status === 'pending' ? undefined : status;
        },
        30_000,
        'the upload to be scanned',
      );
    const created = await createLarge(`big-${MARKER}.bin`);
    await record('presigned put', fetch(created.put.url, { method: 'PUT', headers: created.put.headers, body: large }));
    expect((await scannedAt(created.uploadId)).status).toBe('done');
    await record('presigned put again', fetch(created.put.url, { method: 'PUT', headers: created.put.headers, body: large }));
    const viaForm = await createLarge(`form-${MARKER}.bin`);
    const uploadForm = new FormData();
    uploadForm.append('file', new Blob([large]), `form-${MARKER}.bin`);
    await record('presigned form', fetch(viaForm.post.url, { method: 'POST', body: uploadForm }));
    expect((await scannedAt(viaForm.uploadId)).status).toBe('done');
    const refused = await createLarge(`refused-${MARKER}.bin`);
    await record('presigned put too long', fetch(refused.put.url, { method: 'PUT', body: Buffer.concat([large, large]) }));
    await record('presigned put forged', fetch(refused.put.url.replace(/signature=[0-9a-f]/, 'signature=x'), { method: 'PUT', body: large }));

    // With the store failing, the error paths log the failure, with its cause.
    await server.setFault('unavailable');
    await record('raw, store down', post('/v1/files', 'application/octet-stream', fileWithMarker()));
    await record('multipart, store down', post('/v1/files', form.contentType, form.body));
    await server.setFault('pass');

    expect(statuses).toEqual({
      raw: 200,
      multipart: 200,
      'truncated multipart': 400,
      'broken multipart': 400,
      'mail message': 200,
      'too large': 413,
      'create-upload garbage': 400,
      'presigned put': 200,
      'presigned put again': 409,
      'presigned form': 204,
      'presigned put too long': 413,
      'presigned put forged': 403,
      'raw, store down': 503,
      'multipart, store down': 503,
    });

    await server.stop();
    const output = server.output();
    // The log was on, at its most verbose, and saw the failures.
    expect(output).toContain('"level":"INFO"');
    expect(output).toContain('request rejected');
    expect(output).toContain('request failed');
    for (const form of markerForms()) expect(output).not.toContain(form);
  });
});
