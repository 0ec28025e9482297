import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { PROJECT_ROOT } from './project-root.js';

/**
 * The web form's sources and how they become the files a browser loads. The local server and the
 * `WebFormSite` construct both build the page here, and both serve it under the policy below, so the page
 * tested locally is the page deployed.
 */

/** Where the page's sources live: `index.html`, `styles.css`, `favicon.svg` and `src/*.ts`. */
export const WEB_FORM_SOURCE = join(PROJECT_ROOT, 'web');

/** Files copied as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg'] as const;

/** One file of the built page. */
export interface WebFormFile {
  /** The path under the site root, without a leading slash (`app.js`). */
  readonly path: string;
  readonly contents: Uint8Array;
  readonly contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** The content type of a site path, by its extension. */
export function contentTypeOf(path: string): string {
  const extension = /\.[a-z0-9]+$/i.exec(path)?.[0]?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

export interface BuildWebFormOptions {
  /** @default true */
  readonly minify?: boolean;
  /** @default WEB_FORM_SOURCE */
  readonly sourceDir?: string;
}

/** The built page and what it was built from. */
export interface BuiltWebForm {
  readonly files: WebFormFile[];
  /** The source files read, relative to the project root (`web/src/main.ts`, `web/index.html`). */
  readonly inputs: string[];
}

/**
 * Bundles the page with esbuild, in memory: the script (`app.js`, an ES module: no inline script, so a
 * strict CSP holds), the style sheet (`styles.css`) and the static files. Synchronous, because CDK asset
 * bundling calls it synchronously; it takes a few tens of milliseconds.
 */
export function buildWebForm(options: BuildWebFormOptions = {}): WebFormFile[] {
  return buildWebFormWithInputs(options).files;
}

/** {@link buildWebForm}, also naming the source files it read. */
export function buildWebFormWithInputs(options: BuildWebFormOptions = {}): BuiltWebForm {
  const sourceDir = options.sourceDir ?? WEB_FORM_SOURCE;
  const outdir = join(sourceDir, '.out');
  // Loaded here, not at the top: the built local server serves a page built beforehand and never loads esbuild.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const result = buildSync({
    entryPoints: { app: join(sourceDir, 'src', 'main.ts'), styles: join(sourceDir, 'styles.css') },
    bundle: true,
    write: false,
    outdir,
    format: 'esm',
    // Browsers staff run today; nothing newer than ES2022 is used.
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    minify: options.minify ?? true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    absWorkingDir: PROJECT_ROOT,
  });
  const built = result.outputFiles.map((file) => {
    const path = file.path.slice(outdir.length + 1).replaceAll('\\', '/');
    return { path, contents: file.contents, contentType: contentTypeOf(path) };
  });
  const copied = STATIC_FILES.map((path) => ({
    path,
    contents: new Uint8Array(readFileSync(join(sourceDir, path))),
    contentType: contentTypeOf(path),
  }));
  const inputs = [...Object.keys(result.metafile.inputs), ...STATIC_FILES.map((path) => relative(PROJECT_ROOT, join(sourceDir, path)))];
  return { files: [...copied, ...built], inputs: inputs.map((input) => input.replaceAll('\\', '/')) };
}

/** Builds the page into `outDir` (created when missing); returns the paths written. */
export function writeWebForm(outDir: string, options: BuildWebFormOptions = {}): string[] {
  return buildWebForm(options).map((file) => {
    const target = join(outDir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
    return target;
  });
}

/** What the page's `config.json` holds. */
export interface WebFormConfig {
  /** The API's base URL, ending in `/`; `/` when the API is on the page's own origin. */
  readonly apiUrl: string;
}

/**
 * The page's Content-Security-Policy: its own script and style only (nothing inline, nothing from a CDN),
 * network calls to its origin, the API and the upload storage only, and no framing.
 * @param connectOrigins origins besides the page's own that the page calls: the API, the upload bucket
 */
export function webFormContentSecurityPolicy(connectOrigins: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${["'self'", ...connectOrigins].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Security headers besides the CSP, on every file of the page; HSTS is added where the page is served over TLS. */
export const WEB_FORM_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};
