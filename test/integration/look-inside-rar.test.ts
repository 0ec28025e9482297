import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipOf } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

/**
 * A RAR archive made by WinRAR (libarchive's test corpus, test/fixtures/rar/README.md; no free tool writes
 * RAR) holding a file imported as known-bad for this test — `test.txt`, `test text document\r\n` — answered
 * malicious through `POST /v1/files`, naming the member, on its own and wrapped in a ZIP.
 */

const ADMIN_KEY = 'admin-key';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/rar/${name}`, import.meta.url));
const RAR = fixture('test_read_format_rar.rar');
const TEST_TXT_SHA256 = createHash('sha256').update('test text document\r\n').digest('hex');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
  const imported = await fetchJson(`${server.url}/v1/admin/imports?campaign=RAR%20test&source=look-inside-rar%20test`, {
    method: 'POST',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'text/plain' },
    body: `${TEST_TXT_SHA256}  test.txt\n`,
  });
  expect(imported.body).toMatchObject({ added: 1 });
});

afterAll(async () => {
  await server?.stop();
});

const postFile = (body: Buffer, fileName: string) =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-file-name': fileName }, body });

describe('POST /v1/files opens RAR archives', () => {
  it('answers a RAR holding a known-bad file malicious, naming the member at both its paths, and its MD5 is then known', async () => {
    const { status, body } = await postFile(RAR, 'tools.rar');
    expect(status).toBe(200);
    const [file] = body.files;
    expect(file).toMatchObject({ fileName: 'tools.rar', verdict: 'malicious', matches: [], inside: { complete: true, reasons: [], containers: 1, members: 3 } });
    expect(file.inside.matches).toEqual([
      expect.objectContaining({ path: ['test.txt'], sha256: TEST_TXT_SHA256, size: 20, matches: [expect.objectContaining({ campaign: 'RAR test' })] }),
      expect.objectContaining({ path: ['testdir/test.txt'], sha256: TEST_TXT_SHA256 }),
    ]);

    const md5 = createHash('md5').update(RAR).digest('hex');
    const lookup = await fetchJson(`${server.url}/v1/hashes/${md5}`);
    expect(lookup.body).toMatchObject({ verdict: 'malicious', match: { kind: 'container', derived: { member: { path: ['test.txt'] } } } });
  });

  it('answers a ZIP wrapping that RAR malicious, naming the member through the RAR', async () => {
    const zip = zipOf({ 'release/tools.rar': RAR, 'release/readme.txt': 'read me' });
    const { body } = await postFile(zip, 'release.zip');
    const [file] = body.files;
    expect(file).toMatchObject({ verdict: 'malicious', inside: { complete: true, reasons: [], containers: 2, members: 5 } });
    const paths = file.inside.matches.map((match: { path: string[] }) => match.path);
    // Once the RAR itself has been found malicious, it is remembered, and matches by its own digests too.
    expect(paths).toEqual(expect.arrayContaining([['release/tools.rar', 'test.txt'], ['release/tools.rar', 'testdir/test.txt']]));
    expect(paths.every((path: string[]) => path[0] === 'release/tools.rar')).toBe(true);
  });

  it('answers a RAR with encrypted members unknown and incomplete, naming each encrypted member', async () => {
    const { body } = await postFile(fixture('test_read_format_rar5_encrypted.rar'), 'letters.rar');
    expect(body.files[0]).toMatchObject({
      verdict: 'unknown',
      inside: {
        complete: false,
        members: 2,
        reasons: [
          { reason: 'encrypted', path: ['b.txt'] },
          { reason: 'encrypted', path: ['d.txt'] },
        ],
      },
    });
  });
});
