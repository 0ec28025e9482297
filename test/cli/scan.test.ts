import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { PROJECT_ROOT, jsonLines, runHashcheck, startProxy, type CliRun } from './run-hashcheck.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-scan-'));
  // Traversable by the unprivileged user some tests run the command as.
  chmodSync(tmp, 0o755);
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function write(path: string, content: string | Buffer): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function openssl(algorithm: string, path: string): string {
  return execFileSync('openssl', ['dgst', `-${algorithm}`, '-r', path], { encoding: 'utf8' }).split(' ')[0]!;
}

/** A tree with the EICAR file five levels down, a link back up the tree, and a link to nothing. */
function makeTree(name: string): string {
  const root = join(tmp, name);
  write(join(root, 'docs', 'readme.txt'), 'release notes\n');
  write(join(root, 'vendor', '3cx', 'app', 'resources', 'deep', 'eicar.com'), EICAR);
  write(join(root, 'vendor', 'lib.so'), randomBytes(100_000));
  symlinkSync('../..', join(root, 'vendor', '3cx', 'app', 'loop'));
  symlinkSync('missing', join(root, 'broken'));
  return root;
}

/** The user `nobody`, whom permissions stop as they stop any normal user. */
const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Runs the command line as a user whom a file's permissions stop. Root reads any file, so as root (CI
 * machines, containers) it runs as nobody; nobody may not be able to reach the checkout (a clone inside
 * a private `mktemp -d` folder), so nobody runs a one-file build of the same command line, placed in this
 * file's own folder under the system's temporary folder. As anyone else it runs from the checkout.
 */
async function runAsNormalUser(args: readonly string[]): Promise<CliRun> {
  if (process.getuid?.() !== 0) return runHashcheck(args, { url: server.url });
  bundled ??= bundleCommandLine(join(tmp, 'command-line'));
  const bundle = await bundled;
  return runHashcheck([bundle, ...args], { url: server.url, executable: process.execPath, cwd: tmp, user: NOBODY });
}
let bundled: Promise<string> | undefined;

/** Builds the `hashcheck` executable and everything it imports into one file in `dir`, readable by anyone. */
async function bundleCommandLine(dir: string): Promise<string> {
  const unreachable = ancestorsOf(dir).filter((path) => (statSync(path).mode & 0o001) === 0);
  if (unreachable.length > 0) {
    throw new Error(`nobody cannot traverse ${unreachable.join(', ')}: point TMPDIR to a folder others can traverse, such as /tmp`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const outfile = join(dir, 'hashcheck.mjs');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bin', 'hashcheck.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    // Dependencies written as CommonJS call require(), which an ES module has to make for itself; under a name
    // of its own, as bin/build-cli.mjs does, since bundled modules import `createRequire` too.
    banner: { js: "import { createRequire as __hashcheckRequire } from 'node:module'; const require = __hashcheckRequire(import.meta.url);" },
  });
  chmodSync(outfile, 0o644);
  return outfile;
}

/** `path` and every folder above it. */
function ancestorsOf(path: string): string[] {
  const paths = [path];
  while (dirname(paths.at(-1)!) !== paths.at(-1)) paths.push(dirname(paths.at(-1)!));
  return paths.slice(1);
}

describe('hashcheck scan', () => {
  it('exits 1 naming the EICAR file deep in a tree, and reports a symbolic link loop without failing with --follow', async () => {
    makeTree('tree');
    const run = await runHashcheck(['scan', '--follow', 'tree'], { url: server.url, cwd: tmp });

    expect(run.code).toBe(1);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^VERDICT\s+SIZE\s+PATH\s+MATCH$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^malicious\s+68 B\s+tree\/vendor\/3cx\/app\/resources\/deep\/eicar\.com\s+eicar\.com \(test-file/);
    expect(run.stderr).toContain('hashcheck: tree/vendor/3cx/app/loop: symbolic link loop (leads back to tree/vendor); not followed');
    expect(run.stderr).toContain('hashcheck: tree/broken: symbolic link to nothing; skipped');
    expect(run.stderr).toContain('checked 3 of 3 files');
    // Standard error is a pipe here: no progress line may be drawn into it.
    expect(run.stderr).not.toMatch(/[\r\u001b]/);
  });

  it('leaves symbolic links inside folders alone unless --follow is given, and counts them', async () => {
    // A harmless folder with links to the EICAR file and to a folder holding it, both outside the folder.
    const outside = join(tmp, 'outside');
    write(join(outside, 'eicar.com'), EICAR);
    const root = join(tmp, 'linked');
    write(join(root, 'notes.txt'), 'nothing to see\n');
    symlinkSync(join(outside, 'eicar.com'), join(root, 'eicar-link.com'));
    symlinkSync(outside, join(root, 'elsewhere'));

    const plain = await runHashcheck(['scan', root], { url: server.url });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toContain('checked 1 of 1 file (');
    expect(plain.stderr).toContain('; 2 symbolic links not followed (see --follow)');

    const followed = await runHashcheck(['scan', '--follow', '--all', '--json', root], { url: server.url });
    expect(followed.code).toBe(1);
    expect(jsonLines(followed.stdout).map((row) => [row.path, row.verdict])).toEqual([
      [join(root, 'eicar-link.com'), 'malicious'],
      [join(root, 'elsewhere', 'eicar.com'), 'malicious'],
      [join(root, 'notes.txt'), 'unknown'],
    ]);
    expect(followed.stderr).not.toContain('not followed');

    // A link named on the command line is what the user asked for: it is followed.
    const named = await runHashcheck(['scan', join(root, 'elsewhere')], { url: server.url });
    expect(named.code).toBe(1);
    expect(named.stdout).toContain(join(root, 'elsewhere', 'eicar.com'));
  });

  it('prints every file with --all --json, in walk order, with the digests openssl computes', async () => {
    const root = makeTree('listed');
    const run = await runHashcheck(['scan', '--all', '--json', root], { url: server.url });

    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    const paths = ['docs/readme.txt', 'vendor/3cx/app/resources/deep/eicar.com', 'vendor/lib.so'].map((p) => join(root, p));
    expect(rows.map((row) => row.path)).toEqual(paths);
    for (const row of rows) {
      expect(row).toMatchObject({ md5: openssl('md5', row.path), sha1: openssl('sha1', row.path), sha256: openssl('sha256', row.path) });
    }
    expect(rows.map((row) => row.verdict)).toEqual(['unknown', 'malicious', 'unknown']);
    expect(rows[1]).toMatchObject({ size: 68, matches: [{ fileName: 'eicar.com', kind: 'test-file' }] });
  });

  it('exits 0 for a tree with nothing known-bad in it', async () => {
    const root = join(tmp, 'harmless');
    write(join(root, 'a.txt'), 'a');
    write(join(root, 'b', 'c.bin'), randomBytes(3_000_000));
    const run = await runHashcheck(['scan', '--csv', root], { url: server.url });

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('path,size,md5,sha1,sha256,verdict,match_file_name,match_kind,match_platform,match_version,match_campaign,match_confidence\n');
    expect(run.stderr).toContain('checked 2 of 2 files');
  });

  it('reports an unreadable file and exits 2, as the scan is incomplete, unless told to accept that', async () => {
    const root = join(tmp, 'locked');
    write(join(root, 'eicar.com'), EICAR);
    chmodSync(write(join(root, 'private', 'secret.key'), 'not for everyone'), 0o000);
    chmodSync(join(root, 'private'), 0o755);

    const strict = await runAsNormalUser(['scan', root]);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toContain(join(root, 'eicar.com'));
    expect(strict.stderr).toContain(`hashcheck: ${join(root, 'private', 'secret.key')}: cannot read: permission denied (EACCES)`);
    expect(strict.stderr).toContain('the scan is incomplete: 1 path was not checked (see above), and 1 known-bad file was found');

    const lenient = await runAsNormalUser(['scan', '--ignore-unreadable', root]);
    expect(lenient.code).toBe(1);
    expect(lenient.stderr).toContain('cannot read: permission denied (EACCES)');
  });

  it('with --upload sends a small file inline and a 6 MiB one through a presigned upload, and gets both judged', async () => {
    const root = join(tmp, 'upload');
    const eicar = write(join(root, 'eicar.com'), EICAR);
    const large = write(join(root, 'setup.msi'), randomBytes(6 * 1024 * 1024 + 17));
    const proxy = await startProxy(server.url, async () => false);
    try {
      const run = await runHashcheck(['scan', '--upload', '--all', '--json', root], { url: proxy.url });

      expect(run.code).toBe(1);
      const rows = jsonLines(run.stdout);
      expect(rows.map((row) => [row.path, row.verdict])).toEqual([
        [eicar, 'malicious'],
        [large, 'unknown'],
      ]);
      expect(rows[1]).toMatchObject({ size: 6 * 1024 * 1024 + 17, sha256: openssl('sha256', large), md5: openssl('md5', large) });
      expect(proxy.requests).toContain('POST /v1/files');
      expect(proxy.requests).toContain('POST /v1/uploads');
      expect(proxy.requests.filter((r) => r.startsWith('GET /v1/uploads/')).length).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('exits 2 when asked to scan a path that does not exist', async () => {
    const run = await runHashcheck(['scan', join(tmp, 'no-such-folder')], { url: server.url });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`hashcheck: ${join(tmp, 'no-such-folder')}: no such file or folder`);
  });
});
