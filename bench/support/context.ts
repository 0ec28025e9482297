import type { ResultBuilder } from './report.js';

/** What every benchmark is given. */
export interface BenchContext {
  /** The project root: the working directory of every child process. */
  readonly projectRoot: string;
  /** Progress on stderr, so stdout carries only the summary. */
  log(line: string): void;
}

export interface Benchmark {
  readonly name: string;
  readonly title: string;
  /** Measures, adding rows, targets and notes to `result`; throws only when something is broken. */
  run(context: BenchContext, result: ResultBuilder): Promise<void>;
}
