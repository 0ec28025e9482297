import { describe, expect, it } from 'vitest';
import { batches, extractHashes } from '../../web/src/hash-lines.js';

const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
const MD5 = '44d88612fea8a8f36de82e1278abb02f';

describe('extractHashes', () => {
  it('takes one hash per line, keeping each line number', () => {
    expect(extractHashes(`${SHA256}\n${MD5}`)).toEqual([
      { line: 1, value: SHA256 },
      { line: 2, value: MD5 },
    ]);
  });

  it('skips blank lines and # comments without renumbering the rest', () => {
    expect(extractHashes(`# export\n\n  \n${MD5}\r\n\r\n${SHA256}`)).toEqual([
      { line: 4, value: MD5 },
      { line: 6, value: SHA256 },
    ]);
  });

  it('takes the first field of sha256sum output, text and binary mode, names with spaces', () => {
    expect(extractHashes(`${SHA256}  eicar.com\n${MD5} *setup files/installer.msi`).map((e) => e.value)).toEqual([SHA256, MD5]);
  });

  it('drops the backslash coreutils puts before a hash whose file name needs escaping', () => {
    expect(extractHashes(`\\${SHA256}  dir\\\\name.dll`)[0]!.value).toBe(SHA256);
  });

  it('takes the hash after = in tagged output of shasum --tag and openssl dgst', () => {
    expect(extractHashes(`SHA256 (eicar.com) = ${SHA256}\nSHA2-256(eicar.com)= ${SHA256}\nMD5 (a b.txt) = ${MD5}`).map((e) => e.value)).toEqual([
      SHA256,
      SHA256,
      MD5,
    ]);
  });

  it('takes both hashes of a hashdeep line, on its line, and skips the hashdeep header and comments', () => {
    const text = `%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## $ hashdeep -r .\n68,${MD5},${SHA256},./eicar.com`;
    expect(extractHashes(text)).toEqual([
      { line: 4, value: MD5 },
      { line: 4, value: SHA256 },
    ]);
  });

  it('takes the hash of a sha256sum line whose file name looks like tagged output', () => {
    expect(extractHashes(`${SHA256}  (1) = b.txt`)).toEqual([{ line: 1, value: SHA256 }]);
  });

  it('passes anything else through unchanged for the service to judge', () => {
    expect(extractHashes('not-a-hash\n  xyz  trailing')).toEqual([
      { line: 1, value: 'not-a-hash' },
      { line: 2, value: 'xyz' },
    ]);
  });

  it('finds nothing in empty or comment-only text', () => {
    expect(extractHashes('')).toEqual([]);
    expect(extractHashes('\n# nothing\n   \n')).toEqual([]);
  });
});

describe('batches', () => {
  it('splits a list at the per-request limit, in order', () => {
    const items = Array.from({ length: 25_001 }, (_, i) => i);
    const split = batches(items);
    expect(split.map((b) => b.length)).toEqual([10_000, 10_000, 5_001]);
    expect(split.flat()).toEqual(items);
  });

  it('makes no request for an empty list', () => {
    expect(batches([])).toEqual([]);
  });
});
