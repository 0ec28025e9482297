import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webFormContentSecurityPolicy } from '../../lib/web-form-assets.js';
import { makeLocalWebForm, type LocalWebFormOptions } from '../../local/web.js';

let pageDir: string;
const servers: Server[] = [];

beforeAll(() => {
  // A page as the build of `npm start` writes it, with contents no build of web/ would make.
  pageDir = mkdtempSync(join(tmpdir(), 'hashcheck-built-page-'));
  writeFileSync(join(pageDir, 'index.html'), '<!doctype html><title>built beforehand</title>');
  writeFileSync(join(pageDir, 'app.js'), 'export const built = true;\n');
  mkdirSync(join(pageDir, 'icons'));
  writeFileSync(join(pageDir, 'icons', 'mark.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(pageDir, { recursive: true, force: true });
});

/** Serves the web form made with `options` on a free loopback port; other paths answer 404. */
async function serve(options: LocalWebFormOptions): Promise<string> {
  const webForm = makeLocalWebForm(options);
  const server = createServer((req, res) => {
    if (!webForm.serve(req, res, req.url ?? '/')) res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the local web form served as built beforehand', () => {
  it('serves the files of the built page as they are, subfolders included, with their content types', async () => {
    const url = await serve({ pageDir });
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toBe('<!doctype html><title>built beforehand</title>');
    const script = await fetch(`${url}/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('export const built = true;\n');
    const icon = await fetch(`${url}/icons/mark.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(`${url}/styles.css`)).status).toBe(404);
  });

  it('lets the page call its own origin alone when no upload origin is given', async () => {
    const url = await serve({ pageDir });
    const csp = (await fetch(`${url}/`)).headers.get('content-security-policy');
    expect(csp).toBe(webFormContentSecurityPolicy([]));
    expect(csp).toContain("connect-src 'self';");
  });
});
