import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { EICAR, EICAR_RECORD } from '../support/reference.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let folder: string;
/** Random content, so its digests are on no list. */
const OTHER = randomBytes(64);
const digest = (algorithm: string, data: string | Buffer) => createHash(algorithm).update(data).digest('hex');

beforeAll(async () => {
  server = await startTestServer();
  folder = mkdtempSync(join(tmpdir(), 'hashcheck-sums-'));
  writeFileSync(join(folder, 'eicar.com'), EICAR);
  writeFileSync(join(folder, 'notes one.txt'), OTHER);
  // coreutils escapes this name and starts its line with a backslash.
  writeFileSync(join(folder, 'back\\slash.com'), EICAR);
});

afterAll(async () => {
  await server?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** What a coreutils tool prints for the test files, run in their folder. */
const run = (tool: string, ...args: string[]) =>
  execFileSync(tool, [...args, 'eicar.com', 'notes one.txt', 'back\\slash.com'], { cwd: folder, encoding: 'utf8' });

const postText = (body: string) =>
  fetchJson(`${server.url}/v1/hashes/lookup`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });

type Result = { input: string; hash?: string; verdict?: string; error?: { code: string } };
const answers = (results: Result[]) => results.map((r) => [r.input, r.hash ?? null, r.verdict ?? r.error?.code]);

describe('POST /v1/hashes/lookup with checksum tool output as text/plain', () => {
  it('answers sha256sum output per hash, echoing each line', async () => {
    const output = run('sha256sum');
    const lines = output.trimEnd().split('\n');
    expect(lines[2]!.startsWith('\\')).toBe(true);

    const { status, body } = await postText(output);

    expect(status).toBe(200);
    expect(answers(body.results)).toEqual([
      [lines[0], EICAR_RECORD.sha256, 'malicious'],
      [lines[1], digest('sha256', OTHER), 'unknown'],
      [lines[2], EICAR_RECORD.sha256, 'malicious'],
    ]);
    expect(body.results[0].match).toMatchObject({ fileName: 'eicar.com', md5: EICAR_RECORD.md5 });
    expect(body.summary).toEqual({ total: 3, malicious: 2, unknown: 1, invalid: 0 });
  });

  it('answers md5sum binary-mode output, sha1sum output and tagged output with CRLF line ends', async () => {
    const output = [run('md5sum', '-b'), run('sha1sum'), run('sha256sum', '--tag')].join('').replace(/\n/g, '\r\n');

    const { status, body } = await postText(output);

    expect(status).toBe(200);
    expect(body.results.map((r: Result) => [r.hash, r.verdict])).toEqual([
      [EICAR_RECORD.md5, 'malicious'],
      [digest('md5', OTHER), 'unknown'],
      [EICAR_RECORD.md5, 'malicious'],
      [EICAR_RECORD.sha1, 'malicious'],
      [digest('sha1', OTHER), 'unknown'],
      [EICAR_RECORD.sha1, 'malicious'],
      [EICAR_RECORD.sha256, 'malicious'],
      [digest('sha256', OTHER), 'unknown'],
      [EICAR_RECORD.sha256, 'malicious'],
    ]);
    expect(body.results[6].input).toBe('SHA256 (eicar.com) = ' + EICAR_RECORD.sha256);
  });

  it('answers both digests of each hashdeep line, skipping its header and comments', async () => {
    const line = `68,${EICAR_RECORD.md5},${EICAR_RECORD.sha256},/mnt/evidence/eicar, copy.com`;
    const other = `64,${digest('md5', OTHER)},${digest('sha256', OTHER)},/mnt/evidence/notes one.txt`;
    const output = ['%%%% HASHDEEP-1.0', '%%%% size,md5,sha256,filename', '## Invoked from: /root', '## $ hashdeep -r /mnt/evidence', '##', line, other, ''].join('\n');

    const { status, body } = await postText(output);

    expect(status).toBe(200);
    expect(answers(body.results)).toEqual([
      [line, EICAR_RECORD.md5, 'malicious'],
      [line, EICAR_RECORD.sha256, 'malicious'],
      [other, digest('md5', OTHER), 'unknown'],
      [other, digest('sha256', OTHER), 'unknown'],
    ]);
  });

  it('answers a line that holds no hash invalid in place and the others as before, bare hashes included', async () => {
    const lines = [`${EICAR_RECORD.sha256}  eicar.com`, 'not-a-hash  notes.txt', `  ${EICAR_RECORD.md5!.toUpperCase()}\t`];

    const { status, body } = await postText(lines.join('\n'));

    expect(status).toBe(200);
    expect(answers(body.results)).toEqual([
      [lines[0], EICAR_RECORD.sha256, 'malicious'],
      [lines[1], null, 'invalid_hash'],
      [lines[2], EICAR_RECORD.md5, 'malicious'],
    ]);
  });

  it('still answers 400 invalid_request for a hashdeep header with no file line', async () => {
    const { status, body } = await postText('%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## $ hashdeep -r /empty\n');

    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request' });
  });
});
