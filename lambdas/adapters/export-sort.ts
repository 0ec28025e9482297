import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { LineSorter } from '../core/exports.js';

export interface FileLineSorterOptions {
  /** A private scratch folder the caller owns and removes after the export is written. */
  readonly dir: string;
  /** Lines sorted in memory at once before they go to a run on disk. @default 200_000 */
  readonly runLines?: number;
}

/** Writes lines, each followed by `\n`, to a new file readable by its owner only, minding backpressure. */
export async function writeLines(path: string, lines: AsyncIterable<string> | Iterable<string>): Promise<void> {
  await writeText(
    path,
    (async function* () {
      let pending: string[] = [];
      let size = 0;
      for await (const line of lines) {
        pending.push(line, '\n');
        size += line.length + 1;
        if (size >= 64 * 1024) {
          yield pending.join('');
          pending = [];
          size = 0;
        }
      }
      if (pending.length > 0) yield pending.join('');
    })(),
  );
}

/** Writes text to a new file readable by its owner only, minding backpressure; complete when it resolves. */
export async function writeText(path: string, chunks: AsyncIterable<string>): Promise<void> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const failed = new Promise<never>((_resolve, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  try {
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
  } catch (error) {
    out.destroy();
    throw error;
  }
}

/** The lines of a file written by `writeLines`, read lazily. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    yield* lines;
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * A line sorter that keeps a list of millions out of memory: lines are sorted in runs of `runLines`,
 * each run written to the scratch folder, and the runs merged into one sorted file, which is then read
 * lazily. Under `runLines` lines nothing touches the disk.
 */
export function makeFileLineSorter(options: FileLineSorterOptions): LineSorter {
  const runLines = options.runLines ?? 200_000;
  return async (lines, { unique }) => {
    const id = randomBytes(6).toString('hex');
    const runs: string[] = [];
    let buffer: string[] = [];
    const sortBuffer = () => {
      buffer.sort();
      return unique ? buffer.filter((line, i) => i === 0 || line !== buffer[i - 1]) : buffer;
    };
    for await (const line of lines) {
      buffer.push(line);
      if (buffer.length >= runLines) {
        const path = join(options.dir, `run-${id}-${runs.length}`);
        await writeLines(path, sortBuffer());
        runs.push(path);
        buffer = [];
      }
    }
    if (runs.length === 0) {
      const sorted = sortBuffer();
      return {
        count: sorted.length,
        lines: async function* () {
          yield* sorted;
        },
      };
    }
    if (buffer.length > 0) {
      const path = join(options.dir, `run-${id}-${runs.length}`);
      await writeLines(path, sortBuffer());
      runs.push(path);
      buffer = [];
    }
    const merged = join(options.dir, `sorted-${id}`);
    let count = 0;
    await writeLines(
      merged,
      (async function* () {
        let last: string | undefined;
        for await (const line of mergeRuns(runs)) {
          if (unique && line === last) continue;
          last = line;
          count++;
          yield line;
        }
      })(),
    );
    await Promise.all(runs.map((run) => rm(run, { force: true })));
    return { count, lines: () => readLines(merged) };
  };
}

/** Merges sorted files into one sorted sequence (runs are few: a linear pick of the least head is enough). */
async function* mergeRuns(paths: readonly string[]): AsyncGenerator<string> {
  const readers = paths.map((path) => readLines(path));
  const heads: (string | undefined)[] = [];
  try {
    for (const reader of readers) heads.push((await reader.next()).value ?? undefined);
    for (;;) {
      let least = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (head !== undefined && (least < 0 || head < heads[least]!)) least = i;
      }
      if (least < 0) return;
      yield heads[least]!;
      const next = await readers[least]!.next();
      heads[least] = next.done ? undefined : next.value;
    }
  } finally {
    await Promise.all(readers.map((reader) => reader.return(undefined)));
  }
}
