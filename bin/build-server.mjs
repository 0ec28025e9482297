#!/usr/bin/env node
/**
 * Builds what `npm start` runs: the local server (`bin/local-server.ts` and all it imports) bundled into
 * `dist/local-server.mjs` with its source map, the web form built into `dist/local-web/`, and
 * `dist/local-server.inputs.json`, the sources both were built from and their stamp. Runs at `npm install`
 * in a checkout (`prepare`); `npm start` (bin/start.mjs) runs it again, in a process of its own, when a
 * source changed. Nothing happens when the build is current, unless `--force` is given.
 *
 * The bundle sits directly in `dist/`, one folder below the project root like `local/` and `lib/`, so code
 * that finds the project's files from its own location (`new URL('..', import.meta.url)`: the seed list,
 * the project root) finds the same files bundled as from its sources.
 *
 * Usage: node bin/build-server.mjs [--force]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { copySevenZip, inputsChanged, ROOT, sevenZipIsVendored, sourceInputs, writeInputs } from './build-cli.mjs';

export const SERVER_BUNDLE = join(ROOT, 'dist', 'local-server.mjs');
export const SERVER_INPUTS = join(ROOT, 'dist', 'local-server.inputs.json');
/** The web form the bundled server serves (local/web.ts finds it from the bundle's location). */
export const SERVER_WEB_FORM = join(ROOT, 'dist', 'local-web');
/** The build scripts themselves: a change to how the server is built rebuilds it too. */
const BUILD_SCRIPTS = ['bin/build-server.mjs', 'bin/build-cli.mjs'];

/** Whether the server's build is missing, or one of the files it was built from changed (or is gone). */
export function serverIsStale() {
  return !existsSync(SERVER_BUNDLE) || !existsSync(SERVER_WEB_FORM) || !sevenZipIsVendored() || inputsChanged(SERVER_INPUTS);
}

/**
 * A package whose code loads a compiled addon (`lmdb`, through `node-gyp-build-optional-packages`), found by
 * its `binding.gyp` or its addon loader: it stays outside the bundle and loads from `node_modules` at run
 * time, where its loader finds the binary, with the packages it imports.
 */
function isNativePackage(directory) {
  if (existsSync(join(directory, 'binding.gyp'))) return true;
  try {
    const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
    const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
    return manifest.gypfile === true || dependencies.some((name) => /^(node-gyp-build(-optional-packages)?|bindings|prebuild-install)$/.test(name));
  } catch {
    return false;
  }
}

/** The esbuild plugin that leaves native packages (see {@link isNativePackage}) outside the bundle. */
const nativePackagesOutside = {
  name: 'native-packages-outside',
  setup(build) {
    const verdicts = new Map();
    build.onResolve({ filter: /^(@[^/.][^/]*\/)?[^/.][^/]*/ }, async (args) => {
      if (args.pluginData?.nativeCheck || args.path.startsWith('node:')) return undefined;
      const name = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { nativeCheck: true },
      });
      if (resolved.errors.length > 0 || resolved.external) return undefined;
      const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
      const at = resolved.path.lastIndexOf(marker);
      if (at < 0) return undefined;
      const directory = resolved.path.slice(0, at + marker.length - 1);
      if (!verdicts.has(directory)) verdicts.set(directory, isNativePackage(directory));
      return verdicts.get(directory) ? { path: args.path, external: true } : undefined;
    });
  },
};

/**
 * Bundles the local server and builds its web form with esbuild (a development dependency), into a folder
 * of its own first, then moved into `dist/`: the page folder, then the source map and the bundle, each
 * renamed over the old one.
 */
export async function buildServer() {
  const { build } = await import('esbuild');
  const outDir = dirname(SERVER_BUNDLE);
  const staging = join(outDir, `.server-build-${process.pid}`);
  const startedAt = Date.now();
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const result = await build({
      entryPoints: { 'local-server': join(ROOT, 'bin', 'local-server.ts') },
      outdir: staging,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      sourcemap: 'linked',
      // Whitespace and syntax only (2 MB less resident than as written): functions keep their names in a stack
      // trace; `NODE_OPTIONS=--enable-source-maps npm start` shows source lines, from the map beside the bundle.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'error',
      absWorkingDir: ROOT,
      plugins: [nativePackagesOutside],
      define: { HASHCHECK_BUILT_WEB_FORM: JSON.stringify(`./${relative(outDir, SERVER_WEB_FORM).split(sep).join('/')}/`) },
      // Bundled CommonJS calls require() for Node built-ins, which an ES module has to make for itself.
      banner: { js: "import { createRequire as __hashcheckRequire } from 'node:module'; const require = __hashcheckRequire(import.meta.url);" },
    });
    const bundler = Object.keys(result.metafile.inputs).find((input) => input.includes('node_modules/esbuild/'));
    if (bundler) throw new Error(`the server bundle would load esbuild (${bundler}); it must serve the page built beforehand`);
    const webInputs = await buildWebFormInto(build, join(staging, 'local-web'));

    replaceFolder(join(staging, 'local-web'), SERVER_WEB_FORM, join(staging, 'previous-local-web'));
    renameSync(join(staging, 'local-server.mjs.map'), `${SERVER_BUNDLE}.map`);
    renameSync(join(staging, 'local-server.mjs'), SERVER_BUNDLE);
    writeInputs(SERVER_INPUTS, sourceInputs(result.metafile, [...BUILD_SCRIPTS, ...webInputs]), startedAt);
    copySevenZip();
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Puts folder `from` in place of `to`, moving the old one (if any) to `trash` first. Another build running
 * meanwhile may move its own in between; then the move is tried again, and the last build's folder stays.
 */
function replaceFolder(from, to, trash) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      if (existsSync(to)) renameSync(to, `${trash}-${attempt}`);
      renameSync(from, to);
      return;
    } catch (error) {
      if (attempt >= 5 || !['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    }
  }
}

/**
 * Writes the web form into `pageDir` with the function the deployed site is built with
 * (lib/web-form-assets.ts), compiled for the occasion beside the bundle so it finds the project root as
 * it does from `lib/`; returns the sources it read.
 */
async function buildWebFormInto(build, pageDir) {
  const builder = join(dirname(SERVER_BUNDLE), `.web-form-assets-${process.pid}.mjs`);
  try {
    const compiled = await build({
      entryPoints: [join(ROOT, 'lib', 'web-form-assets.ts')],
      outfile: builder,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      logLevel: 'error',
      absWorkingDir: ROOT,
    });
    const { buildWebFormWithInputs } = await import(pathToFileURL(builder).href);
    const page = buildWebFormWithInputs({ minify: false });
    for (const file of page.files) {
      const target = join(pageDir, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.contents);
    }
    return [...Object.keys(compiled.metafile.inputs), ...page.inputs];
  } finally {
    rmSync(builder, { force: true });
  }
}

/** `npm pack` and `npm publish` run `prepare` too; the package they make carries the command line alone. */
const packing = process.env['npm_lifecycle_event'] === 'prepare' && ['pack', 'publish'].includes(process.env['npm_command'] ?? '');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && !packing) {
  if (process.argv.includes('--force') || serverIsStale()) {
    if (!(await import('esbuild').then(() => true, () => false))) {
      // `npm install --omit=dev` in a checkout: nothing to build with.
      process.stderr.write('hashcheck: esbuild is not installed, so the local server is not built (npm install installs it)\n');
      process.exit(process.env['npm_lifecycle_event'] === 'prepare' ? 0 : 1);
    }
    try {
      await buildServer();
    } catch (error) {
      // esbuild has printed what it could not build, with file and line.
      process.stderr.write(`hashcheck: the local server did not build${error?.errors ? ' (see above)' : `: ${error?.message ?? error}`}\n`);
      process.exit(1);
    }
    if (!process.argv.includes('--quiet')) process.stderr.write(`hashcheck: built ${relative(process.cwd(), SERVER_BUNDLE) || SERVER_BUNDLE}\n`);
  }
}
