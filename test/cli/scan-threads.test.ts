import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { jsonLines, runHashcheck } from './run-hashcheck.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-threads-'));
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * 300 small files (empty to 40 KiB) in 12 folders two levels deep, the EICAR file among them, and two
 * 9 MiB files, large enough to be digested apart from the small ones. Names sort the same by full path
 * as by the walk, folder by folder.
 */
function makeTree(): string[] {
  const root = join(tmp, 'tree');
  const paths: string[] = [];
  for (let i = 0; i < 300; i++) {
    const dir = join(root, `d${i % 3}`, `e${Math.floor(i / 3) % 4}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `f${String(i).padStart(3, '0')}.bin`);
    writeFileSync(path, i === 150 ? EICAR : randomBytes((i * 7919) % 40_961));
    paths.push(path);
  }
  for (const name of ['large.iso', 'large2.iso']) {
    const large = join(root, name);
    writeFileSync(large, randomBytes(9 * 1024 * 1024));
    paths.push(large);
  }
  return paths.sort();
}

describe('hashcheck scan with a pool of hashing threads', () => {
  it('prints the same rows, sorted by path, with one thread or four, and the SHA-256 that sha256sum computes', async () => {
    // Prepare
    const paths = makeTree();
    const sha256sum = new Map(
      execFileSync('sha256sum', paths, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
        .trimEnd()
        .split('\n')
        .map((line) => [line.slice(66), line.slice(0, 64)] as const),
    );

    // Act
    const runs = [];
    for (const threads of ['1', '4', '4', '1']) {
      runs.push(await runHashcheck(['scan', '--all', '--json', join(tmp, 'tree')], { url: server.url, env: { HASHCHECK_SCAN_THREADS: threads } }));
    }

    // Assess
    const [first, ...others] = runs;
    expect(first!.code).toBe(1);
    expect(first!.stderr).toContain('checked 302 of 302 files');
    const rows = jsonLines(first!.stdout);
    expect(rows.map((row) => row.path)).toEqual(paths);
    for (const row of rows) expect([row.path, row.sha256]).toEqual([row.path, sha256sum.get(row.path)]);
    expect(rows.filter((row) => row.verdict === 'malicious').map((row) => row.path)).toEqual([paths.find((p) => p.endsWith('f150.bin'))]);
    for (const run of others) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe(first!.stdout);
    }
  });

  it('refuses a HASHCHECK_SCAN_THREADS that is not a whole number from 1 to 64, with exit status 2', async () => {
    mkdirSync(join(tmp, 'one'), { recursive: true });
    writeFileSync(join(tmp, 'one', 'a.txt'), 'a');
    for (const threads of ['0', 'many', '2.5', '65']) {
      const run = await runHashcheck(['scan', join(tmp, 'one')], { url: server.url, env: { HASHCHECK_SCAN_THREADS: threads } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`HASHCHECK_SCAN_THREADS must be a whole number from 1 to 64, got '${threads}'`);
    }
  });
});
