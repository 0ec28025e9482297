/**
 * Cold start: each function of the route table bundled as the CDK stack bundles it (`HashcheckFunction`:
 * ES module, minified, platform node, target node22, the `createRequire` banner, the AWS SDK inside),
 * its size, and the time a fresh `node` process takes to import it. Then the command line's start-up:
 * `hashcheck --version` from spawn to exit, against `node -e 0` in the same rounds.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { FUNCTIONS, type FunctionSpec } from '../../lambdas/http/routes.js';
import { ESM_REQUIRE_BANNER } from '../../lib/hashcheck-function.js';
import { run } from '../support/process.js';
import { formatNumber, type ResultBuilder, type Row } from '../support/report.js';
import { findCli } from '../support/cli.js';
import { KB, median, min } from '../support/stats.js';
import type { Benchmark, BenchContext } from '../support/context.js';

/** The banner of `lib/hashcheck-function.ts`: bundled CommonJS needs `require` inside an ES module. */
const IMPORTS = 5;
const LOOKUP_TARGET_KB = 450;
const BUNDLE_TARGET_KB = 600;
const IMPORT_TARGET_MS = 100;
const CLI_STARTS = 15;
const CLI_TARGET_RATIO = 2;

/** The options `HashcheckFunction` hands to esbuild through NodejsFunction's `bundling`. */
function bundleOptions(spec: FunctionSpec, projectRoot: string, outfile: string): BuildOptions {
  return {
    entryPoints: [join(projectRoot, spec.entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: projectRoot,
  };
}

/** The environment a function meets at cold start: the variables its construct sets. */
const FUNCTION_ENV = {
  KNOWN_HASHES_TABLE: 'KnownHashes',
  SCANS_TABLE: 'Scans',
  UPLOAD_BUCKET: 'hashcheck-uploads',
  ANSWER_BUCKET: 'hashcheck-answers',
  EXPORT_BUCKET: 'hashcheck-exports',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_LOG_LEVEL: 'WARN',
};

/**
 * Milliseconds a fresh node process spends in `await import(bundle)`: as deployed (no `--enable-source-maps`: the
 * logger reads the map when it logs an error), or with the flag, which parses the map at every import.
 */
async function importMs(file: string, sourceMaps: boolean): Promise<number> {
  const script = 'const t=performance.now();await import(process.env.BENCH_BUNDLE_URL);process.stdout.write(String(performance.now()-t));';
  const args = [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', script];
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], ...FUNCTION_ENV, BENCH_BUNDLE_URL: pathToFileURL(file).href };
  const { stdout } = await run(process.execPath, args, { env });
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`Importing ${file} printed '${stdout.slice(0, 200)}'`);
  return ms;
}

/** The packages that weigh most in a bundle, `@aws-sdk/client-s3 212 KB`, from esbuild's metafile. */
function heaviestPackages(metafile: Metafile, outfile: string, count: number): string {
  const output = Object.entries(metafile.outputs).find(([path]) => outfile.endsWith(path))?.[1];
  if (!output) return '';
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const name = match ? match[1]! : '(project code)';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => `${name} ${formatNumber(bytes / KB, 0)} KB`)
    .join(', ');
}

export const coldstartBenchmark: Benchmark = {
  name: 'coldstart',
  title: 'bundle size and import time of each function (esbuild as the CDK stack bundles)',
  async run(context, result) {
    // Under the project (git-ignored) so that the reference bundles, which leave packages out, resolve
    // them from node_modules as an unbundled deployment would.
    const dir = join(context.projectRoot, 'bench-results', `.coldstart-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const bundles: { spec: FunctionSpec; file: string; external: string; metafile: Metafile }[] = [];
      for (const spec of FUNCTIONS) {
        const file = join(dir, spec.id, 'index.mjs');
        const external = join(dir, `${spec.id}-external`, 'index.mjs');
        const built = await build(bundleOptions(spec, context.projectRoot, file));
        await build({ ...bundleOptions(spec, context.projectRoot, external), packages: 'external' });
        bundles.push({ spec, file, external, metafile: built.metafile! });
      }

      const times = new Map<string, { deployed: number[]; withMaps: number[]; external: number[] }>();
      for (const b of bundles) times.set(b.spec.id, { deployed: [], withMaps: [], external: [] });
      // Rounds interleave the functions and variants so machine noise spreads over all of them.
      for (let round = 1; round <= IMPORTS; round++) {
        context.log(`coldstart: import round ${round} of ${IMPORTS}`);
        for (const b of bundles) {
          const t = times.get(b.spec.id)!;
          t.deployed.push(await importMs(b.file, false));
          t.withMaps.push(await importMs(b.file, true));
          t.external.push(await importMs(b.external, false));
        }
      }

      let largest = 0;
      let slowest = 0;
      let lookupKb = NaN;
      for (const b of bundles) {
        const kb = statSync(b.file).size / KB;
        largest = Math.max(largest, kb);
        if (b.spec.id === 'lookup') lookupKb = kb;
        result.row({ label: `${b.spec.id}: bundle`, value: kb, unit: 'KB', detail: `heaviest: ${heaviestPackages(b.metafile, b.file, 4)}` });
        const t = times.get(b.spec.id)!;
        const deployed = median(t.deployed);
        slowest = Math.max(slowest, deployed);
        const reference: Row = { label: 'SDK outside the bundle', value: median(t.external), unit: 'ms' };
        result.compared(
          {
            label: `${b.spec.id}: import`,
            value: deployed,
            unit: 'ms',
            detail: `median of ${IMPORTS} (best ${formatNumber(min(t.deployed), 0)}), as deployed, without --enable-source-maps; ${formatNumber(median(t.withMaps), 0)} ms with it; packages from node_modules ${formatNumber(reference.value, 0)} ms`,
          },
          reference,
          true,
        );
      }
      result.target(`lookup bundle ≤ ${LOOKUP_TARGET_KB} KB`, `${formatNumber(lookupKb, 0)} KB`, lookupKb <= LOOKUP_TARGET_KB);
      result.target(`every bundle ≤ ${BUNDLE_TARGET_KB} KB`, `largest ${formatNumber(largest, 0)} KB`, largest <= BUNDLE_TARGET_KB);
      result.target(`each import's median ≤ ${IMPORT_TARGET_MS} ms`, `slowest ${formatNumber(slowest, 0)} ms`, slowest <= IMPORT_TARGET_MS);
      result.note(
        'KB is 1,000 bytes, of the minified index.mjs alone (the source map is a separate file). The import ratio is against the same entry bundled with its packages left in node_modules (as a deployment relying on the runtime\'s SDK would load them): above 1× the bundle imports faster.',
      );
      result.note('Import time is measured inside a fresh node process around `await import(bundle)`, with the variables the function\'s construct sets; node\'s own start-up is not included.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await measureCliStart(context, result);
  },
};

/**
 * `hashcheck --version`, spawn to exit, as the `bin` entry runs it (what `npx hashcheck` and a global
 * install start), against `node -e 0`; `npx hashcheck --version` too, which adds npm's own start-up.
 * Interleaved runs, medians.
 */
async function measureCliStart(context: BenchContext, result: ResultBuilder): Promise<void> {
  const cli = findCli(context.projectRoot);
  if (!cli) {
    result.skip('package.json declares no hashcheck "bin": no command line to start.');
    result.target(`hashcheck --version ≤ ${CLI_TARGET_RATIO} × node -e 0`, 'no CLI', undefined);
    return;
  }
  // The first run builds the bundle when a source changed since the last build: not part of a start-up.
  await run(cli, ['--version'], { cwd: context.projectRoot });
  const times = { node: [] as number[], cli: [] as number[], npx: [] as number[] };
  context.log(`coldstart: ${CLI_STARTS} starts of hashcheck --version, node -e 0 and npx hashcheck --version`);
  for (let i = 0; i < CLI_STARTS; i++) {
    times.node.push((await run(process.execPath, ['-e', '0'])).ms);
    times.cli.push((await run(process.execPath, [cli, '--version'], { cwd: context.projectRoot })).ms);
    times.npx.push((await run('npx', ['--no-install', 'hashcheck', '--version'], { cwd: context.projectRoot })).ms);
  }
  const detail = (ms: number[]) => `median of ${CLI_STARTS} (best ${formatNumber(min(ms), 0)})`;
  const reference = result.row({ label: 'node -e 0', value: median(times.node), unit: 'ms', detail: detail(times.node) });
  const row = result.compared({ label: 'hashcheck --version (bin, spawn to exit)', value: median(times.cli), unit: 'ms', detail: `${detail(times.cli)}; ${cli}` }, reference, true);
  result.compared({ label: 'npx hashcheck --version', value: median(times.npx), unit: 'ms', detail: `${detail(times.npx)}; npm's own start-up included` }, reference, true);
  const slower = 1 / row.ratio!;
  result.target(`hashcheck --version ≤ ${CLI_TARGET_RATIO} × node -e 0`, `${formatNumber(slower, 2)} ×`, slower <= CLI_TARGET_RATIO);
  result.note(
    'The command line runs its bundle (`dist/hashcheck.mjs`, built at npm install and before npm pack). `npx` itself, the npm command line, spends about half a second before it starts any package: that part is npm\'s, the same for every package, so the target is judged on the `bin` entry npx starts.',
  );
}
