import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildWebForm,
  contentTypeOf,
  WEB_FORM_HEADERS,
  webFormContentSecurityPolicy,
  type WebFormConfig,
  type WebFormFile,
} from '../lib/web-form-assets.js';

/**
 * Where the page built beside the bundled server is, relative to the bundle: the build of `npm start`
 * (bin/build-server.mjs) defines it. Not defined when the server runs from its TypeScript sources (tests),
 * which build the page at start.
 */
declare const HASHCHECK_BUILT_WEB_FORM: string | undefined;

/** Options of {@link makeLocalWebForm}. */
export interface LocalWebFormOptions {
  /**
   * An origin besides the page's own where the page sends large files; the CSP allows it.
   * @default none: the page calls its own origin only
   */
  readonly uploadOrigin?: string;
  /**
   * A folder holding the built page (`index.html`, `app.js`, ...), served as it is.
   * @default the page built beside the bundled server; when the server runs from its sources, the page
   * is built in memory from `web/`
   */
  readonly pageDir?: string;
  /**
   * What `config.json` tells the page.
   * @default { apiUrl: '/' }: the API on the page's own origin
   */
  readonly config?: WebFormConfig;
  /** When the page is built in memory. @default false: the page is readable in the browser's developer tools */
  readonly minify?: boolean;
}

/** The web form as the local server serves it. */
export interface LocalWebForm {
  /** The site paths served, with `/` for the page. */
  readonly paths: readonly string[];
  /**
   * Answers a GET or HEAD for a path of the page and returns true; returns false, touching nothing, for
   * any other request, which then goes to the API router. `path` is the request's path as sent.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

/**
 * Serves the web form with the security headers the deployed site sends, HSTS aside: locally the page is
 * plain HTTP on loopback. The bundled server (`npm start`) serves the page its build wrote beside it; run
 * from its sources, the server builds the page in memory (esbuild, a few tens of milliseconds).
 */
export function makeLocalWebForm(options: LocalWebFormOptions = {}): LocalWebForm {
  const pageDir =
    options.pageDir ??
    (typeof HASHCHECK_BUILT_WEB_FORM === 'string' ? fileURLToPath(new URL(HASHCHECK_BUILT_WEB_FORM, import.meta.url)) : undefined);
  const files = new Map<string, { contents: Uint8Array; contentType: string }>();
  for (const file of pageDir ? readBuiltPage(pageDir) : buildWebForm({ minify: options.minify ?? false })) files.set(`/${file.path}`, file);
  const config = JSON.stringify(options.config ?? { apiUrl: '/' });
  files.set('/config.json', { contents: new TextEncoder().encode(config), contentType: contentTypeOf('config.json') });
  const index = files.get('/index.html');
  if (index) files.set('/', index);

  const headers = {
    ...WEB_FORM_HEADERS,
    'content-security-policy': webFormContentSecurityPolicy(options.uploadOrigin ? [new URL(options.uploadOrigin).origin] : []),
    // Edits to web/ show after a restart; the browser must not keep an older build meanwhile.
    'cache-control': 'no-cache',
  };

  return {
    paths: [...files.keys()],
    serve(req, res, path) {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') return false;
      const file = files.get(path);
      if (!file) return false;
      res.writeHead(200, { ...headers, 'content-type': file.contentType, 'content-length': String(file.contents.length) });
      res.end(method === 'HEAD' ? undefined : file.contents);
      return true;
    },
  };
}

/** The files of a built page, read from its folder (subfolders included). */
export function readBuiltPage(pageDir: string): WebFormFile[] {
  return readdirSync(pageDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = relative(pageDir, join(entry.parentPath ?? entry.path, entry.name)).replaceAll('\\', '/');
      return { path, contents: new Uint8Array(readFileSync(join(pageDir, path))), contentType: contentTypeOf(path) };
    });
}

/**
 * The origins a browser may show the local page under: the host it listens on, and `localhost` /
 * `127.0.0.1` for each other when it listens on loopback.
 */
export function localPageOrigins(host: string, port: number): string[] {
  const loopback = ['127.0.0.1', 'localhost'];
  const hosts = loopback.includes(host) ? loopback : [host];
  return hosts.map((name) => `http://${name.includes(':') ? `[${name}]` : name}:${port}`);
}
