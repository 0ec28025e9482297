import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../cli/csv.js';
import { startTestServer } from '../support/local-server.js';
import { LAUNCHER, PROJECT_ROOT, jsonLines, runHashcheck } from './run-hashcheck.js';

/** Seed records: the trojanized 3CX MSI 18.12.407 and the EICAR test file. */
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
const MSI_SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
const EICAR_SHA1 = '3395856ce81f2b7382dee72602f798b642f14140';
const EICAR_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

/**
 * A 100,000-line list as responders paste them together: bare hashes of the three lengths, upper case,
 * `sha256sum` lines in text and binary mode, CRLF endings, blank and comment lines, and lines that are
 * not hashes; with what each line must come back as. As in a real EDR export the same hashes come back
 * on many lines (about 24,000 distinct ones: three bulk requests), which keeps the run short.
 */
function mixedList() {
  const pool = (size: number, bytes: number) => Array.from({ length: size }, () => hex(bytes));
  const sha256s = pool(10_000, 32);
  const md5s = pool(7_000, 16);
  const sha1s = pool(7_000, 20);
  const lines: string[] = [];
  const expected: { line: number; verdict: 'malicious' | 'unknown' | 'invalid'; name?: string }[] = [];
  const invalidForms = ['not-a-hash', hex(32).slice(1) + 'g', hex(31) + 'a', `${hex(32)},C:\\x.exe`];
  for (let i = 0; i < 100_000; i++) {
    const line = i + 1;
    let text: string;
    if (i % 10_000 === 17) {
      text = MSI_MD5.toUpperCase();
      expected.push({ line, verdict: 'malicious' });
    } else if (i % 10_000 === 4242) {
      text = `${MSI_SHA256}  C:\\Users\\ops\\Downloads\\3CXDesktopApp-18.12.407.msi`;
      expected.push({ line, verdict: 'malicious', name: 'C:\\Users\\ops\\Downloads\\3CXDesktopApp-18.12.407.msi' });
    } else if (i % 10_000 === 9000) {
      text = `${EICAR_SHA1} *eicar.com`;
      expected.push({ line, verdict: 'malicious', name: 'eicar.com' });
    } else if (i % 500 === 1) {
      text = i % 1000 === 1 ? '' : '   ';
    } else if (i % 500 === 2) {
      text = '# exported from the EDR console';
    } else if (i % 250 === 3) {
      text = invalidForms[(i / 250) % invalidForms.length | 0]!;
      expected.push({ line, verdict: 'invalid' });
    } else if (i % 7 === 0) {
      const name = `/usr/lib/x86_64-linux-gnu/lib${i}.so`;
      text = `${sha256s[i % sha256s.length]}  ${name}`;
      expected.push({ line, verdict: 'unknown', name });
    } else {
      const sha256 = sha256s[(i * 7) % sha256s.length]!;
      text = i % 7 === 1 ? sha256.toUpperCase() : i % 7 === 2 ? md5s[i % md5s.length]! : i % 7 === 3 ? sha1s[i % sha1s.length]! : sha256;
      expected.push({ line, verdict: 'unknown' });
    }
    lines.push(i % 13 === 5 ? `${text}\r` : text);
  }
  return { text: lines.join('\n') + '\n', expected };
}

describe('hashcheck lookup', () => {
  it('answers a 100,000-line mixed list in input order with the right counts, and exits 1 for the known-bad hashes', async () => {
    const { text, expected } = mixedList();
    const run = await runHashcheck(['lookup', '--json'], { url: server.url, input: text });

    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows.map((row) => row.line)).toEqual(expected.map((e) => e.line));
    expect(rows.map((row) => row.verdict)).toEqual(expected.map((e) => e.verdict));
    const count = (verdict: string) => rows.filter((row) => row.verdict === verdict).length;
    expect(count('malicious')).toBe(30);
    expect(count('invalid')).toBe(400);
    expect(count('unknown')).toBe(expected.length - 430);
    for (const [i, row] of rows.entries()) if (expected[i]!.name) expect(row.name).toBe(expected[i]!.name);

    const upperCase = rows.find((row) => row.line === 18);
    expect(upperCase).toMatchObject({ input: MSI_MD5.toUpperCase(), hash: MSI_MD5, algorithm: 'md5', verdict: 'malicious' });
    expect(upperCase.match).toMatchObject({ sha256: MSI_SHA256, fileName: '3cxdesktopapp-18.12.407.msi' });
    expect(rows.find((row) => row.line === 9001).match.kind).toBe('test-file');
    expect(rows.find((row) => row.verdict === 'invalid')).toMatchObject({ line: 4, input: 'not-a-hash', error: expect.stringContaining('0-9 and a-f') });
    expect(run.stderr).toContain(`checked ${(expected.length - 400).toLocaleString('en-US')} hashes: 30 malicious`);
    expect(run.stderr).toContain('400 lines are not hashes');
  });

  it('exits 0 for a list whose hashes are all unknown', async () => {
    const list = Array.from({ length: 2_000 }, (_, i) => (i % 2 ? hex(32) : `${hex(16)}  file-${i}.dll`)).join('\n');
    const run = await runHashcheck(['lookup', '--csv'], { url: server.url, input: list });

    expect(run.code).toBe(0);
    const [header, ...records] = parseCsv(run.stdout);
    expect(header!.fields.slice(0, 5)).toEqual(['line', 'input', 'hash', 'algorithm', 'verdict']);
    expect(records).toHaveLength(2_000);
    expect(new Set(records.map((r) => r.fields[4]))).toEqual(new Set(['unknown']));
    expect(records[0]!.fields[5]).toBe('file-0.dll');
  });

  it('reads the hash column of an EDR CSV export, quoted fields and all, and keeps the row of each match', async () => {
    const csv =
      '\uFEFF"DeviceName","FolderPath","SHA256","Comment"\r\n' +
      `ws-014,"C:\\Program Files\\3CXDesktopApp\\app, old",${MSI_SHA256},"said ""hello"""\r\n` +
      `ws-015,"C:\\Temp",${hex(32)},"a note\r\nover two lines"\r\n` +
      'ws-016,C:\\Temp,,no hash for this one\r\n' +
      `ws-017,"C:\\Users\\eve\\Downloads",${EICAR_SHA256.toUpperCase()},\r\n` +
      'ws-018,C:\\Temp,not-a-hash,\r\n';
    const run = await runHashcheck(['lookup', '--column', 'sha256', '--json'], { url: server.url, input: csv });

    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows.map((row) => [row.line, row.verdict])).toEqual([
      [2, 'malicious'],
      [3, 'unknown'],
      [6, 'malicious'],
      [7, 'invalid'],
    ]);
    expect(rows[0].row).toEqual({
      DeviceName: 'ws-014',
      FolderPath: 'C:\\Program Files\\3CXDesktopApp\\app, old',
      SHA256: MSI_SHA256,
      Comment: 'said "hello"',
    });
    expect(rows[1].row.Comment).toBe('a note\r\nover two lines');
    expect(rows[2]).toMatchObject({ hash: EICAR_SHA256, row: { DeviceName: 'ws-017' } });
    expect(run.stderr).toContain("1 row with an empty 'sha256' cell skipped");
  });

  it('keeps the CSV row of each result in CSV output too, after the result columns', async () => {
    const csv = `Host,Path,SHA256\nws-014,"C:\\Temp\\a, b",${MSI_SHA256}\nws-015,C:\\Temp,${hex(32)}\nws-016,=cmd,nope\n`;
    const run = await runHashcheck(['lookup', '--column', 'SHA256', '--csv'], { url: server.url, input: csv });

    expect(run.code).toBe(1);
    const [header, ...records] = parseCsv(run.stdout);
    expect(header!.fields.slice(-4)).toEqual(['error', 'row.Host', 'row.Path', 'row.SHA256']);
    const byName = (fields: string[]) => Object.fromEntries(header!.fields.map((name, i) => [name, fields[i]]));
    expect(records.map((record) => byName(record.fields))).toMatchObject([
      { line: '2', verdict: 'malicious', 'row.Host': 'ws-014', 'row.Path': 'C:\\Temp\\a, b', 'row.SHA256': MSI_SHA256 },
      { line: '3', verdict: 'unknown', 'row.Host': 'ws-015', 'row.Path': 'C:\\Temp' },
      // A cell a spreadsheet would run as a formula is kept as text.
      { line: '4', verdict: 'invalid', 'row.Host': 'ws-016', 'row.Path': "'=cmd", 'row.SHA256': 'nope' },
    ]);

    const badOnly = await runHashcheck(['lookup', '--column', 'SHA256', '--csv', '--bad-only'], { url: server.url, input: csv });
    expect(parseCsv(badOnly.stdout).map((record) => record.fields.at(-3))).toEqual(['row.Host', 'ws-014']);
  });

  it('speaks of one hash and one entry in the singular', async () => {
    const one = await runHashcheck(['lookup', MSI_MD5, 'nope'], { url: server.url });
    expect(one.stderr).toContain('checked 1 hash: 1 malicious, 0 unknown; 1 line is not a hash');

    const strict = await runHashcheck(['lookup', '--strict', 'nope'], { url: server.url });
    expect(strict.stderr).toContain('hashcheck: the only entry is not a hash');

    const column = await runHashcheck(['lookup', '--column', 'SHA256'], { url: server.url, input: 'Host,SHA256\nws-1,\n' });
    expect(column.stderr).toContain("(1 row with an empty 'SHA256' cell)");
  });

  it('exits 2 naming the columns there are when the CSV has no such column', async () => {
    const run = await runHashcheck(['lookup', '--column', 'Hash'], { url: server.url, input: `Host,SHA256\nws-1,${MSI_SHA256}\n` });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("hashcheck: no column 'Hash' in the CSV header (line 1); the columns are 'Host', 'SHA256'\n");
  });

  it('prints only known-bad results with --bad-only and reports the lines that are not hashes on standard error', async () => {
    const run = await runHashcheck(['lookup', '--bad-only', MSI_MD5, 'xyz', hex(20), `${hex(32)}0`], { url: server.url });

    expect(run.code).toBe(1);
    const [header, row, ...more] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^LINE\s+VERDICT\s+HASH\s+MATCH$/);
    expect(row).toMatch(new RegExp(`^1\\s+malicious\\s+${MSI_MD5}\\s+3cxdesktopapp-18\\.12\\.407\\.msi`));
    expect(more).toEqual([]);
    expect(run.stderr).toMatch(/^hashcheck: argument 2: not a hash: .*\("xyz"\)$/m);
    expect(run.stderr).toMatch(/^hashcheck: argument 4: not a hash: The hash has 65 hex characters/m);
  });

  it('exits 2 with --strict when any line is not a hash, and looks nothing up', async () => {
    const run = await runHashcheck(['lookup', '--strict', '-f', '-'], { url: server.url, input: `${MSI_MD5}\n\nnope\n` });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('hashcheck: line 3: not a hash:');
    expect(run.stderr).toContain('1 of 2 entries is not a hash (--strict); nothing was looked up');
  });

  it('exits 2 when no line of the input is a hash, with a hint for CSV read without --column', async () => {
    const run = await runHashcheck(['lookup'], { url: server.url, input: `host,sha256\nws-1,${MSI_SHA256}\n` });

    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(
      'hashcheck: none of the 2 entries is a hash; the input looks like CSV: name the hash column with --column NAME',
    );
  });
});

describe('hashcheck lookup with no hash in its input', () => {
  it.each([
    ['an empty standard input', ['lookup', '-f', '-'], '', 'hashcheck: no hashes in standard input: nothing was looked up'],
    ['standard input of blank lines and comments', ['lookup'], '# EDR export, 0 rows\r\n\r\n  \r\n', 'hashcheck: no hashes in standard input: nothing was looked up'],
    [
      'a CSV export with a header and no hash in its column',
      ['lookup', '--column', 'sha256'],
      'host,sha256\r\nws-1,\r\n',
      "hashcheck: no hashes in standard input (1 row with an empty 'sha256' cell): nothing was looked up",
    ],
  ])('exits 2 for %s, as the README says, rather than reporting nothing known-bad', async (_name, args, input, message) => {
    const run = await runHashcheck(args, { url: server.url, input });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(message);
  });

  it('exits 2 naming the file when an empty file is given with -f', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hashcheck-cli-empty-'));
    try {
      const file = join(dir, 'edr-export.txt');
      writeFileSync(file, '');
      const run = await runHashcheck(['lookup', '-f', file], { url: server.url });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`hashcheck: no hashes in ${file}: nothing was looked up`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hashcheck as an installed command', () => {
  it('is declared in package.json and runs through its shebang', async () => {
    const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(join(PROJECT_ROOT, manifest.bin.hashcheck)).toBe(LAUNCHER);
    expect(readFileSync(LAUNCHER, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);

    const run = await runHashcheck(['--help'], { executable: LAUNCHER });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage:\n  hashcheck lookup');
    expect(run.stdout).toContain('Exit status:');
  });
});
