import { describe, expect, it } from 'vitest';
import { formatCsvField, parseCsv } from '../../cli/csv.js';
import { InputError } from '../../cli/errors.js';
import { decodeInput, readChecksumLines, readCsvColumn } from '../../cli/hash-list.js';

const MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
const SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';

describe('readChecksumLines', () => {
  it('takes the hash and the path from bare, sha256sum, binary-mode, escaped and tagged lines', () => {
    const text = [
      '# md5sum and sha256sum output',
      MD5,
      '',
      `${SHA256}  C:\\Program Files\\3CX Desktop App\\3CXDesktopApp.exe`,
      `${MD5} *setup.msi`,
      `\\${MD5}  dir\\\\with\\nnewline.txt`,
      `SHA256 (my file.dll) = ${SHA256}`,
      `MD5 (x) = ${MD5}\r`,
      '   ',
      `${MD5}\tsome/path`,
    ].join('\n');

    const { entries } = readChecksumLines(text);

    expect(entries.map(({ line, candidate, name }) => ({ line, candidate, name }))).toEqual([
      { line: 2, candidate: MD5, name: undefined },
      { line: 4, candidate: SHA256, name: 'C:\\Program Files\\3CX Desktop App\\3CXDesktopApp.exe' },
      { line: 5, candidate: MD5, name: 'setup.msi' },
      { line: 6, candidate: MD5, name: 'dir\\with\nnewline.txt' },
      { line: 7, candidate: SHA256, name: 'my file.dll' },
      { line: 8, candidate: MD5, name: 'x' },
      { line: 10, candidate: MD5, name: 'some/path' },
    ]);
    expect(entries[5]!.input).toBe(`MD5 (x) = ${MD5}`);
  });

  it('takes both hashes of a hashdeep line, skipping its %%%% header and ## comments', () => {
    const text = ['%%%% HASHDEEP-1.0', '%%%% size,md5,sha256,filename', '## $ hashdeep -r C:\\evidence', `4096,${MD5},${SHA256},C:\\evidence\\a, b.dll`].join('\r\n');

    const { entries } = readChecksumLines(text);

    expect(entries.map(({ line, candidate, name }) => ({ line, candidate, name }))).toEqual([
      { line: 4, candidate: MD5, name: 'C:\\evidence\\a, b.dll' },
      { line: 4, candidate: SHA256, name: 'C:\\evidence\\a, b.dll' },
    ]);
  });

  it('takes the hash of a tagged line whose name holds brackets and =, and of openssl dgst output', () => {
    const { entries } = readChecksumLines(`SHA256 (a (1) = b.txt) = ${SHA256}\nSHA2-256(x.dll)= ${SHA256}`);

    expect(entries.map(({ candidate, name }) => ({ candidate, name }))).toEqual([
      { candidate: SHA256, name: 'a (1) = b.txt' },
      { candidate: SHA256, name: 'x.dll' },
    ]);
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, numbering records by their first line', () => {
    const records = parseCsv('a,b,c\r\n"x, y","say ""hi""",z\r\n\r\n1,"two\nlines",3\n4, "five" ,6\nlast,row');

    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'z'] },
      { line: 4, fields: ['1', 'two\nlines', '3'] },
      { line: 6, fields: ['4', 'five ', '6'] },
      { line: 7, fields: ['last', 'row'] },
    ]);
  });

  it('reads rows of empty cells as no rows, as imports do', () => {
    expect(parseCsv('a,b\n,\n"",\n1,2\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 4, fields: ['1', '2'] },
    ]);
  });

  it('refuses a quoted field that is never closed, naming the line it opens on', () => {
    expect(() => parseCsv('a,b\n1,2\n3,"never\nclosed\n')).toThrow(new InputError('line 3: a quoted CSV field is never closed'));
  });
});

describe('readCsvColumn', () => {
  it('finds the column ignoring case, skips empty cells and keeps rows too short to have it as problems', () => {
    const { entries, emptyCells } = readCsvColumn(`Host,SHA256\nws-1,${SHA256}\nws-2,\nws-3\n`, 'sha256');

    expect(emptyCells).toBe(1);
    expect(entries).toEqual([
      { line: 2, input: SHA256, candidate: SHA256, row: { Host: 'ws-1', SHA256 } },
      {
        line: 4,
        input: 'ws-3',
        candidate: '',
        row: { Host: 'ws-3', SHA256: '' },
        problem: "the row has 1 field; the column 'SHA256' is field 2",
      },
    ]);
  });
});

describe('decodeInput', () => {
  it('drops a UTF-8 byte-order mark and decodes UTF-16 as PowerShell writes it', () => {
    expect(decodeInput(Buffer.from(`\uFEFF${MD5}\n`, 'utf8'))).toBe(`${MD5}\n`);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${MD5}\r\n`, 'utf16le')]);
    expect(readChecksumLines(decodeInput(utf16)).entries[0]!.candidate).toBe(MD5);
  });
});

describe('formatCsvField', () => {
  it('quotes what must be quoted and disarms cells a spreadsheet would run as formulas', () => {
    expect(formatCsvField('plain')).toBe('plain');
    expect(formatCsvField('a,b')).toBe('"a,b"');
    expect(formatCsvField('say "hi"')).toBe('"say ""hi"""');
    expect(formatCsvField('two\nlines')).toBe('"two\nlines"');
    expect(formatCsvField('=HYPERLINK("http://x")', { text: true })).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(formatCsvField('-2+3', { text: true })).toBe("'-2+3");
    expect(formatCsvField(null)).toBe('');
  });
});
