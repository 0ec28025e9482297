import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { jsonLines, runHashcheck } from './run-hashcheck.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-scan-inside-'));
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function write(path: string, content: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/**
 * A download folder: release notes, and `setup.zip` (built with Debian's `zip`) holding the EICAR file at
 * `bin/ffmpeg.dll` beside a clean one; with `password`, the archive is encrypted (`zip -P`).
 */
function makeTree(name: string, options: { password?: string } = {}): string {
  const root = join(tmp, name);
  const staging = join(tmp, `${name}-staging`);
  write(join(root, 'notes.txt'), 'release notes\n');
  write(join(staging, 'bin', 'ffmpeg.dll'), EICAR);
  write(join(staging, 'readme.txt'), 'read me\n');
  const password = options.password === undefined ? [] : ['-P', options.password];
  execFileSync('zip', ['-q', '-X', '-r', ...password, join(root, 'setup.zip'), 'bin', 'readme.txt'], { cwd: staging });
  return root;
}

describe('hashcheck scan looking inside archives', () => {
  it('answers malicious for a ZIP holding a known-bad member, naming the member by its path, and exits 1', async () => {
    const root = makeTree('zipped');

    const run = await runHashcheck(['scan', root], { url: server.url });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`malicious`);
    expect(run.stdout).toContain(`${join(root, 'setup.zip')}`);
    expect(run.stdout).toContain('setup.zip → bin/ffmpeg.dll: ');
    expect(run.stdout).not.toContain('notes.txt');
    expect(run.stderr).toContain('1 malicious, 1 unknown');
  });

  it('carries the API’s inside object in JSON output, with the member’s path chain and digests', async () => {
    const root = makeTree('zipped-json');

    const run = await runHashcheck(['scan', '--json', '--all', root], { url: server.url });

    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows.map((row) => [row.path, row.verdict])).toEqual([
      [join(root, 'notes.txt'), 'unknown'],
      [join(root, 'setup.zip'), 'malicious'],
    ]);
    expect(rows[0].inside).toBeUndefined();
    const inside = rows[1].inside;
    expect(inside).toMatchObject({ members: 2, containers: 1, complete: true, reasons: [] });
    expect(inside.matches).toHaveLength(1);
    expect(inside.matches[0]).toMatchObject({ path: ['bin/ffmpeg.dll'], size: EICAR.length, md5: '44d88612fea8a8f36de82e1278abb02f' });
    expect(inside.matches[0].matches.length).toBeGreaterThan(0);
    expect(rows[1].matches).toEqual([]);
  });

  it('leaves archives closed with --no-members: the ZIP is judged by its own digests only', async () => {
    const root = makeTree('zipped-closed');

    const run = await runHashcheck(['scan', '--json', '--all', '--no-members', root], { url: server.url });

    expect(run.code).toBe(0);
    const rows = jsonLines(run.stdout);
    expect(rows.map((row) => [row.path, row.verdict, row.inside])).toEqual([
      [join(root, 'notes.txt'), 'unknown', undefined],
      [join(root, 'setup.zip'), 'unknown', undefined],
    ]);
  });

  it('exits 2 for an encrypted ZIP, saying which members could not be read', async () => {
    const root = makeTree('encrypted', { password: 'infected' });

    const run = await runHashcheck(['scan', '--json', root], { url: server.url });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${join(root, 'setup.zip')}: could not be fully checked inside: encrypted (setup.zip → bin/ffmpeg.dll)`);
    expect(run.stderr).toContain('the scan is incomplete: 1 file was not fully checked inside (see above)');
  });

  it('opens archives within the HASHCHECK_INSIDE_* limits of its environment, as the service does', async () => {
    const root = makeTree('limited');

    const run = await runHashcheck(['scan', root], { url: server.url, env: { HASHCHECK_INSIDE_MAX_MEMBERS: '1' } });

    // Two members and a limit of one: the look inside stops, and an incomplete scan without a match exits 2.
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(root, 'setup.zip')}: could not be fully checked inside: members`);
  });

  it('refuses a HASHCHECK_INSIDE_* value that is not a positive integer with exit 2, naming the variable', async () => {
    const root = makeTree('bad-limit');

    const run = await runHashcheck(['scan', root], { url: server.url, env: { HASHCHECK_INSIDE_MAX_DEPTH: 'deep' } });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("HASHCHECK_INSIDE_MAX_DEPTH must be a positive integer, got 'deep'");
  });
});
