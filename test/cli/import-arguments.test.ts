import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-import-args-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the command line in this process, for what needs no service: help, and arguments it refuses. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const code = await runCli(args, { stdin: Readable.from([]), stdout, stderr, env });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('hashcheck import help', () => {
  it.each([[['import', '--help']], [['import', '-h']], [['help', 'import']]])('shows the options, exit statuses and examples (%j)', async (args) => {
    const { code, stdout } = await run(args);

    expect(code).toBe(0);
    expect(stdout).toContain('Usage: hashcheck import [options] FILE');
    for (const option of ['--format', '--campaign', '--source', '--admin-key', '--aws-sigv4', '--dry-run', '--json', '--concurrency', '--retries']) expect(stdout).toContain(option);
    expect(stdout).toContain('Exit status:');
    const examples = stdout.split('Examples:\n')[1]!.trim().split('\n');
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const example of examples) expect(example).toContain('hashcheck import');
  });

  it('is listed in the main help', async () => {
    expect((await run(['--help'])).stdout).toContain('hashcheck import [options] FILE');
  });
});

describe('hashcheck import arguments', () => {
  const key = { HASHCHECK_ADMIN_KEY: 'k' };

  it.each<[string, string[], string]>([
    ['no file', ['import'], 'hashcheck: nothing to import: give one FILE, or - for standard input (see hashcheck import --help)\n'],
    ['two files', ['import', 'a.json', 'b.json'], 'hashcheck: one feed at a time: give one FILE, or - for standard input (see hashcheck import --help)\n'],
    ['an unknown format', ['import', '--format', 'xml', 'a.xml'], "hashcheck: --format must be one of jsonl, csv, plain, stix, misp, got 'xml'\n"],
    ['an unknown option', ['import', '--column', 'x', 'a.csv'], "hashcheck: unknown option '--column' for hashcheck import (see hashcheck import --help)\n"],
    ['--concurrency 0', ['import', '--concurrency', '0', 'a.csv'], "hashcheck: --concurrency must be a whole number from 1 to 64, got '0'\n"],
    [
      'both an admin key and --aws-sigv4',
      ['import', '--aws-sigv4', '--admin-key', 'k', 'a.json'],
      'hashcheck: --aws-sigv4 and --admin-key contradict each other: the admin key is for the local server, SigV4 for a deployed API\n',
    ],
  ])('exits 2 with one line for %s', async (_case, args, message) => {
    const { code, stdout, stderr } = await run(args, key);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(message);
  });

  it('exits 2 when the file cannot be read, or holds nothing', async () => {
    const missing = join(tmp, 'missing.json');
    const empty = join(tmp, 'empty.txt');
    writeFileSync(empty, '\n  \n');

    expect(await run(['import', missing], key)).toEqual({
      code: 2,
      stdout: '',
      stderr: `hashcheck: cannot read ${missing}: no such file or directory (ENOENT)\n`,
    });
    expect(await run(['import', empty], key)).toEqual({ code: 2, stdout: '', stderr: `hashcheck: ${empty} is empty: nothing to import\n` });
  });

  it('exits 2 on a dry run of a plain list without provenance, in the words of the options', async () => {
    const list = join(tmp, 'list.txt');
    writeFileSync(list, `${'a'.repeat(64)}\n`);

    const { code, stderr } = await run(['import', '--dry-run', list]);

    expect(code).toBe(2);
    expect(stderr).toBe('hashcheck: the feed would be refused: A plain hash list carries no provenance: give --campaign and --source.\n');
  });

  it('exits 1 on a dry run where every input would be rejected, and says nothing would be imported', async () => {
    const list = join(tmp, 'junk.txt');
    writeFileSync(list, 'not a hash\nnor this\n');

    const { code, stdout, stderr } = await run(['import', '--dry-run', '--campaign', 'c', '--source', 's', list]);

    expect(code).toBe(1);
    expect(stdout).toMatch(/^checked junk\.txt here, nothing was sent \(plain hash list, 2 inputs, 1 request when imported\):\n/);
    expect(stdout).toMatch(/\nLINE +INPUT +REASON\n1 +not a hash +.+\n2 +nor this +.+\n$/);
    expect(stderr).toBe('hashcheck: all 2 inputs would be rejected: nothing would be imported\n');
  });

  it('reads a UTF-16 feed with a byte-order mark, as Windows tools write them', async () => {
    const feed = join(tmp, 'utf16.txt');
    writeFileSync(feed, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${'b'.repeat(64)}  Größe.exe\r\n`, 'utf16le')]));

    const { code, stdout } = await run(['import', '--dry-run', '--json', '--campaign', 'c', '--source', 's', feed]);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ dryRun: true, format: 'plain', total: 1, valid: 1, rejected: [], requests: 1 });
  });
});
