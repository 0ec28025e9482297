import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  buildWebForm,
  contentTypeOf,
  WEB_FORM_HEADERS,
  webFormContentSecurityPolicy,
  type WebFormConfig,
} from '../lib/web-form-assets.js';

/** Options of {@link makeLocalWebForm}. */
export interface LocalWebFormOptions {
  /** The origin of the local S3 (s3rver), where the page sends large files: the CSP must allow it. */
  readonly uploadOrigin: string;
  /**
   * What `config.json` tells the page.
   * @default { apiUrl: '/' }: the API on the page's own origin
   */
  readonly config?: WebFormConfig;
  /** @default false: the page is readable in the browser's developer tools */
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
 * Builds the web form in memory (esbuild, a few tens of milliseconds, so `npm start` from a fresh clone
 * needs no build step) and serves it with the security headers the deployed site sends, HSTS aside:
 * locally the page is plain HTTP on loopback.
 */
export function makeLocalWebForm(options: LocalWebFormOptions): LocalWebForm {
  const files = new Map<string, { contents: Uint8Array; contentType: string }>();
  for (const file of buildWebForm({ minify: options.minify ?? false })) files.set(`/${file.path}`, file);
  const config = JSON.stringify(options.config ?? { apiUrl: '/' });
  files.set('/config.json', { contents: new TextEncoder().encode(config), contentType: contentTypeOf('config.json') });
  const index = files.get('/index.html');
  if (index) files.set('/', index);

  const headers = {
    ...WEB_FORM_HEADERS,
    'content-security-policy': webFormContentSecurityPolicy([new URL(options.uploadOrigin).origin]),
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

/**
 * The origins a browser may show the local page under: the host it listens on, and `localhost` /
 * `127.0.0.1` for each other when it listens on loopback.
 */
export function localPageOrigins(host: string, port: number): string[] {
  const loopback = ['127.0.0.1', 'localhost'];
  const hosts = loopback.includes(host) ? loopback : [host];
  return hosts.map((name) => `http://${name.includes(':') ? `[${name}]` : name}:${port}`);
}
