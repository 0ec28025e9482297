import { describe, expect, it } from 'vitest';
import { readInsideLimits } from '../../lambdas/adapters/config.js';
import { containerFormat, HEAD_BYTES } from '../../lambdas/core/inside/formats.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import { compressedOf, tarOf, zipOf } from '../support/archives.js';

describe('the limits of looking inside', () => {
  it('are at least ClamAV defaults when no variable is set', () => {
    expect(readInsideLimits({})).toEqual({
      maxDepth: 17,
      maxMembers: 10_000,
      maxBytes: 400 * 1024 * 1024,
      maxMemberBytes: 100 * 1024 * 1024,
      maxRatio: 200,
      timeMs: 120_000,
    });
  });

  it('take each HASHCHECK_INSIDE_ variable', () => {
    const limits = readInsideLimits({
      HASHCHECK_INSIDE_MAX_DEPTH: '3',
      HASHCHECK_INSIDE_MAX_MEMBERS: '50',
      HASHCHECK_INSIDE_MAX_BYTES: '1000',
      HASHCHECK_INSIDE_MAX_MEMBER_BYTES: '500',
      HASHCHECK_INSIDE_MAX_RATIO: '10',
      HASHCHECK_INSIDE_TIME_MS: '2000',
    });
    expect(limits).toEqual({ maxDepth: 3, maxMembers: 50, maxBytes: 1000, maxMemberBytes: 500, maxRatio: 10, timeMs: 2000 });
    expect(readInsideLimits({ HASHCHECK_INSIDE_MAX_DEPTH: '' })).toEqual(DEFAULT_INSIDE_LIMITS);
  });

  it('refuse a variable that is not a positive integer, naming it', () => {
    expect(() => readInsideLimits({ HASHCHECK_INSIDE_MAX_RATIO: 'lots' })).toThrow(/HASHCHECK_INSIDE_MAX_RATIO/);
    expect(() => readInsideLimits({ HASHCHECK_INSIDE_TIME_MS: '0' })).toThrow(/HASHCHECK_INSIDE_TIME_MS/);
  });
});

describe('which files are containers', () => {
  const head = (bytes: Buffer) => bytes.subarray(0, HEAD_BYTES);
  const none = new Uint8Array();

  it('is decided by the bytes of archives built by the real tools', () => {
    expect(containerFormat(head(zipOf({ 'a.txt': 'a' })), none)).toBe('zip');
    expect(containerFormat(head(tarOf({ 'a.txt': 'a' })), none)).toBe('tar');
    expect(containerFormat(head(tarOf({ 'a.txt': 'a' }, 'gzip')), none)).toBe('gzip');
    expect(containerFormat(head(compressedOf('a.txt', 'a', 'bzip2')), none)).toBe('bzip2');
    expect(containerFormat(head(compressedOf('a.txt', 'a', 'xz')), none)).toBe('xz');
  });

  it('never by name or by text that merely mentions a format', () => {
    expect(containerFormat(Buffer.from('PK is how a ZIP starts, but this is text'), none)).toBeNull();
    expect(containerFormat(Buffer.from('BZh0 is no bzip2 block size'), none)).toBeNull();
    expect(containerFormat(new Uint8Array(0), none)).toBeNull();
  });
});
