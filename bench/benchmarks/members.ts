/**
 * Looking inside archives: `hashcheck scan ARCHIVE --json` (the CLI opens the archive on this machine,
 * digests every member and sends only digests) of a 1 GiB ZIP of 10,000 files and of a 500 MB disk image
 * shaped like a macOS DMG, against Debian's 7-Zip on the same archive in the same rounds: `7zz t` (test
 * the archive: decompress and check, nothing written) and `7zz x` followed by `hashdeep -c md5,sha1,sha256
 * -r` on the extracted tree (what a responder would do by hand). Wall time, and the peak RSS of the scan's
 * process. Every scan is checked: complete, every member counted, and the members imported as known-bad
 * before the rounds answered with hashdeep's digests at hashdeep's paths.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, join, relative } from 'node:path';
import { findCli, parseJsonLines } from '../support/cli.js';
import { scratchDir, warmPageCache } from '../support/data.js';
import { startServerProcess, LOOKUP_BENCH_ENV } from '../support/local-server.js';
import { memberDmg, memberZip, type MemberArchive } from '../support/member-archives.js';
import { runMeasuringPeakRss, type MeasuredResult } from '../support/peak-rss.js';
import { run } from '../support/process.js';
import { formatNumber, formatRatio, type ResultBuilder } from '../support/report.js';
import { describeSize, GIB, MB, mibPerSecond, min } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

const ROUNDS = 3;
/** Look-inside of the ZIP at least half as fast as `7zz x` + hashdeep. */
const TARGET_RATIO = 0.5;
const PEAK_RSS_TARGET_BYTES = 300 * MB;
/** Members imported as known-bad before the rounds, spread through the archive, the largest among them. */
const SAMPLE_MEMBERS = 24;
/** The admin key the local server is started with, for the import of the sample. */
const ADMIN_KEY = 'bench-members-admin-key';
/**
 * The look-inside limits of the scans: the defaults (400 MiB extracted, 100 MiB a member, 120 s) would stop
 * at a fraction of these archives; the member limit stays at its default of 10,000, which the ZIP reaches.
 */
const SCAN_LIMITS: Readonly<Record<string, string>> = {
  HASHCHECK_INSIDE_MAX_BYTES: String(4 * GIB),
  HASHCHECK_INSIDE_MAX_MEMBER_BYTES: String(GIB),
  HASHCHECK_INSIDE_TIME_MS: String(3_600_000),
};

function onPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** One member as hashdeep saw it. */
interface MemberDigests {
  readonly size: number;
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
}

/** Digests by path relative to the extraction folder, from hashdeep's `size,md5,sha1,sha256,filename` lines. */
function parseHashdeep(stdout: string, root: string): Map<string, MemberDigests> {
  const members = new Map<string, MemberDigests>();
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('%') || line.startsWith('#')) continue;
    const [size, md5, sha1, sha256, ...name] = line.split(',');
    if (size && md5 && sha1 && sha256 && name.length > 0) members.set(relative(root, name.join(',')), { size: Number(size), md5, sha1, sha256 });
  }
  return members;
}

interface Case {
  readonly name: string;
  readonly archive: MemberArchive;
  /** The ratio target on the scan against `7zz x` + hashdeep, when there is one. */
  readonly ratioTarget?: number;
}

export const membersBenchmark: Benchmark = {
  name: 'members',
  title: 'hashcheck scan looking inside a 1 GiB ZIP of 10,000 files and a 500 MB disk image, against 7zz t and 7zz x + hashdeep',
  async run(context, result) {
    const cli = findCli(context.projectRoot);
    const sevenZip = onPath('7zz');
    const hashdeep = onPath('hashdeep');
    const missing = [!cli && 'the hashcheck CLI (package.json "bin")', !sevenZip && "Debian's 7-Zip (`sudo apt-get install -y 7zip`)", !hashdeep && 'hashdeep (`sudo apt-get install -y hashdeep`)'].filter(
      (m): m is string => typeof m === 'string',
    );
    for (const tool of ['zip', 'mkfs.fat', 'mcopy']) if (!onPath(tool)) missing.push(`${tool} to build the inputs (\`sudo apt-get install -y zip dosfstools mtools\`)`);
    if (missing.length > 0) {
      result.skip(`Needs ${missing.join(', ')}.`);
      result.target(`look-inside of the 1 GiB ZIP ≥ ${TARGET_RATIO} × 7zz x + hashdeep`, 'not run', undefined);
      result.target('peak RSS of hashcheck scan < 300 MB, ZIP and disk image', 'not run', undefined);
      return;
    }
    result.note(`The CLI measured: ${cli}${process.env['HASHCHECK_BENCH_CLI'] ? ' (HASHCHECK_BENCH_CLI)' : ''}.`);
    const cases: Case[] = [
      { name: 'ZIP', archive: await memberZip(context.log), ratioTarget: TARGET_RATIO },
      { name: 'disk image', archive: await memberDmg(context.log) },
    ];
    // The first run of a changed checkout builds the CLI's bundle: not a cost of scanning.
    await run(cli!, ['--version'], { cwd: context.projectRoot });
    const server = await startServerProcess(context.projectRoot, { ...LOOKUP_BENCH_ENV, HASHCHECK_ADMIN_KEY: ADMIN_KEY });
    const scratch = await scratchDir('members');
    const peaks: { name: string; bytes: number }[] = [];
    try {
      for (const item of cases) {
        const env = { ...process.env, ...SCAN_LIMITS, HASHCHECK_URL: server.url, HASHCHECK_ADMIN_KEY: ADMIN_KEY };
        peaks.push({ name: item.name, bytes: await measureArchive(context, result, { cli: cli!, sevenZip: sevenZip!, hashdeep: hashdeep!, env, scratch: scratch.path }, item) });
      }
    } finally {
      await scratch.dispose();
      await server.stop();
    }
    const worst = peaks.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    result.target(
      'peak RSS of the scanning process < 300 MB, ZIP and disk image',
      peaks.map((p) => `${p.name} ${formatNumber(p.bytes / MB, 0)} MB`).join(', '),
      worst.bytes < PEAK_RSS_TARGET_BYTES,
    );
    result.note(
      `The scans run with ${Object.entries(SCAN_LIMITS)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}: the default limits (400 MiB extracted, 100 MiB a member, 120 s) would stop before the end of either archive; the member limit is the default 10,000.`,
    );
    result.note(
      'Throughput is the members’ unpacked bytes over the wall time, spawn to exit, best of the rounds; hashcheck scan includes copying the archive to its scratch folder, extracting it with 7-Zip compiled to WebAssembly, the three digests of every member, and the bulk lookup of all of them on the local server (HASHCHECK_LOOKUP_DEADLINE_MS=120000). Peak RSS is the largest of the rounds.',
    );
  },
};

/** One archive: a checked extraction, the sample imported, then rounds of 7zz t, 7zz x + hashdeep and hashcheck scan. */
async function measureArchive(
  context: BenchContext,
  result: ResultBuilder,
  setup: { cli: string; sevenZip: string; hashdeep: string; env: NodeJS.ProcessEnv; scratch: string },
  item: Case,
): Promise<number> {
  const { archive } = item;
  const bytes = archive.spec.totalBytes;
  context.log(`members (${item.name}): warming the page cache`);
  await warmPageCache([archive.path]);
  const extracted = join(setup.scratch, 'extracted');
  const reference = async () => {
    const x = await run(setup.sevenZip, ['x', '-bd', '-y', `-o${extracted}`, archive.path], { stdout: 'ignore' });
    const deep = await run(setup.hashdeep, ['-c', 'md5,sha1,sha256', '-r', extracted]);
    const members = parseHashdeep(deep.stdout, extracted);
    await rm(extracted, { recursive: true, force: true });
    return { ms: x.ms + deep.ms, members };
  };

  // The members as 7-Zip and hashdeep see them, and a sample of them made known-bad.
  context.log(`members (${item.name}): extracting with 7zz and hashing with hashdeep`);
  const { members: expected } = await reference();
  if (expected.size !== archive.spec.files) throw new Error(`7zz x + hashdeep found ${expected.size} of the ${archive.spec.files} members of ${archive.path}`);
  const sample = pickSample(expected);
  const list = join(setup.scratch, `${item.name.replace(/\W/g, '-')}-known-bad.txt`);
  writeFileSync(list, [...sample].map((path) => `${expected.get(path)!.sha256}  ${path}\n`).join(''));
  await run(setup.cli, ['import', '--format', 'plain', '--campaign', 'members benchmark', '--source', `sample of ${archive.path}`, list], {
    cwd: context.projectRoot,
    env: setup.env,
  });

  const times = { test: [] as number[], reference: [] as number[], scan: [] as number[] };
  const peaks: number[] = [];
  let method: MeasuredResult['peakRssMethod'] = 'exit';
  for (let round = 1; round <= ROUNDS; round++) {
    context.log(`members (${item.name}): round ${round} of ${ROUNDS}`);
    times.test.push((await run(setup.sevenZip, ['t', '-bd', archive.path], { stdout: 'ignore' })).ms);
    times.reference.push((await reference()).ms);
    // 1: known-bad members were found, as imported; 2 (incomplete) or anything else is a broken scan.
    const scan = await runMeasuringPeakRss(setup.cli, ['scan', '--json', archive.path], { cwd: context.projectRoot, env: setup.env, okCodes: [1] });
    times.scan.push(scan.ms);
    peaks.push(scan.peakRssBytes);
    method = scan.peakRssMethod;
    checkScan(scan.stdout, archive, expected, sample);
  }

  const rate = (ms: number[]) => mibPerSecond(bytes, min(ms));
  const detail = (ms: number[]) => `best of ${ROUNDS}: ${formatNumber(min(ms) / 1000)} s (${ms.map((t) => formatNumber(t / 1000)).join(', ')} s)`;
  const what = `${item.name} (${archive.spec.files.toLocaleString('en-US')} members, ${describeSize(bytes)} unpacked)`;
  const test = result.row({ label: `${what}: 7zz t`, value: rate(times.test), unit: 'MiB/s', detail: detail(times.test) });
  const ref = result.row({ label: `${what}: 7zz x + hashdeep -c md5,sha1,sha256 -r`, value: rate(times.reference), unit: 'MiB/s', detail: detail(times.reference) });
  const scanRow = result.compared({ label: `${what}: hashcheck scan --json`, value: rate(times.scan), unit: 'MiB/s', detail: detail(times.scan) }, ref);
  result.compared({ label: `${what}: hashcheck scan --json, against 7zz t`, value: scanRow.value, unit: 'MiB/s', detail: 'the same runs, against 7-Zip decompressing and checking alone, nothing written' }, test);
  const peak = Math.max(...peaks);
  result.row({
    label: `${what}: hashcheck scan peak RSS`,
    value: peak / MB,
    unit: 'MB',
    detail: `largest of ${ROUNDS} (${peaks.map((p) => formatNumber(p / MB, 0)).join(', ')} MB), ${method === 'exit' ? 'read at exit by GNU time' : 'VmHWM sampled every 20 ms'}`,
  });
  if (item.ratioTarget !== undefined) {
    result.target(`look-inside of the 1 GiB ZIP ≥ ${item.ratioTarget} × 7zz x + hashdeep`, formatRatio(scanRow.ratio!), scanRow.ratio! >= item.ratioTarget);
  }
  result.note(
    `${item.name}: every scan answered complete with ${archive.spec.files.toLocaleString('en-US')} members, and named the ${sample.size} members imported as known-bad at hashdeep's paths with hashdeep's size, MD5, SHA-1 and SHA-256.`,
  );
  return peak;
}

/** Every n-th member in path order, and the largest: the members made known-bad. */
function pickSample(members: ReadonlyMap<string, MemberDigests>): Set<string> {
  const paths = [...members.keys()].sort();
  const step = Math.max(1, Math.floor(paths.length / (SAMPLE_MEMBERS - 1)));
  const sample = new Set(paths.filter((_, i) => i % step === 0).slice(0, SAMPLE_MEMBERS - 1));
  const largest = paths.reduce((a, b) => (members.get(b)!.size > members.get(a)!.size ? b : a));
  sample.add(largest);
  return sample;
}

/** The scan's answer must be complete, count every member, and name exactly the sample with hashdeep's digests. */
function checkScan(stdout: string, archive: MemberArchive, expected: ReadonlyMap<string, MemberDigests>, sample: ReadonlySet<string>): void {
  const rows = parseJsonLines(stdout);
  const where = `hashcheck scan --json ${archive.path}`;
  if (rows.length !== 1) throw new Error(`${where} printed ${rows.length} results, expected 1`);
  const row = rows[0]!;
  const inside = row['inside'] as
    | { members?: number; containers?: number; complete?: boolean; reasons?: unknown[]; matches?: { path: string[]; size: number; md5: string; sha1: string; sha256: string }[] }
    | undefined;
  if (row['verdict'] !== 'malicious') throw new Error(`${where} answered ${String(row['verdict'])}, expected malicious through the imported members`);
  if (!inside) throw new Error(`${where} did not look inside`);
  if (inside.complete !== true) throw new Error(`${where} answered complete: ${String(inside.complete)}, reasons ${JSON.stringify(inside.reasons)}`);
  if (inside.members !== archive.spec.files) throw new Error(`${where} checked ${inside.members} members of ${archive.spec.files}`);
  const matches = inside.matches ?? [];
  const named = new Set(matches.map((m) => m.path.join('/')));
  const absent = [...sample].filter((path) => !named.has(path));
  const extra = [...named].filter((path) => !sample.has(path));
  if (absent.length > 0 || extra.length > 0) {
    throw new Error(`${where} named ${matches.length} known-bad members; missing ${absent.slice(0, 3).join(', ') || 'none'}, unexpected ${extra.slice(0, 3).join(', ') || 'none'}`);
  }
  for (const match of matches) {
    const path = match.path.join('/');
    const theirs = expected.get(path)!;
    if (match.size !== theirs.size || match.md5 !== theirs.md5 || match.sha1 !== theirs.sha1 || match.sha256 !== theirs.sha256) {
      throw new Error(`${where} and hashdeep disagree on ${path}: ${JSON.stringify(match)} against ${JSON.stringify(theirs)}`);
    }
  }
}
