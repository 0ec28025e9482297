/**
 * Tree scan: `hashcheck scan` of two generated trees against Debian's `hashdeep -c md5,sha1,sha256 -r` on
 * the same tree, page cache hot for both: 20,000 small files (256 B–32 KiB), where the cost is per file,
 * and 20,000 files of mixed sizes holding 2 GiB, where it is per byte.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { findCli, parseJsonLines } from '../support/cli.js';
import { cacheDir, fileTree, listFiles, treeBytes, warmPageCache } from '../support/data.js';
import { startServerProcess, LOOKUP_BENCH_ENV } from '../support/local-server.js';
import { run } from '../support/process.js';
import { formatNumber, formatRatio } from '../support/report.js';
import { GIB, mibPerSecond, min } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';
import type { ResultBuilder } from '../support/report.js';

const TREE = { files: 20_000, totalBytes: 2 * GIB };
const SMALL_TREE = { files: 20_000, minBytes: 256, maxBytes: 32 * 1024 };
const ROUNDS = 3;
const TARGET_RATIO = 1.5;
/** Small files: hashcheck scan, lookups included, within 1.5 × the time hashdeep takes to hash alone. */
const SMALL_TARGET_RATIO = 1 / 1.5;
const INSTALL_HINT = 'install it with `sudo apt-get install -y hashdeep` (Debian/Ubuntu) and run `npm run bench -- tree` again';

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

/** hashdeep from the distribution: found on the PATH, or installed with apt-get when running as root. */
async function ensureHashdeep(context: BenchContext): Promise<{ path?: string; why?: string }> {
  const found = onPath('hashdeep');
  if (found) return { path: found };
  if (process.getuid?.() !== 0 || !onPath('apt-get')) return { why: `hashdeep is not installed and this run cannot install it (needs root and apt-get); ${INSTALL_HINT}` };
  context.log('tree: installing hashdeep with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-q', 'hashdeep'], { env, stdout: 'ignore' });
  try {
    await install();
  } catch {
    try {
      await run('apt-get', ['update', '-q'], { env, stdout: 'ignore' });
      await install();
    } catch (error) {
      return { why: `apt-get could not install hashdeep (${(error as Error).message.split('\n')[0]}); ${INSTALL_HINT}` };
    }
  }
  const path = onPath('hashdeep');
  return path ? { path } : { why: `hashdeep is still missing after apt-get install; ${INSTALL_HINT}` };
}

/** sha256 by path relative to the tree, from hashdeep's `size,md5,sha1,sha256,filename` lines. */
function parseHashdeep(stdout: string, root: string): Map<string, string> {
  const digests = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('%') || line.startsWith('#')) continue;
    const fields = line.split(',');
    const sha256 = fields[3];
    const path = fields.slice(4).join(',');
    if (sha256 && path) digests.set(relative(root, path), sha256);
  }
  return digests;
}

/** sha256 by path relative to the tree, from the CLI's JSON lines, when they carry a path and a sha256. */
function parseScanLines(stdout: string, root: string): Map<string, string> {
  const digests = new Map<string, string>();
  for (const object of parseJsonLines(stdout)) {
    const path = [object['path'], object['file'], object['fileName']].find((v): v is string => typeof v === 'string');
    const nested = object['digests'] as Record<string, unknown> | undefined;
    const sha256 = [object['sha256'], nested?.['sha256']].find((v): v is string => typeof v === 'string');
    if (path && sha256) digests.set(path.startsWith('/') ? relative(root, path) : relative(root, join(process.cwd(), path)), sha256);
  }
  return digests;
}

/**
 * 20,000 files of 256 B–32 KiB (log-uniform, the same sizes on every machine), 100 folders of 20: where a
 * scan's cost is per file, not per byte. Generated once into the cache of inputs.
 */
function smallFileTree(log: (line: string) => void): string {
  const root = join(cacheDir(), `tree-${SMALL_TREE.files}-small`);
  const marker = `${root}.complete.json`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(SMALL_TREE) && existsSync(root)) return root;
  log(`generating a tree of ${SMALL_TREE.files} small files in ${root}`);
  rmSync(root, { recursive: true, force: true });
  let state = 20261202;
  const random = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  const { minBytes, maxBytes } = SMALL_TREE;
  for (let i = 0; i < SMALL_TREE.files; i++) {
    const dir = join(root, `d${String(i % 100).padStart(2, '0')}`, `e${String(Math.floor(i / 100) % 20).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    const size = Math.round(Math.exp(Math.log(minBytes) + random() * (Math.log(maxBytes) - Math.log(minBytes))));
    writeFileSync(join(dir, `f${String(i).padStart(5, '0')}.bin`), randomBytes(size));
  }
  writeFileSync(marker, JSON.stringify(SMALL_TREE));
  return root;
}

/** The trees measured: the target is a ratio of rates (hashcheck's MiB/s over hashdeep's). */
interface TreeCase {
  readonly name: string;
  readonly root: string;
  readonly files: number;
  readonly bytes?: number;
  readonly target: number;
  readonly targetText: string;
}

export const treeBenchmark: Benchmark = {
  name: 'tree',
  title: 'hashcheck scan of 20,000 small files and of a 20,000-file, 2 GiB tree against hashdeep -c md5,sha1,sha256 -r',
  async run(context, result) {
    const cli = findCli(context.projectRoot);
    if (!cli) {
      result.skip(
        'The hashcheck CLI is not installed (node_modules/.bin/hashcheck is missing), so there is no `hashcheck scan` to measure; the benchmark runs once package.json declares "bin" and npm install links it.',
      );
      result.target(`mixed tree scan ≥ ${TARGET_RATIO} × hashdeep`, 'no CLI', undefined);
      return;
    }
    result.note(`The CLI measured: ${cli}${process.env['HASHCHECK_BENCH_CLI'] ? ' (HASHCHECK_BENCH_CLI)' : ''}.`);
    const hashdeep = await ensureHashdeep(context);
    const cases: TreeCase[] = [
      {
        name: 'small files',
        root: smallFileTree(context.log),
        files: SMALL_TREE.files,
        target: SMALL_TARGET_RATIO,
        targetText: `small-file tree scan, lookups included, within ${formatNumber(1 / SMALL_TARGET_RATIO, 1)} × hashdeep's time (≥ ${formatRatio(SMALL_TARGET_RATIO)})`,
      },
      {
        name: 'mixed 2 GiB',
        root: await fileTree(TREE, context.log),
        files: TREE.files,
        bytes: TREE.totalBytes,
        target: TARGET_RATIO,
        targetText: `mixed tree scan ≥ ${TARGET_RATIO} × hashdeep`,
      },
    ];

    // `--all` prints every file, as hashdeep does, so the two outputs can be compared file by file.
    const help = await run(cli, ['scan', '--help'], { cwd: context.projectRoot, okCodes: [0, 1, 2] });
    const scanArgs = ['scan', ...(help.stdout.includes('--all') ? ['--all'] : []), '--json'];
    const server = await startServerProcess(context.projectRoot, LOOKUP_BENCH_ENV);
    try {
      for (const tree of cases) await measureTree(context, result, { cli, hashdeep, scanArgs, serverUrl: server.url }, tree);
      result.note(
        `The trees: ${SMALL_TREE.files.toLocaleString('en-US')} files of 256 B–32 KiB; and ${TREE.files.toLocaleString('en-US')} files, 2 GiB, 75% of them 256 B–32 KiB, 24% 32–256 KiB, 1% large files holding most of the bytes; cached, page cache warmed before the rounds. hashcheck scan also looks every digest (three per file) up on the local server; hashdeep uses its default of one thread per core.`,
      );
    } finally {
      await server.stop();
    }
  },
};

/** One tree: rounds interleaving hashdeep and hashcheck scan, digests compared file by file. */
async function measureTree(
  context: BenchContext,
  result: ResultBuilder,
  setup: { cli: string; hashdeep: { path?: string; why?: string }; scanArgs: readonly string[]; serverUrl: string },
  tree: TreeCase,
): Promise<void> {
  const { cli, hashdeep, scanArgs } = setup;
  const { root } = tree;
  const files = await listFiles(root);
  const bytes = await treeBytes(files);
  if (files.length !== tree.files || (tree.bytes !== undefined && bytes !== tree.bytes)) throw new Error(`The tree in ${root} holds ${files.length} files, ${bytes} bytes`);
  context.log(`tree (${tree.name}): warming the page cache`);
  await warmPageCache(files);
  const times = { ours: [] as number[], hashdeep: [] as number[] };
  let ourDigests = new Map<string, string>();
  let theirDigests = new Map<string, string>();
  let lastScan = '';
  for (let round = 1; round <= ROUNDS; round++) {
    context.log(`tree (${tree.name}): round ${round} of ${ROUNDS}`);
    if (hashdeep.path) {
      const out = await run(hashdeep.path, ['-c', 'md5,sha1,sha256', '-r', root]);
      times.hashdeep.push(out.ms);
      theirDigests = parseHashdeep(out.stdout, root);
    }
    const scan = await run(cli, [...scanArgs, root], {
      cwd: context.projectRoot,
      env: { ...process.env, HASHCHECK_URL: setup.serverUrl },
      okCodes: [0, 1],
    });
    times.ours.push(scan.ms);
    ourDigests = parseScanLines(scan.stdout, root);
    lastScan = scan.stdout;
  }
  // The same digests looked up alone, as `hashcheck lookup -f` sends them: what the service's answers cost.
  const hashes = parseJsonLines(lastScan).flatMap((o) => [o['md5'], o['sha1'], o['sha256']].filter((v): v is string => typeof v === 'string'));
  let lookupMs: number | undefined;
  if (hashes.length > 0) {
    const list = join(tmpdir(), `hashcheck-bench-tree-${process.pid}.txt`);
    writeFileSync(list, `${hashes.join('\n')}\n`);
    try {
      const lookup = await run(cli, ['lookup', '--bad-only', '-f', list], { cwd: context.projectRoot, env: { ...process.env, HASHCHECK_URL: setup.serverUrl }, okCodes: [0, 1] });
      lookupMs = lookup.ms;
    } finally {
      rmSync(list, { force: true });
    }
  }

  const rate = (ms: number[]) => mibPerSecond(bytes, min(ms));
  const detail = (ms: number[]) =>
    `best of ${ROUNDS}: ${formatNumber(min(ms) / 1000)} s, ${formatNumber(tree.files / (min(ms) / 1000), 0)} files/s (${ms.map((t) => formatNumber(t / 1000)).join(', ')} s)`;
  const ours = { label: `${tree.name}: hashcheck ${scanArgs.join(' ')} (CLI)`, value: rate(times.ours), unit: 'MiB/s', detail: detail(times.ours) };
  if (!hashdeep.path) {
    result.row(ours);
    result.skip(hashdeep.why!);
    result.target(tree.targetText, 'no hashdeep', undefined);
    return;
  }
  const reference = result.row({ label: `${tree.name}: hashdeep -c md5,sha1,sha256 -r`, value: rate(times.hashdeep), unit: 'MiB/s', detail: detail(times.hashdeep) });
  const row = result.compared(ours, reference);
  if (lookupMs !== undefined) {
    result.row({
      label: `${tree.name}: the same ${hashes.length.toLocaleString('en-US')} digests looked up alone`,
      value: lookupMs / 1000,
      unit: 's',
      detail: 'hashcheck lookup -f, one run after the rounds: the floor the local server sets under a scan',
    });
  }
  result.target(tree.targetText, formatRatio(row.ratio!), row.ratio! >= tree.target);
  if (theirDigests.size !== tree.files) throw new Error(`hashdeep listed ${theirDigests.size} of ${tree.files} files`);
  if (ourDigests.size > 0) {
    if (ourDigests.size !== tree.files) throw new Error(`hashcheck scan listed ${ourDigests.size} of ${tree.files} files`);
    const wrong = [...ourDigests].filter(([path, sha256]) => theirDigests.get(path) !== sha256);
    if (wrong.length > 0) throw new Error(`hashcheck scan and hashdeep disagree on ${wrong.length} files, e.g. ${wrong[0]![0]}`);
    result.note(`${tree.name}: the SHA-256 of the ${ourDigests.size} files hashcheck scan reported match hashdeep's.`);
  } else {
    result.note(`hashcheck ${scanArgs.join(' ')} printed no path and sha256 per file, so its digests were not compared with hashdeep's.`);
  }
}
