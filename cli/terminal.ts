import { CliError } from './errors.js';
import { formatProgress, ProgressBar, type ProgressSnapshot } from './progress.js';

/** The process's streams and environment, passed in so the commands never reach for globals. */
export interface CliEnvironment {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Whether results may be coloured: a terminal that has not asked for no colour (https://no-color.org). */
export function colourWanted(environment: CliEnvironment): boolean {
  return Boolean(environment.stdout.isTTY) && !environment.env['NO_COLOR'] && environment.env['TERM'] !== 'dumb';
}

/**
 * Results on standard output, written in large pieces with backpressure. A reader that goes away
 * (`hashcheck … | head`) ends the writing quietly; any other write failure (a full disk) is an error,
 * since results that were never written must not pass for none.
 */
export class OutputWriter {
  private pending: string[] = [];
  private pendingLength = 0;
  private readerGone = false;
  private failure: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.readerGone = true;
      else this.failure ??= error;
    });
  }

  async line(text: string): Promise<void> {
    this.pending.push(text, '\n');
    this.pendingLength += text.length + 1;
    if (this.pendingLength >= 256 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    if (text === '' || this.readerGone || this.failure) return this.check();
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('error', done);
        this.stream.on('close', done);
      });
    }
    this.check();
  }

  private check(): void {
    if (this.failure) throw new CliError(`cannot write the results: ${this.failure.message}`, { cause: this.failure });
  }
}

/**
 * Messages on standard error, `hashcheck: `-prefixed, one line each, drawn around the progress line when
 * there is one. Warnings are always shown; notes (summaries) not with `--quiet`.
 */
export class Reporter {
  private bar: ProgressBar | undefined;

  constructor(
    private readonly environment: CliEnvironment,
    private readonly options: { readonly quiet: boolean; readonly progress: boolean },
  ) {}

  /** A problem the user must see: a file that could not be read, a link loop, an invalid line. */
  warn(message: string): void {
    this.write(`hashcheck: ${message}\n`);
  }

  /** Information: the summary of a run, a hint. */
  note(message: string): void {
    if (!this.options.quiet) this.write(`hashcheck: ${message}\n`);
  }

  /**
   * Passing news of work in progress (a retry and its wait): shown on a terminal, where someone is
   * waiting, but kept out of logs, where only the outcome matters.
   */
  status(message: string): void {
    if (!this.options.quiet && this.environment.stderr.isTTY) this.write(`hashcheck: ${message}\n`);
  }

  /**
   * Starts a progress line when standard error is a terminal (and progress was not turned off); when it
   * is a pipe or a file nothing is drawn, so logs stay clean.
   */
  startProgress(snapshot: () => ProgressSnapshot): void {
    this.startProgressLine((width) => formatProgress(snapshot(), width));
  }

  /** {@link startProgress} with a line of the caller's own, at most the width it is given. */
  startProgressLine(line: (width: number) => string): void {
    if (!this.options.progress || this.options.quiet || !this.environment.stderr.isTTY || this.bar) return;
    this.bar = new ProgressBar(this.environment.stderr, line);
    this.bar.start();
  }

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private write(text: string): void {
    if (this.bar) this.bar.interrupt(() => this.environment.stderr.write(text));
    else this.environment.stderr.write(text);
  }
}
