import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyMembersZip, hostileNamesZip, nestedZipBomb, overlappingZipBomb, sizeLyingZip, symlinksZip, traversalTar } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

/**
 * The hostile archives posted to a running server: each answered within the limits, nothing left in or
 * beside the folder the server makes its scratch folders in, nothing added to the working folder, and the
 * server still answering afterwards.
 */

let server: Awaited<ReturnType<typeof startTestServer>>;
let temporary: string;
let outside: string;
let previousTmpdir: string | undefined;
let fixtures: Record<string, Buffer>;

beforeAll(async () => {
  // The server makes its scratch folders in the OS temporary folder: a fresh one for this file alone.
  const base = mkdtempSync(join(tmpdir(), 'hashcheck-hostile-'));
  outside = join(base, 'outside');
  mkdirSync(outside);
  fixtures = {
    'nested bomb': nestedZipBomb(8, 3, 4),
    'overlapping bomb': overlappingZipBomb(1000, 10 * 1024 * 1024),
    'size lie': sizeLyingZip(1000, 8_000_000),
    'hostile names': hostileNamesZip(),
    'symbolic links': symlinksZip(outside),
    traversal: traversalTar(outside),
    // As many as fit the 4 MiB of an inline upload; the unit tests open 300,000.
    '40,000 empty members': emptyMembersZip(40_000),
  };
  temporary = join(base, 'tmp');
  mkdirSync(temporary);
  previousTmpdir = process.env['TMPDIR'];
  process.env['TMPDIR'] = temporary;
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
  if (previousTmpdir === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = previousTmpdir;
  rmSync(join(temporary, '..'), { recursive: true, force: true });
});

const postFile = (name: string) =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-file-name': 'upload.bin' }, body: fixtures[name] });

describe('POST /v1/files with hostile archives', () => {
  it.each([
    ['nested bomb', 'ratio'],
    ['overlapping bomb', 'bytes'],
    ['size lie', 'corrupt'],
    ['40,000 empty members', 'members'],
  ])('answers a %s incomplete with the reason %s, leaves no scratch behind, and keeps answering', async (name, reason) => {
    const cwdBefore = readdirSync(process.cwd()).sort();
    const { status, body } = await postFile(name);
    expect(status).toBe(200);
    expect(body.files[0]).toMatchObject({ verdict: 'unknown', inside: { complete: false } });
    expect(body.files[0].inside.reasons.map((r: { reason: string }) => r.reason)).toContain(reason);
    // Only the server's own data folder is in the temporary folder: every scratch folder was deleted.
    expect(readdirSync(temporary).filter((entry) => !entry.startsWith('hashcheck-test-'))).toEqual([]);
    expect(readdirSync(process.cwd()).sort()).toEqual(cwdBefore);
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
  });

  it.each(['hostile names', 'symbolic links', 'traversal'])('answers %s complete, writing nothing outside its scratch folder', async (name) => {
    const { status, body } = await postFile(name);
    expect(status).toBe(200);
    expect(body.files[0].inside.complete).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(temporary).filter((entry) => !entry.startsWith('hashcheck-test-'))).toEqual([]);
    expect(readdirSync('/tmp').filter((entry) => entry.startsWith('hashcheck-evil'))).toEqual([]);
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
  });
});
