import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_FOLDER } from '../../local/server.js';
import { EICAR, zipOf } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

/** Asks for an upload, sends the bytes with the presigned PUT and waits for the scan's answer. */
async function uploadAndScan(fileName: string, bytes: Buffer): Promise<any> {
  const created = await fetchJson(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileName, size: bytes.length }),
  });
  expect(created.status).toBe(201);
  const put = await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: bytes });
  expect(put.status).toBe(200);
  return pollUntil(
    async () => {
      const { body } = await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`);
      return body.status === 'pending' ? undefined : body;
    },
    60_000,
    `upload ${created.body.uploadId} to be scanned`,
  );
}

/** Scratch folders of look-insides still on disk: the server makes them in its data folder. */
const scratchFolders = () => readdirSync(join(server.dataDir, SCRATCH_FOLDER));

describe('presigned uploads look inside archives', () => {
  it('answers an uploaded ZIP holding EICAR malicious, naming the member and its path, complete', async () => {
    const result = await uploadAndScan('tools.zip', zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' }));
    expect(result).toMatchObject({ status: 'done', file: { fileName: 'tools.zip', verdict: 'malicious', matches: [] } });
    expect(result.file.inside).toMatchObject({ members: 2, containers: 1, complete: true, reasons: [] });
    expect(result.file.inside.matches).toEqual([
      expect.objectContaining({
        path: ['tools/eicar.com'],
        size: 68,
        md5: '44d88612fea8a8f36de82e1278abb02f',
        matches: [expect.objectContaining({ kind: 'test-file' })],
      }),
    ]);
    expect(scratchFolders()).toEqual([]);
  });

  it('answers an encrypted ZIP unknown and incomplete, naming the encrypted member', async () => {
    const result = await uploadAndScan('locked.zip', zipOf({ 'eicar.com': EICAR }, { password: 'secret' }));
    expect(result).toMatchObject({
      status: 'done',
      file: { verdict: 'unknown', inside: { complete: false, reasons: [{ reason: 'encrypted', path: ['eicar.com'] }] } },
    });
    expect(scratchFolders()).toEqual([]);
  });

  it('answers a file that is no container complete with no members, leaving no scratch folder', async () => {
    const result = await uploadAndScan('notes.txt', Buffer.from('plain text, nothing inside'));
    expect(result.file).toMatchObject({ verdict: 'unknown', inside: { members: 0, containers: 0, complete: true, reasons: [], matches: [] } });
    expect(scratchFolders()).toEqual([]);
  });
});
