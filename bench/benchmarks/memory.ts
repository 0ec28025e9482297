/**
 * Memory: the peak RSS (`VmHWM`) of the process doing the work when it scans 256 MiB and when it scans
 * 2 GiB, through local reads and through the upload path of the local server (its own signed PUT URL),
 * the server holding a list of 1,000,000 records; the server idle on that list; and the whole `npm start`
 * process tree (npm and the server's node).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomFile, referenceDigests, warmPageCache, type ReferenceDigests } from '../support/data.js';
import { ensureServerBuilt, fetchJson, pollUntil, startServerProcess } from '../support/local-server.js';
import { copyOfMillionData } from '../support/million-list.js';
import { currentRssBytes, peakRssBytes, run, startChild, stopChild, tsNodeArgs } from '../support/process.js';
import { formatNumber, type Row } from '../support/report.js';
import { describeSize, GIB, MB, MIB, mibPerSecond } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

const SIZES = [256 * MIB, 2 * GIB] as const;
const FLATNESS_MB = 20;
/** Issue 3's ceiling for the server while it takes and scans a 2 GiB upload. */
const SERVER_CEILING_MB = 250;
/** Issue 14's ceilings: the server idle with a 1,000,000-record list, taking a 2 GiB upload, and npm start's tree. */
const IDLE_CEILING_MB = 100;
const UPLOAD_CEILING_MB = 150;
const TREE_CEILING_MB = 220;
/** The server counts as settled once its RSS moved less than this over {@link SETTLE_SAMPLES} samples 0.5 s apart. */
const SETTLE_BYTES = 1 * MB;
const SETTLE_SAMPLES = 6;

interface Upload {
  readonly uploadId: string;
  readonly put: { readonly url: string; readonly headers: Readonly<Record<string, string>> };
}

interface UploadStatus {
  readonly status: 'pending' | 'done' | 'failed';
  readonly file: { size: number; md5: string; sha1: string; sha256: string } | null;
  readonly error?: unknown;
}

function checkDigests(what: string, actual: { size?: number; bytes?: number; md5?: string; sha1?: string; sha256?: string }, size: number, expected: ReferenceDigests): void {
  const got = { size: actual.size ?? actual.bytes, md5: actual.md5, sha1: actual.sha1, sha256: actual.sha256 };
  if (got.size !== size || got.md5 !== expected.md5 || got.sha1 !== expected.sha1 || got.sha256 !== expected.sha256) {
    throw new Error(`${what} gave wrong digests: ${JSON.stringify(got)}, openssl says ${JSON.stringify({ size, ...expected })}`);
  }
}

/** Local reads: `digestStream` over `readFileChunks` in a process of its own. */
async function inlinePeak(context: BenchContext, file: string, size: number, expected: ReferenceDigests): Promise<number> {
  const { stdout } = await run(process.execPath, tsNodeArgs('bench/probes/digest-file.ts', ['three', file]), { cwd: context.projectRoot });
  const output = JSON.parse(stdout.trim().split('\n').pop()!) as { bytes: number; md5: string; sha1: string; sha256: string; peakRssBytes: number };
  checkDigests(`digestStream over ${describeSize(size)}`, output, size, expected);
  return output.peakRssBytes;
}

/**
 * The upload path: a local server on a copy of the 1,000,000-record list, its memory read once settled
 * (idle), an upload created with `POST /v1/uploads`, the file sent to the server's own signed PUT URL with
 * `curl -T`, the status polled until the scan is over, the digests checked against openssl, the uploaded
 * file checked gone, then the server's peak RSS read before it stops.
 */
async function s3Peak(
  context: BenchContext,
  file: string,
  size: number,
  expected: ReferenceDigests,
): Promise<{ idle: Idle; peak: number; putMibPerSecond: number; doneMs: number }> {
  const data = await copyOfMillionData(context);
  const server = await startServerProcess(context.projectRoot, {}, { dataDir: data.path });
  try {
    const idle = await settle(() => server.currentRss(), () => server.peakRss());
    const upload = await fetchJson<Upload>(`${server.url}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: `bench-${describeSize(size).replace(' ', '')}.bin`, size }),
    });
    const started = performance.now();
    const headers = Object.entries(upload.put.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const put = await run('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, ...headers, upload.put.url]);
    if (!put.stdout.startsWith('2')) throw new Error(`The presigned PUT answered ${put.stdout}`);
    const putDone = performance.now();
    const status = await pollUntil(
      async () => {
        const answer = await fetchJson<UploadStatus>(`${server.url}/v1/uploads/${upload.uploadId}`);
        return answer.status === 'pending' ? undefined : answer;
      },
      10 * 60_000,
      `the scan of the ${describeSize(size)} upload`,
    );
    const scanned = performance.now();
    if (status.status !== 'done' || !status.file) throw new Error(`The ${describeSize(size)} upload ended ${JSON.stringify(status)}`);
    checkDigests(`The S3 path for ${describeSize(size)}`, status.file, size, expected);
    await pollUntil(() => (server.storedObjects().length === 0 ? true : undefined), 30_000, 'the scanned object to be deleted');
    return {
      idle,
      peak: server.peakRss(),
      putMibPerSecond: mibPerSecond(size, putDone - started),
      // From the end of the PUT to the status saying done (the body is digested while it is written).
      doneMs: scanned - putDone,
    };
  } finally {
    await server.stop();
    await data.dispose();
  }
}

/** A process's memory once it settled after its start: resident now, and its peak so far. */
interface Idle {
  readonly rss: number;
  readonly peak: number;
  readonly seconds: number;
}

/** Samples the RSS every 0.5 s until it moved less than 1 MB over 3 s (at most 60 s), then reads it. */
async function settle(rss: () => number, peak: () => number): Promise<Idle> {
  const started = performance.now();
  const samples: number[] = [];
  while (performance.now() - started < 60_000) {
    samples.push(rss());
    const recent = samples.slice(-SETTLE_SAMPLES);
    if (recent.length === SETTLE_SAMPLES && Math.max(...recent) - Math.min(...recent) < SETTLE_BYTES) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { rss: rss(), peak: peak(), seconds: (performance.now() - started) / 1000 };
}

/** The pids of `root` and every process below it, from the parent pids in /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name, in brackets, may hold spaces: the parent pid is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while the list was read.
    }
  }
  const tree: number[] = [];
  const visit = (pid: number) => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return tree;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 2).join(' ');
  } catch {
    return '?';
  }
}

/**
 * `npm start` itself (npm, and the `node` it runs) on a copy of the 1,000,000-record list, settled after its
 * start: the RSS and the peak of each process of the tree, summed.
 */
async function npmStartTree(context: BenchContext): Promise<{ rss: number; peak: number; processes: string[] }> {
  await ensureServerBuilt(context.projectRoot);
  const data = await copyOfMillionData(context);
  try {
    const { child } = await startChild('npm', ['start'], /hashcheck is listening on (http:\/\/\S+)/, {
      cwd: context.projectRoot,
      env: { ...process.env, PORT: '0', HASHCHECK_DATA_DIR: data.path, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      timeoutMs: 180_000,
    });
    try {
      const tree = () => processTree(child.pid!);
      const sum = (read: (pid: number) => number) =>
        tree().reduce((total, pid) => {
          try {
            return total + read(pid);
          } catch {
            return total;
          }
        }, 0);
      await settle(() => sum(currentRssBytes), () => sum(peakRssBytes));
      const pids = tree();
      return {
        rss: sum(currentRssBytes),
        peak: sum(peakRssBytes),
        processes: pids.map((pid) => `${commandOf(pid)} (${formatNumber(peakRssBytes(pid) / MB, 0)} MB peak)`),
      };
    } finally {
      // The server first, so npm sees its script end; then npm, if it has not ended with it.
      for (const pid of processTree(child.pid!).slice(1).reverse()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      await stopChild(child);
    }
  } finally {
    await data.dispose();
  }
}

const mb = (bytes: number) => bytes / MB;

export const memoryBenchmark: Benchmark = {
  name: 'memory',
  title: 'peak RSS: scanning 256 MiB and 2 GiB (local reads, the server\'s upload path), the server idle with 1,000,000 records, the npm start tree',
  async run(context, result) {
    const inputs: { size: number; file: string; expected: ReferenceDigests }[] = [];
    for (const size of SIZES) {
      const file = await randomFile(size, context.log);
      inputs.push({ size, file, expected: await referenceDigests(file) });
    }
    await warmPageCache(inputs.map((i) => i.file));

    const inline: Row[] = [];
    for (const { size, file, expected } of inputs) {
      context.log(`memory: local reads of ${describeSize(size)}`);
      const peak = await inlinePeak(context, file, size, expected);
      const row = { label: `local reads, ${describeSize(size)}`, value: mb(peak), unit: 'MB', detail: 'VmHWM of the digesting process' };
      inline.push(inline.length === 0 ? result.row(row) : result.compared(row, inline[0]!));
    }

    const s3: Row[] = [];
    const idles: Idle[] = [];
    for (const { size, file, expected } of inputs) {
      context.log(`memory: upload path with ${describeSize(size)}, the server holding 1,000,000 records`);
      const measured = await s3Peak(context, file, size, expected);
      idles.push(measured.idle);
      const row = {
        label: `upload path, ${describeSize(size)}`,
        value: mb(measured.peak),
        unit: 'MB',
        detail: `VmHWM of the local server holding 1,000,000 records (${formatNumber(mb(measured.idle.peak), 0)} MB before the upload); PUT (digested as it is written) ${formatNumber(measured.putMibPerSecond, 0)} MiB/s, then done in ${formatNumber(measured.doneMs, 0)} ms`,
      };
      s3.push(s3.length === 0 ? result.row(row) : result.compared(row, s3[0]!));
    }
    const idle = idles.reduce((a, b) => (b.peak > a.peak ? b : a));
    result.row({
      label: 'server idle, 1,000,000 records',
      value: mb(idle.peak),
      unit: 'MB',
      detail: `VmHWM after start-up, settled (${formatNumber(idle.seconds)} s); VmRSS ${formatNumber(mb(idle.rss), 0)} MB; the larger of ${idles.length} starts`,
    });

    context.log('memory: npm start (npm and the server) on the 1,000,000-record list, idle');
    const tree = await npmStartTree(context);
    result.row({
      label: 'npm start tree, idle, 1,000,000 records',
      value: mb(tree.peak),
      unit: 'MB',
      detail: `VmHWM summed over ${tree.processes.length} processes: ${tree.processes.join('; ')}; VmRSS ${formatNumber(mb(tree.rss), 0)} MB`,
    });

    for (const [name, rows] of [
      ['local reads', inline],
      ['upload path', s3],
    ] as const) {
      const growth = rows[1]!.value - rows[0]!.value;
      result.target(`${name}: RSS at 2 GiB within ${FLATNESS_MB} MB of RSS at 256 MiB`, `${growth >= 0 ? '+' : ''}${formatNumber(growth)} MB`, growth <= FLATNESS_MB);
    }
    const serverPeak = s3[1]!.value;
    result.target(
      `local server peak RSS for a 2 GiB upload < ${SERVER_CEILING_MB} MB (issue 3)`,
      `${formatNumber(serverPeak)} MB`,
      serverPeak < SERVER_CEILING_MB,
    );
    result.target(`server peak RSS idle with 1,000,000 records < ${IDLE_CEILING_MB} MB`, `${formatNumber(mb(idle.peak))} MB`, mb(idle.peak) < IDLE_CEILING_MB);
    result.target(`server peak RSS taking a 2 GiB upload < ${UPLOAD_CEILING_MB} MB`, `${formatNumber(serverPeak)} MB`, serverPeak < UPLOAD_CEILING_MB);
    result.target(`npm start tree (npm + node) < ${TREE_CEILING_MB} MB`, `${formatNumber(mb(tree.peak))} MB`, mb(tree.peak) < TREE_CEILING_MB);
    result.note(
      `Server peak RSS for the 2 GiB upload: ${formatNumber(serverPeak)} MB (the server, holding 1,000,000 records, receiving the PUT on its own signed upload URL with curl -T and scanning it, in that one process).`,
    );
    result.note('The server is started as npm start runs it (node bin/start.mjs, the built dist/local-server.mjs), each time on a copy of a data folder holding the seed list and 1,000,000 imported records; idle figures are read once its RSS moved less than 1 MB over 3 s.');
    result.note('MB here is 10^6 bytes (the stricter reading of the targets); each size runs in a fresh process, so each peak is that scan\'s own.');
    result.note('Digests of every scan are checked against openssl dgst of the same file, and the uploaded file is checked gone from the server\'s data folder after its scan.');
  },
};
