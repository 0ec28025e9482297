/**
 * Tree scan: `hashcheck scan` of a generated tree (20,000 files, 2 GiB, mixed sizes) against Debian's
 * `hashdeep -c md5,sha1,sha256 -r` on the same tree, page cache hot for both.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { findCli, parseJsonLines } from '../support/cli.js';
import { fileTree, listFiles, treeBytes, warmPageCache } from '../support/data.js';
import { startServerProcess, LOOKUP_BENCH_ENV } from '../support/local-server.js';
import { run } from '../support/process.js';
import { formatNumber, formatRatio } from '../support/report.js';
import { GIB, mibPerSecond, min } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

const TREE = { files: 20_000, totalBytes: 2 * GIB };
const ROUNDS = 3;
const TARGET_RATIO = 1.5;
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

export const treeBenchmark: Benchmark = {
  name: 'tree',
  title: 'hashcheck scan of a 20,000-file, 2 GiB tree against hashdeep -c md5,sha1,sha256 -r',
  async run(context, result) {
    const cli = findCli(context.projectRoot);
    if (!cli) {
      result.skip(
        'The hashcheck CLI is not installed (node_modules/.bin/hashcheck is missing), so there is no `hashcheck scan` to measure; the benchmark runs once package.json declares "bin" and npm install links it.',
      );
      result.target(`tree scan ≥ ${TARGET_RATIO} × hashdeep`, 'no CLI', undefined);
      return;
    }
    result.note(`The CLI measured: ${cli}${process.env['HASHCHECK_BENCH_CLI'] ? ' (HASHCHECK_BENCH_CLI)' : ''}.`);
    const hashdeep = await ensureHashdeep(context);
    const root = await fileTree(TREE, context.log);
    const files = await listFiles(root);
    const bytes = await treeBytes(files);
    if (files.length !== TREE.files || bytes !== TREE.totalBytes) throw new Error(`The tree in ${root} holds ${files.length} files, ${bytes} bytes`);
    context.log('tree: warming the page cache');
    await warmPageCache(files);

    // `--all` prints every file, as hashdeep does, so the two outputs can be compared file by file.
    const help = await run(cli, ['scan', '--help'], { cwd: context.projectRoot, okCodes: [0, 1, 2] });
    const scanArgs = ['scan', ...(help.stdout.includes('--all') ? ['--all'] : []), '--json', root];
    const server = await startServerProcess(context.projectRoot, LOOKUP_BENCH_ENV);
    try {
      const times = { ours: [] as number[], hashdeep: [] as number[] };
      let ourDigests = new Map<string, string>();
      let theirDigests = new Map<string, string>();
      for (let round = 1; round <= ROUNDS; round++) {
        context.log(`tree: round ${round} of ${ROUNDS}`);
        if (hashdeep.path) {
          const out = await run(hashdeep.path, ['-c', 'md5,sha1,sha256', '-r', root]);
          times.hashdeep.push(out.ms);
          theirDigests = parseHashdeep(out.stdout, root);
        }
        const scan = await run(cli, scanArgs, {
          cwd: context.projectRoot,
          env: { ...process.env, HASHCHECK_URL: server.url },
          okCodes: [0, 1],
        });
        times.ours.push(scan.ms);
        ourDigests = parseScanLines(scan.stdout, root);
      }

      const rate = (ms: number[]) => mibPerSecond(bytes, min(ms));
      const detail = (ms: number[]) =>
        `best of ${ROUNDS}: ${formatNumber(min(ms) / 1000)} s, ${formatNumber(TREE.files / (min(ms) / 1000), 0)} files/s (${ms.map((t) => formatNumber(t / 1000)).join(', ')} s)`;
      const ours = { label: `hashcheck ${scanArgs.slice(0, -1).join(' ')} (CLI)`, value: rate(times.ours), unit: 'MiB/s', detail: detail(times.ours) };
      if (hashdeep.path) {
        const reference = result.row({ label: 'hashdeep -c md5,sha1,sha256 -r', value: rate(times.hashdeep), unit: 'MiB/s', detail: detail(times.hashdeep) });
        const row = result.compared(ours, reference);
        result.target(`tree scan ≥ ${TARGET_RATIO} × hashdeep`, formatRatio(row.ratio!), row.ratio! >= TARGET_RATIO);
        if (theirDigests.size !== TREE.files) throw new Error(`hashdeep listed ${theirDigests.size} of ${TREE.files} files`);
        if (ourDigests.size > 0) {
          if (ourDigests.size !== TREE.files) throw new Error(`hashcheck scan listed ${ourDigests.size} of ${TREE.files} files`);
          const wrong = [...ourDigests].filter(([path, sha256]) => theirDigests.get(path) !== sha256);
          if (wrong.length > 0) throw new Error(`hashcheck scan and hashdeep disagree on ${wrong.length} files, e.g. ${wrong[0]![0]}`);
          result.note(`The SHA-256 of the ${ourDigests.size} files hashcheck scan reported match hashdeep's.`);
        } else {
          result.note(`hashcheck ${scanArgs.slice(0, -1).join(' ')} printed no path and sha256 per file, so its digests were not compared with hashdeep's.`);
        }
      } else {
        result.row(ours);
        result.skip(hashdeep.why!);
        result.target(`tree scan ≥ ${TARGET_RATIO} × hashdeep`, 'no hashdeep', undefined);
      }
      result.note(
        'The local server runs with HASHCHECK_LOOKUP_DEADLINE_MS=120000: its table is dynalite in the same process, which on a loaded machine can take longer than the 3 s deadline meant for DynamoDB to answer a 10,000-hash batch.',
      );
      result.note(
        `The tree: ${TREE.files.toLocaleString('en-US')} files, 2 GiB, 75% of them 256 B–32 KiB, 24% 32–256 KiB, 1% large files holding most of the bytes; cached, page cache warmed before the rounds. hashcheck scan also looks every digest up on the local server; hashdeep uses its default of one thread per core.`,
      );
    } finally {
      await server.stop();
    }
  },
};
