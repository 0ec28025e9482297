import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';

/** Runs the command line in this process, for what needs no service: help, and arguments it refuses. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const code = await runCli(args, { stdin: Readable.from([]), stdout, stderr, env: {} });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('hashcheck help', () => {
  it.each([
    ['lookup', ['lookup', '--help']],
    ['scan', ['scan', '-h']],
    ['scan', ['help', 'scan']],
  ])('shows the options and examples of %s', async (command, args) => {
    const { code, stdout } = await run(args);

    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: hashcheck ${command} [options]`);
    expect(stdout).toContain('Exit status:');
    const examples = stdout.split('Examples:\n')[1]!.trim().split('\n');
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const example of examples) expect(example).toContain(`hashcheck ${command}`);
  });

  it.each([
    ['lookup', ['lookup', '--colour', '-h']],
    ['scan', ['scan', '--bad-only', '--help']],
    ['import', ['import', '--csv', '-h']],
  ])('shows the help of %s for -h even among options the command does not take', async (command, args) => {
    const { code, stdout, stderr } = await run(args);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`Usage: hashcheck ${command} [options]`);
  });

  it.each([[['-V']], [['--version']], [['lookup', '-V']], [['scan', '--version']], [['import', '-V', 'feed.csv']]])(
    'prints the version for %j',
    async (args) => {
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      const { code, stdout } = await run(args);

      expect(code).toBe(0);
      expect(stdout).toBe(`hashcheck ${version}\n`);
    },
  );

  it('lists at the top only the options every command takes, and each command its own', async () => {
    const main = (await run(['--help'])).stdout;
    const options = main.split('Options for every command:\n')[1]!.split('\n\n')[0]!;
    const listed = [...options.matchAll(/^  (?:-\w, )?(--[a-z-]+)/gm)].map((match) => match[1]!);

    expect(listed).toEqual(['--url', '--json', '--timeout', '--retries', '--quiet', '--help', '--version']);
    for (const command of ['lookup', 'scan', 'import']) {
      const help = (await run([command, '--help'])).stdout;
      for (const option of listed) expect(help).toMatch(new RegExp(`^  (-\\w, )?${option}\\b`, 'm'));
    }
    expect((await run(['lookup', '--help'])).stdout).toMatch(/^  --bad-only /m);
    expect((await run(['scan', '--help'])).stdout).not.toContain('--bad-only');
    expect((await run(['scan', '--help'])).stdout).toMatch(/^  --follow /m);
    expect((await run(['import', '--help'])).stdout).not.toContain('--csv');
  });

  it('prints the usage on standard error and exits 2 when no command is given', async () => {
    const { code, stdout, stderr } = await run([]);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('hashcheck lookup [options] [HASH...]');
  });
});

describe('hashcheck arguments', () => {
  it.each([
    [['lookup', '--colour', 'abc'], "hashcheck: unknown option '--colour' for hashcheck lookup (see hashcheck lookup --help)"],
    [['scan', '--url'], "hashcheck: option '--url' needs a value (see hashcheck scan --help)"],
    [['lookup', '--json', '--csv', 'abc'], 'hashcheck: --json and --csv cannot be combined: choose one'],
    [['lookup', '--url', 'localhost:3000', 'abc'], "hashcheck: --url must be an http or https URL, got 'localhost:3000'"],
    [['lookup', '--retries', '1.5', 'abc'], "hashcheck: --retries must be a whole number from 0 to 20, got '1.5'"],
    [['lookup', '--timeout', '0', 'abc'], "hashcheck: --timeout must be a number from 0.1 to 3600, got '0'"],
    [['lookup', '--column', 'SHA256', 'abc'], 'hashcheck: --column reads CSV from -f FILE or standard input, not from arguments'],
    [['scan'], 'hashcheck: nothing to scan: give files or folders (see hashcheck scan --help)'],
    [['scan', '--bad-only', '.'], 'hashcheck: scan prints only the known-bad files already (--all prints every file): leave out --bad-only'],
    [['scan', '--all', '--bad-only', '.'], 'hashcheck: scan prints only the known-bad files already (--all prints every file): leave out --bad-only'],
    [['import', '--csv', 'feed.csv'], "hashcheck: unknown option '--csv' for hashcheck import (see hashcheck import --help)"],
    [['check', 'abc'], "hashcheck: unknown command 'check': use lookup, scan or import (see hashcheck --help)"],
  ])('refuses %j with one line and exit status 2', async (args, message) => {
    const { code, stdout, stderr } = await run(args);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${message}\n`);
  });
});
