import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { PROJECT_ROOT, runHashcheck } from './run-hashcheck.js';

const run = promisify(execFile);

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-packed-'));
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** npm as a user runs it, without the settings of an `npm test` run around this one. */
function npm(args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return run('npm', [...args], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

describe('the packed hashcheck package', () => {
  it('installs on its own, with no dependency and nothing from the registry, looks up a hash, and looks inside a ZIP with the 7-Zip it carries', async () => {
    // Prepare: pack the project as `npm pack` does before a release.
    const packed = await npm(['pack', '--json', '--pack-destination', tmp], PROJECT_ROOT);
    const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const shipped = manifest!.files.map((file) => file.path);
    expect(shipped).toContain('bin/hashcheck.mjs');
    expect(shipped).toContain('dist/hashcheck.mjs');
    // The bundle is what runs: no TypeScript source, so nothing needs tsx or esbuild at run time.
    expect(shipped.filter((path) => path.endsWith('.ts'))).toEqual([]);
    // 7-Zip travels inside the package, outside any `node_modules` folder (npm pack leaves those out).
    expect(shipped).toEqual(expect.arrayContaining(['dist/vendor/7z-wasm/package.json', 'dist/vendor/7z-wasm/7zz.umd.js', 'dist/vendor/7z-wasm/7zz.wasm']));
    // A download folder holding `setup.zip` (built with Debian's `zip`), the EICAR file inside it at `bin/ffmpeg.dll`.
    const downloads = join(tmp, 'downloads');
    const staging = join(tmp, 'zip-staging');
    mkdirSync(join(staging, 'bin'), { recursive: true });
    mkdirSync(downloads, { recursive: true });
    writeFileSync(join(staging, 'bin', 'ffmpeg.dll'), EICAR);
    execFileSync('zip', ['-q', '-X', '-r', join(downloads, 'setup.zip'), 'bin'], { cwd: staging });

    // Act: install the tarball alone, as on a machine without the project, offline and without dev dependencies.
    const prefix = join(tmp, 'installed');
    await npm(['install', '--prefix', prefix, '--omit=dev', '--offline', '--no-audit', '--no-fund', join(tmp, manifest!.filename)], tmp);
    const lookup = await runHashcheck(['lookup', createHash('md5').update(EICAR).digest('hex')], {
      url: server.url,
      cwd: tmp,
      executable: join(prefix, 'node_modules', '.bin', 'hashcheck'),
    });

    const scan = await runHashcheck(['scan', downloads], {
      url: server.url,
      cwd: tmp,
      executable: join(prefix, 'node_modules', '.bin', 'hashcheck'),
    });

    // Assess: the EICAR file is known-bad, on its own and inside the ZIP, and the package brought nothing else along.
    expect(lookup.code).toBe(1);
    expect(lookup.stderr).toBe('hashcheck: checked 1 hash: 1 malicious, 0 unknown\n');
    expect(lookup.stdout).toMatch(/malicious/);
    expect(scan.code).toBe(1);
    expect(scan.stdout).toContain('setup.zip → bin/ffmpeg.dll: ');
    expect(scan.stdout).toContain('malicious');
    expect(scan.stdout).not.toContain('unsupported');
    expect(readdirSync(join(prefix, 'node_modules')).filter((name) => !name.startsWith('.'))).toEqual(['hashcheck']);
  });
});
