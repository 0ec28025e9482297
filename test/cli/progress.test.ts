import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatLookupProgress, formatProgress, type ProgressSnapshot } from '../../cli/progress.js';
import { Reporter, type CliEnvironment } from '../../cli/terminal.js';

const GiB = 1024 ** 3;

const halfway: ProgressSnapshot = {
  phase: 'checking',
  files: 1_234,
  totalFiles: 5_000,
  bytes: 2 * GiB,
  totalBytes: 4 * GiB,
  elapsedMs: 8_000,
  malicious: 1,
};

describe('formatProgress', () => {
  it('shows the share done, files, bytes, rate, time left and known-bad count', () => {
    expect(formatProgress(halfway, 200)).toBe(
      '[###############---------------]  50%  1,234/5,000 files  2.0 GiB/4.0 GiB  256 MiB/s  ETA 0:08  1 known-bad',
    );
  });

  it('fits the terminal width, leaving the last column free', () => {
    for (const width of [40, 60, 80]) expect(formatProgress(halfway, width).length).toBeLessThan(width);
  });

  it('says nothing of the time left before the rate can be told, and counts files while listing them', () => {
    expect(formatProgress({ ...halfway, elapsedMs: 100 }, 200)).toContain('ETA --:--');
    expect(formatProgress({ ...halfway, phase: 'finding' }, 200)).toBe('finding files: 1,234 files, 2.0 GiB');
  });

  it('counts one file as one file, and the links left alone while listing', () => {
    expect(formatProgress({ ...halfway, phase: 'finding', files: 1, bytes: 68, linksNotFollowed: 1 }, 200)).toBe(
      'finding files: 1 file, 68 B, 1 link not followed',
    );
    expect(formatProgress({ ...halfway, files: 1, totalFiles: 1 }, 200)).toContain(' 1/1 file ');
  });
});

describe('formatBytes and formatDuration', () => {
  it('use binary units and h:mm:ss', () => {
    expect([0, 68, 1536, 5 * 1024 ** 2, 1.5 * GiB].map(formatBytes)).toEqual(['0 B', '68 B', '1.5 KiB', '5.0 MiB', '1.5 GiB']);
    expect([7, 750, 3723].map(formatDuration)).toEqual(['0:07', '12:30', '1:02:03']);
  });
});

function environment(stderrIsTty: boolean): { environment: CliEnvironment; stderr: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY: stderrIsTty, columns: 100 });
  const written: string[] = [];
  stderr.on('data', (chunk: Buffer) => written.push(chunk.toString()));
  return {
    environment: { stdin: Readable.from([]), stdout: new PassThrough(), stderr, env: {} },
    stderr: () => written.join(''),
  };
}

describe('Reporter', () => {
  it('draws the progress line on a terminal and keeps warnings off it', async () => {
    const { environment: env, stderr } = environment(true);
    const reporter = new Reporter(env, { quiet: false, progress: true });

    reporter.startProgress(() => halfway);
    reporter.warn('a/b: cannot read: permission denied (EACCES)');
    reporter.stopProgress();
    await new Promise((resolve) => setImmediate(resolve));

    const line = formatProgress(halfway, 100);
    expect(stderr()).toBe(
      `\r${line}\u001b[K` + '\r\u001b[K' + 'hashcheck: a/b: cannot read: permission denied (EACCES)\n' + `\r${line}\u001b[K` + '\r\u001b[K',
    );
  });

  it('draws nothing when standard error is a pipe or a file, or with --quiet', async () => {
    const piped = environment(false);
    new Reporter(piped.environment, { quiet: false, progress: true }).startProgress(() => halfway);
    const quiet = environment(true);
    const reporter = new Reporter(quiet.environment, { quiet: true, progress: true });
    reporter.startProgress(() => halfway);
    reporter.note('checked 3 files');
    reporter.status('retrying in 1 s');
    reporter.stopProgress();
    await new Promise((resolve) => setImmediate(resolve));

    expect(piped.stderr()).toBe('');
    expect(quiet.stderr()).toBe('');
  });
});

describe('formatLookupProgress', () => {
  it('shows the share of the input answered, its lines, the rate in hashes and the time left', () => {
    const line = formatLookupProgress({ lines: 250_000, totalLines: 1_000_000, hashes: 240_000, malicious: 3, elapsedMs: 2_000 }, 200);
    expect(line).toBe('[########----------------------]  25%  250,000/1,000,000 lines  120,000 hashes/s  ETA 0:06  3 known-bad');
  });

  it('fits the terminal width and says nothing of the time left at the start', () => {
    const start = { lines: 0, totalLines: 10, hashes: 0, malicious: 0, elapsedMs: 0 };
    expect(formatLookupProgress(start, 200)).toContain('ETA --:--');
    for (const width of [40, 60, 80]) expect(formatLookupProgress({ ...start, lines: 5, elapsedMs: 900 }, width).length).toBeLessThan(width);
  });
});
