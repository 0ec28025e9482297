import { describe, expect, it } from 'vitest';
import { inOrder, listWindows } from '../../cli/bulk-lookup.js';
import { checkHash, type HashHex } from '../../lambdas/core/hashes.js';
import type { ListEntry } from '../../cli/hash-list.js';
import { lookupLines, type LookupRow } from '../../cli/output.js';

const entry = (line: number, text: string): ListEntry => ({ line, input: text, candidate: text });
const check = (e: ListEntry) => checkHash(e.candidate);
const md5 = (n: number) => n.toString(16).padStart(32, '0');

/** A promise settled from outside, so a test decides the order in which pieces of work finish. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const turns = () => new Promise((resolve) => setImmediate(resolve));

describe('listWindows', () => {
  it('cuts a list into windows of at most the batch size in distinct hashes, asking each hash of a window once', () => {
    const entries = [md5(1), md5(2), md5(1), 'not a hash', md5(3), md5(2), md5(4), md5(5)].map((text, i) => entry(i + 1, text));
    const windows = [...listWindows(entries, check, 2)];
    expect(windows.map((w) => w.distinct)).toEqual([[md5(1), md5(2)], [md5(3), md5(2)], [md5(4), md5(5)]]);
    expect(windows.map((w) => w.entries.map((e) => e.line))).toEqual([[1, 2, 3, 4], [5, 6], [7, 8]]);
    expect(Array.from(windows[0]!.slotOf)).toEqual([0, 1, 0, -1]);
    expect(windows[0]!.invalid.get(3)?.code).toBe('invalid_hash');
  });

  it('cuts a list of one hash repeated, or of lines that are not hashes, at the entry limit', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i + 1, i < 5 ? md5(7) : 'x'));
    const windows = [...listWindows(entries, check, 2, 4)];
    expect(windows.map((w) => w.entries.length)).toEqual([4, 4, 2]);
    expect(windows.map((w) => w.distinct.length)).toEqual([1, 1, 0]);
  });

  it('reads the entries only as windows are asked for', () => {
    let read = 0;
    function* counted() {
      for (let i = 1; i <= 100; i++) {
        read += 1;
        yield entry(i, md5(i));
      }
    }
    const windows = listWindows(counted(), check, 10);
    windows.next();
    expect(read).toBe(11);
  });
});

describe('inOrder', () => {
  it('delivers results in the order of the items whatever order the work finishes in, with at most the concurrency running', async () => {
    const pending = [0, 1, 2, 3].map(() => deferred<string>());
    let running = 0;
    let mostRunning = 0;
    const delivered: string[] = [];
    const done = inOrder(
      [0, 1, 2, 3][Symbol.iterator](),
      2,
      async (item) => {
        running += 1;
        mostRunning = Math.max(mostRunning, running);
        try {
          return await pending[item]!.promise;
        } finally {
          running -= 1;
        }
      },
      (item, result) => void delivered.push(`${item}:${result}`),
    );
    pending[1]!.resolve('b');
    await turns();
    expect(delivered).toEqual([]);
    pending[0]!.resolve('a');
    await turns();
    expect(delivered).toEqual(['0:a', '1:b']);
    pending[3]!.resolve('d');
    pending[2]!.resolve('c');
    await done;
    expect(delivered).toEqual(['0:a', '1:b', '2:c', '3:d']);
    expect(mostRunning).toBe(2);
  });

  it('throws the first failure, aborts the work still running, and delivers nothing after it', async () => {
    const first = deferred<string>();
    const aborted: number[] = [];
    const delivered: number[] = [];
    const done = inOrder(
      [0, 1, 2][Symbol.iterator](),
      3,
      (item, signal) => {
        if (item === 1) return Promise.reject(new Error('batch 1 failed'));
        return new Promise<string>((resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push(item);
            reject(new Error(`batch ${item} aborted`));
          });
          if (item === 0) void first.promise.then(resolve);
        });
      },
      (item) => void delivered.push(item),
    );
    await expect(done).rejects.toThrow('batch 1 failed');
    expect(aborted.sort()).toEqual([0, 2]);
    expect(delivered).toEqual([]);
  });
});

describe('lookup results as JSON Lines', () => {
  it('writes inputs with quotes, backslashes, line separators and other scripts as JSON that reads back the same', () => {
    const hash = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868' as HashHex;
    const names = ['C:\\Users\\ops\\"3CX".msi', 'naïve\u2028name.exe', 'plain.msi', 'tab\there'];
    const rows: LookupRow[] = names.map((name, i) => ({
      entry: { line: i + 1, input: `${hash}  ${name}`, candidate: hash, name },
      result: { hash, algorithm: 'sha256', verdict: 'unknown', match: null },
    }));
    rows.push({ entry: { line: 9, input: 'x"\\y', candidate: 'x"\\y' }, result: { input: 'x"\\y', error: { code: 'invalid_hash', message: 'not "hex"' } } });
    const lines = lookupLines(rows, 'json', { colour: false }).split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      ...names.map((name, i) => ({ line: i + 1, input: `${hash}  ${name}`, hash, algorithm: 'sha256', verdict: 'unknown', match: null, name })),
      { line: 9, input: 'x"\\y', verdict: 'invalid', error: 'not "hex"' },
    ]);
  });
});
