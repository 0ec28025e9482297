import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPageOrigins } from '../../local/web.js';
import { webFormContentSecurityPolicy } from '../../lib/web-form-assets.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

/** Asks the local S3 whether a page from `origin` may send a browser upload, as Chromium does first. */
function preflight(origin: string, method = 'POST') {
  return fetch(`${server.s3.endpoint}/hashcheck-uploads`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type' },
  });
}

describe('the web form on the local server', () => {
  it('serves the page at / with a strict CSP that allows the API on its origin and the local S3 only', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toBe(webFormContentSecurityPolicy([server.s3.endpoint]));
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${server.s3.endpoint}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    // Nothing inline and nothing from elsewhere: the page works on a closed network under its CSP.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|https?:\/\//);
  });

  it.each([
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/styles.css', 'text/css; charset=utf-8'],
    ['/favicon.svg', 'image/svg+xml'],
    ['/index.html', 'text/html; charset=utf-8'],
  ])('serves %s as %s with the same security headers', async (path, type) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('tells the page that the API is on its own origin', async () => {
    expect((await fetchJson(`${server.url}/config.json`)).body).toEqual({ apiUrl: '/' });
  });

  it('answers HEAD without a body', async () => {
    const response = await fetch(`${server.url}/app.js`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(1000);
    expect(await response.text()).toBe('');
  });

  it('leaves other paths and methods to the API: 404 not_found, 405 on a page path', async () => {
    const missing = await fetchJson(`${server.url}/admin.php`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await fetch(`${server.url}/`, { method: 'POST' })).status).toBe(404);
    expect((await fetchJson(`${server.url}/v1/health`)).body.status).toBe('ok');
  });

  it("lets the page's origins send browser uploads to the local S3, and no other origin", async () => {
    for (const origin of localPageOrigins('127.0.0.1', server.port)) {
      const allowed = await preflight(origin);
      expect(allowed.status, origin).toBe(200);
      expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    }
    expect((await preflight('http://127.0.0.1:1')).status).toBe(403);
    expect((await preflight('https://attacker.example')).status).toBe(403);
    expect((await preflight(server.url, 'DELETE')).status).toBe(403);
  });
});

describe('localPageOrigins', () => {
  it('names both loopback spellings for a loopback host', () => {
    expect(localPageOrigins('127.0.0.1', 3000)).toEqual(['http://127.0.0.1:3000', 'http://localhost:3000']);
    expect(localPageOrigins('localhost', 8080)).toEqual(['http://127.0.0.1:8080', 'http://localhost:8080']);
  });

  it('names the host itself otherwise, bracketing IPv6', () => {
    expect(localPageOrigins('10.0.0.5', 3000)).toEqual(['http://10.0.0.5:3000']);
    expect(localPageOrigins('::1', 3000)).toEqual(['http://[::1]:3000']);
  });
});
