/**
 * Memory flatness: the peak RSS (`VmHWM`) of the process doing the work when it scans 256 MiB and when
 * it scans 2 GiB, through local reads and through the S3 upload path of the local server.
 */
import { performance } from 'node:perf_hooks';
import { randomFile, referenceDigests, warmPageCache, type ReferenceDigests } from '../support/data.js';
import { fetchJson, pollUntil, startServerProcess } from '../support/local-server.js';
import { run, tsNodeArgs } from '../support/process.js';
import { formatNumber, type Row } from '../support/report.js';
import { describeSize, GIB, MB, MIB, mibPerSecond } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

const SIZES = [256 * MIB, 2 * GIB] as const;
const FLATNESS_MB = 20;
/** Issue 3's ceiling for the server while it takes and scans a 2 GiB upload. */
const SERVER_CEILING_MB = 250;

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
 * The S3 path: a fresh local server, an upload created with `POST /v1/uploads`, the file sent to the
 * presigned URL with `curl -T`, the status polled until the scan is over, the digests checked against
 * openssl, the object checked gone, then the server's peak RSS read before it stops.
 */
async function s3Peak(
  context: BenchContext,
  file: string,
  size: number,
  expected: ReferenceDigests,
): Promise<{ startupPeak: number; peak: number; putMibPerSecond: number; scanMibPerSecond: number }> {
  const server = await startServerProcess(context.projectRoot);
  try {
    const startupPeak = server.peakRss();
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
      startupPeak,
      peak: server.peakRss(),
      putMibPerSecond: mibPerSecond(size, putDone - started),
      // From the end of the PUT to the status saying done: the event, GetObject, digests and lookups.
      scanMibPerSecond: mibPerSecond(size, scanned - putDone),
    };
  } finally {
    await server.stop();
  }
}

const mb = (bytes: number) => bytes / MB;

export const memoryBenchmark: Benchmark = {
  name: 'memory',
  title: 'peak RSS scanning 256 MiB and 2 GiB: local reads and the S3 upload path',
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
    for (const { size, file, expected } of inputs) {
      context.log(`memory: S3 upload path with ${describeSize(size)}`);
      const measured = await s3Peak(context, file, size, expected);
      const row = {
        label: `S3 path, ${describeSize(size)}`,
        value: mb(measured.peak),
        unit: 'MB',
        detail: `VmHWM of the local server (${formatNumber(mb(measured.startupPeak), 0)} MB after start-up); PUT ${formatNumber(measured.putMibPerSecond, 0)} MiB/s, then scan ${formatNumber(measured.scanMibPerSecond, 0)} MiB/s`,
      };
      s3.push(s3.length === 0 ? result.row(row) : result.compared(row, s3[0]!));
    }

    for (const [name, rows] of [
      ['local reads', inline],
      ['S3 path', s3],
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
    result.note(
      `Server peak RSS for the 2 GiB upload through the presigned PUT flow: ${formatNumber(serverPeak)} MB (the server receiving the PUT on its own upload URL and scanning it, in that one process).`,
    );
    result.note('MB here is 10^6 bytes (the stricter reading of the targets); each size runs in a fresh process, so each peak is that scan\'s own.');
    result.note('Digests of every scan are checked against openssl dgst of the same file, and the scanned object is checked gone from the bucket.');
  },
};
