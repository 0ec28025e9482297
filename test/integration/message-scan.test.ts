import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';

const FIXTURE = readFileSync(new URL('../fixtures/three-attachments.eml', import.meta.url));
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const postMessage = (body: Buffer | string, type = 'message/rfc822') =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': type }, body });

describe('POST /v1/files with a whole message', () => {
  it('answers one result per attachment of the three-attachment message, the EICAR one malicious', async () => {
    const { status, body } = await postMessage(FIXTURE);
    expect(status).toBe(200);
    expect(body.files.map((f: any) => [f.mimePath, f.fileName, f.contentType, f.verdict])).toEqual([
      ['2', 'eicar.com', 'application/octet-stream', 'malicious'],
      ['3.2', 'build-résumé.bin', 'application/octet-stream', 'unknown'],
      ['4', 'café-notes.txt', 'text/plain', 'unknown'],
    ]);
    const [eicar, nested, notes] = body.files;
    expect(eicar.matches).toEqual([expect.objectContaining({ fileName: 'eicar.com', kind: 'test-file' })]);
    expect(eicar).toMatchObject({ size: 68, md5: '44d88612fea8a8f36de82e1278abb02f' });
    expect(nested).toMatchObject({ size: 256, sha256: sha256(Buffer.from(Array.from({ length: 256 }, (_, i) => i))), matches: [] });
    expect(notes.sha256).toBe(sha256('Café notes: this line is long enough to need a soft line break in quoted-printable, and it carries an equals sign = too.\nSecond line.'));
  });

  it('takes a message/rfc822 content type with parameters', async () => {
    const { status, body } = await postMessage(FIXTURE, 'message/rfc822; charset=utf-8');
    expect(status).toBe(200);
    expect(body.files).toHaveLength(3);
  });

  it('answers a message without attachments with an empty list', async () => {
    const { status, body } = await postMessage('From: a@example.com\r\nSubject: hi\r\n\r\njust text\r\n');
    expect(status).toBe(200);
    expect(body.files).toEqual([]);
  });

  it.each([
    ['not a message at all', 'this is not a mail message\n', /not a MIME message/],
    ['a multipart without a boundary', 'From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nbody\r\n', /no boundary/],
    ['a message cut off in an attachment', FIXTURE.subarray(0, FIXTURE.indexOf('--inner-7d2a--')), /truncated/],
    ['an empty body', '', /empty/],
  ])('answers %s with a clear 400 invalid_request', async (_name, input, pattern) => {
    const { status, body } = await postMessage(input);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(pattern);
  });

  it('keeps answering after malformed messages', async () => {
    for (let i = 0; i < 5; i++) await postMessage(FIXTURE.subarray(0, 700 + i * 50));
    expect((await postMessage(FIXTURE)).status).toBe(200);
  });
});
