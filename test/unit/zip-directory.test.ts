import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZIP_END_BYTES, zipEntriesDeclared } from '../../lambdas/core/inside/zip-directory.js';
import { emptyMembersZip, workFolder, zipOf } from '../support/archives.js';

const tailOf = (bytes: Buffer) => bytes.subarray(Math.max(0, bytes.length - ZIP_END_BYTES));

let work: ReturnType<typeof workFolder>;
beforeAll(() => {
  work = workFolder();
});
afterAll(() => work.remove());

describe('the entry count a ZIP declares', () => {
  it('reads the count of an Info-ZIP archive from its end record', () => {
    expect(zipEntriesDeclared(tailOf(zipOf({ 'a.txt': 'a', 'b/c.txt': 'c', 'd.txt': 'd' })))).toBe(3);
  });

  it('finds the end record before an archive comment', () => {
    const path = join(work.path, 'commented.zip');
    writeFileSync(join(work.path, 'x.txt'), 'x');
    execFileSync('zip', ['-q', path, 'x.txt'], { cwd: work.path });
    // `zip -z` takes the comment from standard input; one that contains the end record's own signature.
    execFileSync('zip', ['-q', '-z', path], { cwd: work.path, input: 'release notes PK\u0005\u0006 and more\n' });
    expect(zipEntriesDeclared(tailOf(readFileSync(path)))).toBe(1);
  });

  it('reads the count of a ZIP64 archive past 65,535 entries from its ZIP64 record', () => {
    expect(zipEntriesDeclared(tailOf(emptyMembersZip(70_000)))).toBe(70_000);
  });

  it('declares nothing for bytes that are no ZIP', () => {
    expect(zipEntriesDeclared(Buffer.from('just some text that is long enough to hold an end record, but none'))).toBeUndefined();
  });
});
