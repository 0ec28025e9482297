#!/usr/bin/env node
/**
 * Builds the `hashcheck` command line into `dist/hashcheck.mjs` (and chunks it loads on demand), with
 * everything it imports inside (no runtime dependency), plus `dist/hashcheck.inputs.json`, the source files it was built
 * from and a stamp of them. Runs at `npm install` in a checkout (`prepare`) and before `npm pack` (`prepack`); the
 * launcher `bin/hashcheck.mjs` also calls it when the bundle is missing or a source changed. Nothing happens when
 * the bundle is current, unless `--force` is given. The build of `npm start` (bin/build-server.mjs) uses the
 * same stamps and the same copy of 7-Zip.
 *
 * Usage: node bin/build-cli.mjs [--force]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The project root: the folder holding `package.json`. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
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
 * A build older than an edit by less than this may hold the file as it was before: file times come from a
 * clock that runs a few milliseconds behind the one the build reads.
 */
const FILE_CLOCK_SLACK_MS = 20;

/**
 * The project files an esbuild build read (its metafile's inputs, dependencies under `node_modules` aside),
 * plus `package.json` (the versions of the dependencies the bundle carries) and `extra` (the build scripts),
 * as paths relative to the project root, sorted.
 */
export function sourceInputs(metafile, extra = []) {
  return Object.keys(metafile.inputs)
    .filter((input) => !input.startsWith('node_modules/') && !input.startsWith('..') && !input.includes('/node_modules/'))
    .concat('package.json', ...extra)
    .filter((input, index, all) => all.indexOf(input) === index)
    .sort();
}

/**
 * The stamp of a set of project files: a digest of each one's path, size and modification time (no file is
 * read, so checking a few hundred files takes about a millisecond). `null` when one of them is missing.
 */
export function stampOf(inputs) {
  const digest = createHash('sha256');
  for (const input of inputs) {
    let stats;
    try {
      stats = statSync(join(ROOT, input));
    } catch {
      return null;
    }
    digest.update(`${input}\0${stats.size}\0${stats.mtimeMs}\n`);
  }
  return digest.digest('hex');
}

/**
 * Writes the list of inputs of a build and their stamp to `file` (through a file beside it, renamed over
 * it). A source changed after `startedAt` may have been read before or after the change, so the stamp is
 * left out and the next run builds again.
 */
export function writeInputs(file, inputs, startedAt) {
  const changedMeanwhile = inputs.some((input) => {
    try {
      return statSync(join(ROOT, input)).mtimeMs >= startedAt - FILE_CLOCK_SLACK_MS;
    } catch {
      return true;
    }
  });
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, `${JSON.stringify({ stamp: changedMeanwhile ? null : stampOf(inputs), inputs }, null, 1)}\n`);
  renameSync(partial, file);
}

/**
 * Whether the build that wrote `file` (with {@link writeInputs}) is out of date: the file is missing or
 * unreadable, or one of the sources it lists is gone or changed since.
 */
export function inputsChanged(file) {
  try {
    const { stamp, inputs } = JSON.parse(readFileSync(file, 'utf8'));
    return typeof stamp !== 'string' || !Array.isArray(inputs) || stampOf(inputs) !== stamp;
  } catch {
    return true;
  }
}

/** Whether `dist/vendor/7z-wasm/` holds every file of 7-Zip the bundles run. */
export function sevenZipIsVendored() {
  return SEVEN_ZIP_FILES.every((file) => existsSync(join(VENDORED_SEVEN_ZIP, file)));
}

/** Whether the bundle is missing, or one of the files it was built from changed (or is gone). */
export function bundleIsStale() {
  return !existsSync(BUNDLE) || !sevenZipIsVendored() || inputsChanged(INPUTS);
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
  const startedAt = Date.now();
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
    mkdirSync(join(outDir, 'chunks'), { recursive: true });
    for (const chunk of readdirSync(join(staging, 'chunks'))) renameSync(join(staging, 'chunks', chunk), join(outDir, 'chunks', chunk));
    renameSync(join(staging, 'hashcheck.mjs'), BUNDLE);
    writeInputs(INPUTS, sourceInputs(result.metafile, ['bin/build-cli.mjs']), startedAt);
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
export function copySevenZip() {
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
