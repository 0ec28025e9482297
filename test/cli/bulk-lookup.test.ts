import { describe, expect, it } from 'vitest';
import { inOrder, listWindows, readBatchAnswer } from '../../cli/bulk-lookup.js';
import { checkHash, type HashHex } from '../../lambdas/core/hashes.js';
import type { ListEntry } from '../../cli/hash-list.js';
import { lookupLines, type LookupRow } from '../../cli/output.js';

const entry = (line: number, text: string): ListEntry => ({ line, input: text, candidate: text });
const check = (e: ListEntry) => {
  const checked = checkHash(e.candidate);
  return 'parsed' in checked ? checked.parsed.hash : checked.error;
};
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

describe('reading a bulk lookup answer', () => {
  const url = new URL('http://127.0.0.1:1/v1/hashes/lookup?only=malicious');
  const known = md5(1) as HashHex;
  const other = md5(2) as HashHex;
  const third = md5(3) as HashHex;
  const record = { md5: known, fileName: 'a.dll', platform: 'windows', version: '1', kind: 'library', stage: 'x', campaign: 'c', confidence: 'high', sources: ['s'] };
  const malicious = (hash: string) => ({ input: hash, hash, algorithm: 'md5', verdict: 'malicious', match: { ...record, md5: hash } });
  const unknown = (hash: string) => ({ input: hash, hash, algorithm: 'md5', verdict: 'unknown', match: null });
  const read = (batch: HashHex[], results: unknown[], summary: Record<string, number>) =>
    readBatchAnswer({ batch, url, text: JSON.stringify({ results, summary }) });

  it('answers the hashes without a result unknown, when the counts say so', () => {
    const verdicts = read([other, known, third], [malicious(known)], { total: 3, malicious: 1, unknown: 2, invalid: 0 });
    expect(verdicts.map((v) => [v.hash, v.verdict, v.algorithm])).toEqual([
      [other, 'unknown', 'md5'],
      [known, 'malicious', 'md5'],
      [third, 'unknown', 'md5'],
    ]);
  });

  it('reads an answer holding every result, as a service that does not know only= sends it, the same way', () => {
    const verdicts = read([other, known], [unknown(other), malicious(known)], { total: 2, malicious: 1, unknown: 1, invalid: 0 });
    expect(verdicts.map((v) => v.verdict)).toEqual(['unknown', 'malicious']);
  });

  it('refuses results out of order, results for hashes not asked, and counts that disagree with the results', () => {
    expect(() => read([other, known], [malicious(known), unknown(other)], { total: 2, malicious: 1, unknown: 1, invalid: 0 })).toThrow(
      `the service answered for ${other}, which was not asked there`,
    );
    expect(() => read([other], [malicious(third)], { total: 1, malicious: 1, unknown: 0, invalid: 0 })).toThrow('which was not asked there');
    expect(() => read([other, known], [], { total: 2, malicious: 1, unknown: 1, invalid: 0 })).toThrow('a partial answer counts as a failure');
    expect(() => read([other, known], [malicious(known)], { total: 3, malicious: 1, unknown: 2, invalid: 0 })).toThrow('disagree');
  });
});
