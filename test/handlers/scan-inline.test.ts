import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbHashStore } from '../../lambdas/adapters/dynamodb-hash-store.js';
import { readRecordFile } from '../../lambdas/adapters/seed-file.js';
import { importRecords } from '../../lambdas/core/import.js';
import { makeScanInlineHandler } from '../../lambdas/handlers/scan-inline.js';
import { SEED_FILE } from '../../local/server.js';
import { createKnownHashesTable, startTestDynamoDb } from '../support/dynamodb.js';
import { fixtureEvent, memoryLog } from '../support/events.js';
import { multipartBody } from '../support/multipart.js';
import { EICAR } from '../support/reference.js';

let emulator: Awaited<ReturnType<typeof startTestDynamoDb>>;
let handler: ReturnType<typeof makeScanInlineHandler>;
let log: ReturnType<typeof memoryLog>;
let tmp: string;

beforeAll(async () => {
  emulator = await startTestDynamoDb();
  const tableName = await createKnownHashesTable(emulator.client);
  const store = new DynamoDbHashStore(emulator.client, { tableName });
  await importRecords(await readRecordFile(SEED_FILE), { store, now: () => new Date() });
  log = memoryLog();
  handler = makeScanInlineHandler({ store, log });
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-inline-'));
});

afterAll(async () => {
  await emulator.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A POST /v1/files event as API Gateway passes a binary body: base64-encoded. */
function filesEvent(body: Buffer, contentType: string | undefined, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  const base = fixtureEvent('api-gateway-post-lookup');
  const all: Record<string, string> = { ...headers, ...(contentType ? { 'Content-Type': contentType } : {}) };
  return {
    ...base,
    resource: '/v1/files',
    path: '/v1/files',
    headers: all,
    multiValueHeaders: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, [v]])),
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

const json = (result: { body: string }) => JSON.parse(result.body);

function openssl(algorithm: string, path: string): string {
  return execFileSync('openssl', ['dgst', `-${algorithm}`, '-r', path], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('POST /v1/files', () => {
  it('judges the EICAR string sent raw as malicious, by the test-file entry, with its name', async () => {
    const result = await handler(filesEvent(Buffer.from(EICAR), 'application/octet-stream', { 'X-File-Name': 'eicar.com' }));
    expect(result.statusCode).toBe(200);
    const [file] = json(result).files;
    expect(file).toMatchObject({ fileName: 'eicar.com', size: 68, verdict: 'malicious' });
    expect(file.matches).toHaveLength(1);
    expect(file.matches[0]).toMatchObject({ kind: 'test-file', sha256: file.sha256 });
  });

  it('judges each file part of a multipart body, in order', async () => {
    const { body, contentType } = multipartBody([
      { field: 'comment', content: 'not a file' },
      { field: 'file', fileName: 'eicar.com', content: EICAR },
      { field: 'file', fileName: 'notes.txt', content: 'hello' },
    ]);
    const files = json(await handler(filesEvent(body, contentType))).files;
    expect(files.map((f: { fileName: string; verdict: string }) => [f.fileName, f.verdict])).toEqual([
      ['eicar.com', 'malicious'],
      ['notes.txt', 'unknown'],
    ]);
  });

  it('keeps a non-ASCII file name as the browser sent it, in UTF-8', async () => {
    const { body, contentType } = multipartBody([{ field: 'file', fileName: 'Rechnung März €.exe', content: EICAR }]);
    const [file] = json(await handler(filesEvent(body, contentType))).files;
    expect(file.fileName).toBe('Rechnung März €.exe');
  });

  it('gives a random 3 MiB file the digests openssl computes, and the verdict unknown', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const path = join(tmp, 'random.bin');
    writeFileSync(path, bytes);
    const { body, contentType } = multipartBody([{ field: 'file', fileName: 'random.bin', content: bytes }]);
    for (const event of [filesEvent(bytes, 'application/octet-stream'), filesEvent(body, contentType)]) {
      const [file] = json(await handler(event)).files;
      expect(file).toMatchObject({
        size: bytes.length,
        md5: openssl('md5', path),
        sha1: openssl('sha1', path),
        sha256: openssl('sha256', path),
        verdict: 'unknown',
        matches: [],
      });
    }
  });

  it('answers 413 pointing to /v1/uploads for a body over 4 MiB', async () => {
    const result = await handler(filesEvent(Buffer.alloc(4 * 1024 * 1024 + 1), 'application/octet-stream'));
    expect(result.statusCode).toBe(413);
    expect(json(result).error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('/v1/uploads') });
  });

  const truncated = multipartBody([{ field: 'file', fileName: 'a.bin', content: randomBytes(5000) }]);
  const noFile = multipartBody([{ field: 'comment', content: 'just text' }]);
  const emptyInput = multipartBody([{ field: 'file', fileName: '', content: '' }]);
  it.each([
    ['an empty raw body', Buffer.alloc(0), 'application/octet-stream', 400, 'invalid_request', /empty/],
    ['an empty multipart body', Buffer.alloc(0), noFile.contentType, 400, 'invalid_request', /empty/],
    ['a multipart body with no file part', noFile.body, noFile.contentType, 400, 'invalid_request', /no file part/],
    ['a browser form with no file chosen', emptyInput.body, emptyInput.contentType, 400, 'invalid_request', /no file part/],
    ['a truncated multipart body', truncated.body.subarray(0, 3000), truncated.contentType, 400, 'invalid_request', /malformed/],
    ['multipart without a boundary', truncated.body, 'multipart/form-data', 400, 'invalid_request', /multipart/i],
    ['garbage under a multipart type', randomBytes(2000), truncated.contentType, 400, 'invalid_request', /malformed/],
    ['a JSON body', Buffer.from('{}'), 'application/json', 415, 'unsupported_media_type', /octet-stream/],
    ['no content type', Buffer.from(EICAR), undefined, 415, 'unsupported_media_type', /missing/],
  ])('rejects %s with a clear error', async (_name, body, type, status, code, message) => {
    const result = await handler(filesEvent(body, type));
    expect(result.statusCode).toBe(status);
    expect(json(result).error.code).toBe(code);
    expect(json(result).error.message).toMatch(message);
  });

  it('never logs the bytes of a file it rejects', async () => {
    log.lines.length = 0;
    const secret = `CONFIDENTIAL-${randomBytes(8).toString('hex')}`;
    const { body, contentType } = multipartBody([{ field: 'file', fileName: 'x', content: secret }]);
    await handler(filesEvent(body.subarray(0, body.length - 10), contentType));
    expect(log.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(log.lines)).not.toContain(secret);
    expect(JSON.stringify(log.lines)).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));
  });
});
