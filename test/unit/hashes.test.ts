import { describe, expect, it } from 'vitest';
import { InvalidHashError } from '../../lambdas/core/errors.js';
import { parseHash, parseHashList, splitHashLines } from '../../lambdas/core/hashes.js';

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

describe('splitHashLines', () => {
  it('drops blank lines and # comments and accepts CRLF', () => {
    expect(splitHashLines('# exported from EDR\r\naaa\r\n\r\n  \r\n  bbb  \n#c\nccc')).toEqual(['aaa', '  bbb  ', 'ccc']);
  });

  it('returns nothing for a body of comments only', () => {
    expect(splitHashLines('# nothing\n\n')).toEqual([]);
  });
});
