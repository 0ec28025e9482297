/** Where long work stands, for the progress line. */
export interface ProgressSnapshot {
  /** `finding` while files are listed (totals not known yet), then `checking`. */
  readonly phase: 'finding' | 'checking';
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
  /** Since the phase began. */
  readonly elapsedMs: number;
  readonly malicious: number;
  /** Symbolic links found and not followed. */
  readonly linksNotFollowed?: number;
}

/** `1.5 GiB`, `340 KiB`, `68 B`: binary units, as file sizes are. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `0:07`, `12:30`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** `12,345`: counts are easier to read grouped. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** `1 file`, `12,345 files`, `1 entry`, `2 entries`: a count and its noun, singular for exactly one. */
export function formatCounted(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/**
 * One progress line, at most `width` characters: a bar, the files and bytes done of the total, the read
 * rate and the time left. Progress is measured in bytes, since hashing time follows the bytes; a run of
 * empty files is measured in files.
 */
export function formatProgress(snapshot: ProgressSnapshot, width: number): string {
  const { files, totalFiles, bytes, totalBytes, elapsedMs, malicious } = snapshot;
  const bad = malicious > 0 ? `  ${formatCount(malicious)} known-bad` : '';
  if (snapshot.phase === 'finding') {
    const links = snapshot.linksNotFollowed ? `, ${formatCounted(snapshot.linksNotFollowed, 'link')} not followed` : '';
    return fit(`finding files: ${formatCounted(files, 'file')}, ${formatBytes(bytes)}${links}`, width);
  }
  const fraction = totalBytes > 0 ? bytes / totalBytes : totalFiles > 0 ? files / totalFiles : 1;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? bytes / seconds : 0;
  // Too early to tell: the first half second says little about the rate.
  const eta = rate > 0 && elapsedMs >= 500 ? formatDuration((totalBytes - bytes) / rate) : '--:--';
  const text =
    ` ${String(Math.floor(Math.min(1, fraction) * 100)).padStart(3)}%` +
    `  ${formatCount(files)}/${formatCounted(totalFiles, 'file')}` +
    `  ${formatBytes(bytes)}/${formatBytes(totalBytes)}` +
    `  ${formatBytes(rate)}/s  ETA ${eta}${bad}`;
  const barWidth = Math.max(10, Math.min(30, width - text.length - 3));
  const filled = Math.round(Math.min(1, fraction) * barWidth);
  return fit(`[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${text}`, width);
}

/** Where a long lookup stands: the input's lines answered, of how many, and what was found. */
export interface LookupProgress {
  readonly lines: number;
  readonly totalLines: number;
  readonly hashes: number;
  readonly malicious: number;
  readonly elapsedMs: number;
}

/** One progress line of a lookup, at most `width` characters: a bar, the lines answered, the rate and the time left. */
export function formatLookupProgress(snapshot: LookupProgress, width: number): string {
  const { lines, totalLines, hashes, malicious, elapsedMs } = snapshot;
  const fraction = totalLines > 0 ? Math.min(1, lines / totalLines) : 1;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? lines / seconds : 0;
  const eta = rate > 0 && elapsedMs >= 500 ? formatDuration((totalLines - lines) / rate) : '--:--';
  const bad = malicious > 0 ? `  ${formatCount(malicious)} known-bad` : '';
  const text =
    ` ${String(Math.floor(fraction * 100)).padStart(3)}%` +
    `  ${formatCount(lines)}/${formatCounted(totalLines, 'line')}` +
    `  ${formatCounted(Math.round(seconds > 0 ? hashes / seconds : 0), 'hash', 'hashes')}/s  ETA ${eta}${bad}`;
  const barWidth = Math.max(10, Math.min(30, width - text.length - 3));
  const filled = Math.round(fraction * barWidth);
  return fit(`[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${text}`, width);
}

function fit(line: string, width: number): string {
  // The last column is left free: writing into it makes some terminals wrap.
  return line.length < width ? line : line.slice(0, Math.max(0, width - 1));
}

/** A stream the progress line is drawn on: standard error, when it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly columns?: number;
}

/**
 * Redraws a progress line on a terminal a few times a second, in place (`\r`, then erase to the end of
 * the line). Other output on the same terminal goes through {@link ProgressBar.interrupt}, so the line
 * never ends up in the middle of a message.
 */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ProgressStream,
    /** The line to draw, at most the width given. */
    private readonly line: (width: number) => string,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.render();
    this.timer = setInterval(() => this.render(), this.intervalMs);
    // Drawing progress must never keep the process alive.
    this.timer.unref();
  }

  render(): void {
    // A terminal that reports no width (0) gets the classic 80 columns.
    this.stream.write(`\r${this.line(this.stream.columns || 80)}\u001b[K`);
  }

  /** Clears the line, lets `write` print, then draws the line again. */
  interrupt(write: () => void): void {
    this.stream.write('\r\u001b[K');
    write();
    if (this.timer) this.render();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\u001b[K');
  }
}
