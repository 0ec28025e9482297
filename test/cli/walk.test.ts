import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkPaths, type WalkProblem } from '../../cli/walk.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hashcheck-walk-'));
  mkdirSync(join(root, 'a', 'deep'), { recursive: true });
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'a', 'deep', 'one.bin'), 'one');
  writeFileSync(join(root, 'b', 'two.bin'), 'two!');
  // A link to a sibling folder (its files are listed once), a link loop, a pair of links pointing at
  // each other, a link to a file, and a FIFO that would block a reader forever.
  symlinkSync('../b', join(root, 'a', 'to-b'));
  symlinkSync('../..', join(root, 'a', 'deep', 'up'));
  symlinkSync('ping', join(root, 'pong'));
  symlinkSync('pong', join(root, 'ping'));
  symlinkSync('b/two.bin', join(root, 'two-link.bin'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('walkPaths', () => {
  it('lists each folder once in name order, follows links to files, and reports loops and special files with follow', async () => {
    const problems: WalkProblem[] = [];
    const files = await walkPaths([root], { follow: true, onProblem: (problem) => problems.push(problem) });

    expect(files).toEqual([
      { path: join(root, 'a', 'deep', 'one.bin'), size: 3 },
      { path: join(root, 'a', 'to-b', 'two.bin'), size: 4 },
      { path: join(root, 'two-link.bin'), size: 4 },
    ]);
    expect(problems.map(({ kind, path }) => [kind, path])).toEqual([
      ['symlink-loop', join(root, 'a', 'deep', 'up')],
      ['special-file', join(root, 'fifo')],
      ['symlink-loop', join(root, 'ping')],
      ['symlink-loop', join(root, 'pong')],
    ]);
    expect(problems[0]!.message).toContain(`leads back to ${root}`);
  });

  it('leaves symbolic links inside folders alone by default, reporting each, and follows a link given as a path', async () => {
    const problems: WalkProblem[] = [];
    const files = await walkPaths([root, join(root, 'two-link.bin')], { onProblem: (problem) => problems.push(problem) });

    expect(files).toEqual([
      { path: join(root, 'a', 'deep', 'one.bin'), size: 3 },
      { path: join(root, 'b', 'two.bin'), size: 4 },
      { path: join(root, 'two-link.bin'), size: 4 },
    ]);
    expect(problems.map(({ kind, path }) => [kind, path])).toEqual([
      ['symlink-not-followed', join(root, 'a', 'deep', 'up')],
      ['symlink-not-followed', join(root, 'a', 'to-b')],
      ['special-file', join(root, 'fifo')],
      ['symlink-not-followed', join(root, 'ping')],
      ['symlink-not-followed', join(root, 'pong')],
      ['symlink-not-followed', join(root, 'two-link.bin')],
    ]);
    expect(problems[0]!.message).toBe(`${join(root, 'a', 'deep', 'up')}: symbolic link; not followed (see --follow)`);
  });
});
