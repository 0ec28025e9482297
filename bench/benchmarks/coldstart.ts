/**
 * Cold start: each function of the route table bundled as the CDK stack bundles it (`HashcheckFunction`:
 * ES module, minified, platform node, target node22, the `createRequire` banner, the AWS SDK inside),
 * its size, and the time a fresh `node` process takes to import it.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { FUNCTIONS, type FunctionSpec } from '../../lambdas/http/routes.js';
import { run } from '../support/process.js';
import { formatNumber, type Row } from '../support/report.js';
import { KB, median, min } from '../support/stats.js';
import type { Benchmark } from '../support/context.js';

/** The banner of `lib/hashcheck-function.ts`: bundled CommonJS needs `require` inside an ES module. */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";
const IMPORTS = 5;
const LOOKUP_TARGET_KB = 450;
const BUNDLE_TARGET_KB = 600;
const IMPORT_TARGET_MS = 100;

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
  AWS_REGION: 'us-east-1',
  POWERTOOLS_LOG_LEVEL: 'WARN',
};

/** Milliseconds a fresh node process spends in `await import(bundle)`, `--enable-source-maps` as deployed, or not. */
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

      const times = new Map<string, { deployed: number[]; noMaps: number[]; external: number[] }>();
      for (const b of bundles) times.set(b.spec.id, { deployed: [], noMaps: [], external: [] });
      // Rounds interleave the functions and variants so machine noise spreads over all of them.
      for (let round = 1; round <= IMPORTS; round++) {
        context.log(`coldstart: import round ${round} of ${IMPORTS}`);
        for (const b of bundles) {
          const t = times.get(b.spec.id)!;
          t.deployed.push(await importMs(b.file, true));
          t.noMaps.push(await importMs(b.file, false));
          t.external.push(await importMs(b.external, true));
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
            detail: `median of ${IMPORTS} (best ${formatNumber(min(t.deployed), 0)}), --enable-source-maps as deployed; ${formatNumber(median(t.noMaps), 0)} ms without; packages from node_modules ${formatNumber(reference.value, 0)} ms`,
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
  },
};
