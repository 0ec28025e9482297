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

/** Asks whether a page from `origin` may send a browser upload to `url`, as Chromium does first for another origin. */
function preflight(url: string, origin: string, method = 'POST') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type' },
  });
}

/** An upload URL of this server, as `POST /v1/uploads` answers it. */
async function uploadUrl(): Promise<string> {
  const created = await fetchJson(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileName: 'big.bin', size: 10 }),
  });
  expect(created.status).toBe(201);
  return created.body.post.url;
}

describe('the web form on the local server', () => {
  it('serves the page at / with a strict CSP that lets it call its own origin only, uploads included', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toBe(webFormContentSecurityPolicy([]));
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self';");
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

  it('takes the page\'s uploads on its own origin, and lets no page of another origin send one', async () => {
    const url = await uploadUrl();
    expect(url.startsWith(`${server.url}/uploads/`)).toBe(true);
    for (const origin of [...localPageOrigins('127.0.0.1', server.port), 'http://127.0.0.1:1', 'https://attacker.example']) {
      const answer = await preflight(url, origin);
      expect(answer.status, origin).toBe(204);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(answer.headers.get('access-control-allow-methods'), origin).toBeNull();
    }
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
