#!/usr/bin/env node
/**
 * Builds the `hashcheck` command line into `dist/hashcheck.mjs` (and chunks it loads on demand), with
 * everything it imports inside (no runtime dependency), plus `dist/hashcheck.inputs.json`, the source files it was built
 * from. Runs at `npm install` in a checkout (`prepare`) and before `npm pack` (`prepack`); the launcher
 * `bin/hashcheck.mjs` also calls it when the bundle is missing or older than a source. Nothing happens when
 * the bundle is already newer than every source, unless `--force` is given.
 *
 * Usage: node bin/build-cli.mjs [--force]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = join(ROOT, 'dist', 'hashcheck.mjs');
export const INPUTS = join(ROOT, 'dist', 'hashcheck.inputs.json');
/**
 * Where the build puts its copy of 7-Zip (`7z-wasm`), which the command line uses to look inside archives
 * when the package is not installed beside it (lambdas/adapters/sevenzip-inside.ts). Not under a
 * `node_modules` folder: `npm pack` leaves those out.
 */
export const VENDORED_SEVEN_ZIP = join(ROOT, 'dist', 'vendor', '7z-wasm');
/** The files of `7z-wasm` the command line runs (its CommonJS build loads `7zz.wasm` from beside itself), and its licences. */
const SEVEN_ZIP_FILES = ['package.json', '7zz.umd.js', '7zz.wasm', 'License.txt', 'unRarLicense.txt'];

/**
 * Whether the bundle is missing or older than one of the files it was built from (or one of them is gone).
 * Stats each input once: a few dozen files, well under a millisecond.
 */
export function bundleIsStale() {
  let built;
  let inputs;
  try {
    built = statSync(BUNDLE).mtimeMs;
    inputs = JSON.parse(readFileSync(INPUTS, 'utf8'));
  } catch {
    return true;
  }
  if (!SEVEN_ZIP_FILES.every((file) => existsSync(join(VENDORED_SEVEN_ZIP, file)))) return true;
  for (const input of [...inputs, 'bin/build-cli.mjs']) {
    try {
      if (statSync(join(ROOT, input)).mtimeMs > built) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Bundles `bin/hashcheck.ts` with esbuild (a development dependency: a built package never calls this).
 * What only some commands load on demand (the AWS SDK's credential chain and signer, for admin requests
 * signed with AWS credentials) goes into chunks of its own under `dist/chunks/`, so a lookup never parses
 * it. The build lands in a temporary folder first; its chunks (named by content) are moved in, then the
 * entry is renamed over the old one, so a run starting meanwhile finds either build whole, never a mix.
 */
export async function buildCli() {
  const { build } = await import('esbuild');
  const outDir = dirname(BUNDLE);
  const staging = join(outDir, `.build-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    const result = await build({
      entryPoints: { hashcheck: join(ROOT, 'bin', 'hashcheck.ts') },
      outdir: staging,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The packages' ES module builds: a CommonJS package imported on demand would reach the chunk that
      // imports it as a default export only, without its named exports (`SignatureV4`).
      mainFields: ['module', 'main'],
      minify: true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'error',
      absWorkingDir: ROOT,
      // Bundled CommonJS calls require() for Node built-ins, which an ES module has to make for itself.
      banner: { js: "import { createRequire as __hashcheckRequire } from 'node:module'; const require = __hashcheckRequire(import.meta.url);" },
    });
    const inputs = Object.keys(result.metafile.inputs)
      .filter((input) => !input.startsWith('node_modules/') && !input.startsWith('..'))
      // package.json: the versions of the dependencies the bundle carries inside.
      .concat('package.json')
      .sort();
    writeFileSync(join(staging, 'hashcheck.inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
    mkdirSync(join(outDir, 'chunks'), { recursive: true });
    for (const chunk of readdirSync(join(staging, 'chunks'))) renameSync(join(staging, 'chunks', chunk), join(outDir, 'chunks', chunk));
    renameSync(join(staging, 'hashcheck.inputs.json'), INPUTS);
    renameSync(join(staging, 'hashcheck.mjs'), BUNDLE);
    removeOldChunks(join(outDir, 'chunks'), Object.keys(result.metafile.outputs).map((output) => basename(output)));
    copySevenZip();
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Copies the installed `7z-wasm` into `dist/vendor/7z-wasm/`, each file written beside and renamed over
 * the old one, so a run meanwhile never reads half a file.
 */
function copySevenZip() {
  const from = dirname(createRequire(import.meta.url).resolve('7z-wasm/package.json'));
  mkdirSync(VENDORED_SEVEN_ZIP, { recursive: true });
  for (const file of SEVEN_ZIP_FILES) {
    const partial = join(VENDORED_SEVEN_ZIP, `.${file}.${process.pid}`);
    copyFileSync(join(from, file), partial);
    renameSync(partial, join(VENDORED_SEVEN_ZIP, file));
  }
}

/**
 * Chunks of earlier builds, once no run started before this build can still be loading them; all of
 * them before `npm pack`, so the package carries only what its entry loads.
 */
function removeOldChunks(dir, current) {
  const keep = new Set(current);
  const before = Date.now() - (process.env['npm_lifecycle_event'] === 'prepack' ? 0 : 60 * 60 * 1000);
  for (const chunk of readdirSync(dir)) {
    const path = join(dir, chunk);
    if (!keep.has(chunk) && statSync(path).mtimeMs < before) rmSync(path, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--force') || bundleIsStale()) {
    if (process.env['npm_lifecycle_event'] === 'prepare' && !(await import('esbuild').then(() => true, () => false))) {
      // `npm install --omit=dev` in a checkout: nothing to build with; the command line says so when run.
      process.stderr.write('hashcheck: esbuild is not installed, so the command line is not built (npm install builds it)\n');
      process.exit(0);
    }
    await buildCli();
    process.stderr.write(`hashcheck: built ${relative(process.cwd(), BUNDLE) || BUNDLE}\n`);
  }
}
