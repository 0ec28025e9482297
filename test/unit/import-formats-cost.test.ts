import { describe, expect, it } from 'vitest';
import { parseCsv, parseImport } from '../../lambdas/core/import-formats.js';

/**
 * The largest inputs an import takes (the route's 4 MiB), shaped to hurt a backtracking parser: long runs
 * of white space, unclosed brackets and quotes, thousands of alternatives. What each costs is measured in
 * the benchmark suite (`npm run bench -- parsers`); here each must give the right answer.
 */
const LIMIT = 4 * 1024 * 1024;
const SIZES = [['40,000 characters', 40_000], ['4 MiB', LIMIT]] as const;
const plainDefaults = { campaign: 'Incident 42', source: 'EDR export' };
const md5 = (n: number) => n.toString(16).padStart(32, '0');
const SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
const MD5 = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const bundle = (pattern: string) =>
  JSON.stringify({
    type: 'bundle',
    id: 'bundle--1',
    objects: [{ type: 'indicator', id: 'indicator--1', name: 'GlassDoor loader', pattern_type: 'stix', pattern }],
  });
/** `unit` repeated to about `length` characters. */
const fill = (unit: string, length: number) => unit.repeat(Math.max(0, Math.floor(length / unit.length)));

describe('parseImport on worst-case inputs up to the 4 MiB limit', () => {
  it.each(SIZES)('reads a sha256sum line of %s whose path is long runs of spaces', (_name, size) => {
    const run = fill(' ', (size - 100) / 2);
    const text = `${SHA256}  /tmp/${run}x${run}/tool  v2.exe\n`;
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ sha256: SHA256, fileName: 'tool  v2.exe', campaign: 'Incident 42' })]);
  });

  it.each(SIZES)('reads a binary-mode sha256sum line of %s whose Windows path holds white space of every kind', (_name, size) => {
    const run = fill(' \t\u00a0\u3000\ufeff', (size - 100) / 2);
    const text = `\u00a0${SHA256} *C:\\${run}x${run}\\setup.msi\u3000`;
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ sha256: SHA256, fileName: 'setup.msi' })]);
  });

  it('reads 4 MiB of U+2028 line separators between two digests as two entries of line 1', () => {
    const text = `${SHA256}${fill('\u2028', (LIMIT - 200) / 3)}${MD5}\n`;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT);
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.sha256 ?? r.md5, r.fileName])).toEqual([
      [SHA256, 'unknown'],
      [MD5, 'unknown'],
    ]);
  });

  it('rejects a 4 MiB line that is not a digest with a short reason', () => {
    const run = fill(' ', LIMIT / 2 - 50);
    const text = `0123456789abcdeg  ${run}x${run}y`;
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(records).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ line: 1, reason: expect.stringContaining('0-9 and a-f') });
    expect(rejected[0]!.reason.length).toBeLessThan(300);
  });

  it.each(SIZES)('reads a tagged line of %s whose name is brackets, = signs and spaces', (_name, size) => {
    const text = `SHA256 (${fill(') = (', size - 200)}/x.exe) = ${SHA256}\n`;
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ sha256: SHA256, fileName: 'x.exe' })]);
  });

  it.each(SIZES)('reads a hashdeep line of %s whose name is commas and digits', (_name, size) => {
    const text = `%%%% size,md5,sha256,filename\n68,${MD5},${SHA256},${fill('1,', size - 200)}/x.exe\n`;
    const { records, rejected } = parseImport(text, { format: 'plain', defaults: plainDefaults });
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ md5: MD5, sha256: SHA256, fileName: 'x.exe' })]);
  });

  it.each(SIZES)('reads a CSV field quoted after %s of spaces, and a field of quotes after a letter, as one field each', (_name, size) => {
    const spaces = fill(' ', size / 2 - 100);
    const quotes = fill('"', size / 2 - 100);
    const rows = parseCsv(`a,b\n${spaces}"x,y",a${quotes}\n`);
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x,y', `a${quotes}`] },
    ]);
  });

  it.each(SIZES)('reads a STIX observation padded with %s of white space as one file', (_name, size) => {
    const text = bundle(`[file:hashes.MD5 = '${MD5}'${fill(' ', size - 200)}AND file:name = 'glassdoor.dll']`);
    const { records, rejected } = parseImport(text);
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ md5: MD5, fileName: 'glassdoor.dll', campaign: 'GlassDoor loader' })]);
  });

  it.each(SIZES)('splits a STIX observation on OR, not AND, with %s of white space around each', (_name, size) => {
    const run = fill('\n ', (size - 300) / 4);
    const text = bundle(`[file:hashes.MD5 = '${MD5}'${run}AND${run}file:name = 'a.dll'${run}OR${run}file:hashes.'SHA-256' = '${SHA256}']`);
    const { records, rejected } = parseImport(text);
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.md5 ?? r.sha256, r.fileName])).toEqual([
      [MD5, 'a.dll'],
      [SHA256, 'unknown'],
    ]);
  });

  it('reads a STIX observation of 5,000 files joined by OR, in order', () => {
    const terms = Array.from({ length: 5_000 }, (_, i) => `file:hashes.MD5 = '${md5(i)}'`);
    const { records, rejected } = parseImport(bundle(`[${terms.join(' OR ')}]`));
    expect(rejected).toEqual([]);
    expect(records.map((r) => r.md5)).toEqual(terms.map((_, i) => md5(i)));
  });

  it('rejects a STIX indicator whose 4 MiB pattern opens brackets it never closes', () => {
    const text = bundle(`file:hashes ${fill('[', LIMIT - 200)}`);
    const { records, rejected } = parseImport(text);
    expect(records).toEqual([]);
    expect(rejected).toEqual([{ line: null, input: 'indicator--1', reason: expect.stringContaining('never closed') }]);
  });

  it('rejects a STIX indicator whose 4 MiB pattern opens a string it never closes', () => {
    const text = bundle(`[file:hashes.MD5 = '${MD5}' AND file:name = '${fill("a\\'", LIMIT - 200)}]`);
    const { records, rejected } = parseImport(text);
    expect(records).toEqual([]);
    expect(rejected).toEqual([{ line: null, input: 'indicator--1', reason: expect.stringContaining('never closed') }]);
  });

  it('splits a 4 MiB CSV field of doubled quotes and line breaks into one field, counting its lines', () => {
    const rows = parseCsv(`a,b\n1,"${fill('x""\n', LIMIT - 20)}"\n2,3\n`);
    const lines = Math.floor((LIMIT - 20) / 4);
    expect(rows).toHaveLength(3);
    expect(rows[1]!.fields[1]).toBe('x"\n'.repeat(lines));
    expect(rows[2]).toEqual({ line: 3 + lines, fields: ['2', '3'] });
  });

  it('rejects the row of a 4 MiB CSV whose quoted field is never closed, and no other', () => {
    const text = `sha256,file_name,campaign,sources\n${SHA256},a.dll,c,s\n${MD5.repeat(2)},"${fill('b.dll\n', LIMIT - 300)}`;
    const { records, rejected } = parseImport(text);
    expect(records).toEqual([expect.objectContaining({ sha256: SHA256 })]);
    expect(rejected).toEqual([{ line: 3, input: expect.any(String), reason: expect.stringContaining('never closed') }]);
  });
});
