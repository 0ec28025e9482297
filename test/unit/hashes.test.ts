import { describe, expect, it } from 'vitest';
import { InvalidHashError } from '../../lambdas/core/errors.js';
import { parseHash, parseHashLines, parseHashList } from '../../lambdas/core/hashes.js';

describe('parseHash', () => {
  it.each([
    ['md5', 'f3d4144860ca10ba60f7ef4d176cc736'],
    ['sha1', 'bea77d1e59cf18dce22ad9a2fad52948fd7a9efa'],
    ['sha256', 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868'],
  ])('tells %s from the length of the hash', (algorithm, hash) => {
    expect(parseHash(hash)).toEqual({ hash, algorithm });
  });

  it('ignores case and the spaces and tabs around the hash', () => {
    expect(parseHash('  F3D4144860CA10BA60F7EF4D176CC736\t \u00a0').hash).toBe('f3d4144860ca10ba60f7ef4d176cc736');
  });

  it.each([
    ['a trailing line feed', 'f3d4144860ca10ba60f7ef4d176cc736\n'],
    ['a trailing CRLF', 'f3d4144860ca10ba60f7ef4d176cc736\r\n'],
    ['a leading carriage return', '\rf3d4144860ca10ba60f7ef4d176cc736'],
    ['a trailing NUL', 'f3d4144860ca10ba60f7ef4d176cc736\u0000'],
    ['a vertical tab', '\u000bf3d4144860ca10ba60f7ef4d176cc736'],
    ['a line separator', 'f3d4144860ca10ba60f7ef4d176cc736\u2028'],
  ])('rejects a hash with %s: a line break or control character is not surrounding space', (_name, input) => {
    expect(() => parseHash(input)).toThrow(InvalidHashError);
    expect(() => parseHash(input)).toThrow(/control character/);
  });

  it.each([
    ['an empty string', '', /empty/],
    ['non-hex characters', 'xyz', /other than 0-9 and a-f/],
    ['a hash of the wrong length', 'abcdef', /6 hex characters/],
    ['a 63-character hash', 'a'.repeat(63), /63 hex characters/],
    ['inner white space', 'f3d4144860ca10ba 60f7ef4d176cc736', /other than/],
    ['a 0x prefix', '0xf3d4144860ca10ba60f7ef4d176cc736', /other than/],
  ])('rejects %s with InvalidHashError', (_name, input, message) => {
    expect(() => parseHash(input)).toThrow(InvalidHashError);
    expect(() => parseHash(input)).toThrow(message);
  });
});

describe('parseHashList', () => {
  it('reports invalid entries in place without spoiling valid ones', () => {
    const [good, bad] = parseHashList(['F3D4144860CA10BA60F7EF4D176CC736', 'nope']);
    expect(good).toEqual({
      input: 'F3D4144860CA10BA60F7EF4D176CC736',
      parsed: { hash: 'f3d4144860ca10ba60f7ef4d176cc736', algorithm: 'md5' },
    });
    expect(bad && 'error' in bad && bad.error.code).toBe('invalid_hash');
  });
});

describe('parseHashLines', () => {
  const SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
  const MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

  it('drops blank lines and # comments and accepts CRLF', () => {
    expect(parseHashLines('# exported from EDR\r\naaa\r\n\r\n  \r\n  bbb  \n#c\nccc').map((r) => r.input)).toEqual(['aaa', '  bbb  ', 'ccc']);
  });

  it('returns nothing for a body of comments only', () => {
    expect(parseHashLines('# nothing\n\n')).toEqual([]);
  });

  it('answers the hash of sha256sum, md5sum, tagged and hashdeep lines, echoing each whole line', () => {
    const lines = [
      `${SHA256}  setup.msi`,
      `${MD5} *bin/tool.exe`,
      `\\${SHA256}  dir\\\\name.dll`,
      `SHA256 (a b.txt) = ${SHA256.toUpperCase()}`,
      '%%%% HASHDEEP-1.0',
      '%%%% size,md5,sha256,filename',
      '## $ hashdeep -r /mnt/evidence',
      `1024,${MD5},${SHA256},/mnt/evidence/a, b.dll`,
    ];
    const results = parseHashLines(lines.join('\n'));
    expect(results.map((r) => [r.input, 'parsed' in r ? r.parsed.hash : r.error.code])).toEqual([
      [lines[0], SHA256],
      [lines[1], MD5],
      [lines[2], SHA256],
      [lines[3], SHA256],
      [lines[7], MD5],
      [lines[7], SHA256],
    ]);
  });

  it('answers a line that holds no hash invalid in place, whole, without spoiling the others', () => {
    const results = parseHashLines(`not-a-hash  file.exe\n${MD5}`);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ input: 'not-a-hash  file.exe', error: { code: 'invalid_hash' } });
    expect(results[1]).toMatchObject({ input: MD5, parsed: { hash: MD5, algorithm: 'md5' } });
  });
});
