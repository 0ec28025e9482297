import { hostname } from 'node:os';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllowedHosts } from '../../local/auth.js';
import { allowedHostsFor, isAllowedHost, parseHost } from '../../local/allowed-hosts.js';
import { startTestServer } from '../support/local-server.js';
import { parseRawAnswer, sendRaw } from '../support/raw-http.js';

const MSI_SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [] }, { allowedHosts: ['hashcheck.lan', 'scanner.example:8443'] });
});

afterAll(async () => {
  await server.stop();
});

/** GETs a path over loopback with the given Host header, as a browser on a rebound name would send it. */
function getWithHost(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Host names the local server answers to', () => {
  it('answers a foreign Host 421 in the error shape with no data, and serves 127.0.0.1, localhost and [::1] on its port', async () => {
    const { status, body } = await getWithHost('/v1/exports/iocs.csv', `attacker.example:${server.port}`);
    expect(status).toBe(421);
    const error = JSON.parse(body).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(`attacker.example:${server.port}`);
    expect(error.message).toContain('HASHCHECK_ALLOWED_HOSTS');
    expect(body).not.toContain(MSI_SHA256);
    // The same name gets nothing from the lookup API or the web form either.
    expect((await getWithHost(`/v1/hashes/${MSI_SHA256}`, `attacker.example:${server.port}`)).status).toBe(421);
    expect((await getWithHost('/', `attacker.example:${server.port}`)).status).toBe(421);
    for (const name of ['127.0.0.1', 'localhost', 'LocalHost', '[::1]']) {
      const allowed = await getWithHost('/v1/exports/iocs.csv', `${name}:${server.port}`);
      expect(allowed.status, name).toBe(200);
      expect(allowed.body).toContain(MSI_SHA256);
    }
  });

  it('refuses a loopback name with another port, and serves one with none, as rspamd sends it', async () => {
    expect((await getWithHost('/v1/health', `localhost:${server.port + 1}`)).status).toBe(421);
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) expect((await getWithHost('/v1/health', name)).status, name).toBe(200);
    expect((await getWithHost('/v1/health', 'attacker.example')).status).toBe(421);
    expect((await getWithHost('/v1/health', '192.0.2.7')).status).toBe(421);
  });

  it('serves the names of HASHCHECK_ALLOWED_HOSTS: a name alone on any port, a name with a port on that port', async () => {
    for (const host of ['hashcheck.lan', 'hashcheck.lan:8080', 'HASHCHECK.LAN', 'scanner.example:8443']) {
      expect((await getWithHost('/v1/exports/iocs.csv', host)).status, host).toBe(200);
    }
    expect((await getWithHost('/v1/health', 'scanner.example:8444')).status).toBe(421);
    expect((await getWithHost('/v1/health', 'scanner.example')).status).toBe(421);
    expect((await getWithHost('/v1/health', 'evil.hashcheck.lan')).status).toBe(421);
  });

  it('judges an absolute request target by the host it names, whatever the Host header says', async () => {
    const raw = await sendRaw(
      server.url,
      `GET http://attacker.example/v1/exports/iocs.csv HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
      { keepOpen: true },
    );
    expect(parseRawAnswer(raw)!.status).toBe(421);
    expect(raw).not.toContain(MSI_SHA256);
  });
});

describe('allowed host configuration', () => {
  it('reads HASHCHECK_ALLOWED_HOSTS as comma-separated names, and refuses anything that is not a host', () => {
    expect(readAllowedHosts({ HASHCHECK_ALLOWED_HOSTS: ' hashcheck.lan , 10.0.0.5:3000,[fd00::1]:3000,' })).toEqual([
      'hashcheck.lan',
      '10.0.0.5:3000',
      '[fd00::1]:3000',
    ]);
    expect(readAllowedHosts({})).toEqual([]);
    for (const bad of ['http://hashcheck.lan', 'hashcheck.lan/x', 'fd00::1', 'host:99999', 'a b']) {
      expect(() => readAllowedHosts({ HASHCHECK_ALLOWED_HOSTS: bad }), bad).toThrow(/HASHCHECK_ALLOWED_HOSTS/);
    }
  });

  it('adds the address the server listens on, and every address of the machine when it listens on all', () => {
    const specific = allowedHostsFor('192.0.2.7', 3000, []);
    expect(isAllowedHost('192.0.2.7:3000', specific)).toBe(true);
    expect(isAllowedHost('localhost:3000', specific)).toBe(true);
    expect(isAllowedHost('192.0.2.8:3000', specific)).toBe(false);
    // Only the loopback names are answered without a port; any other name without one means port 80.
    expect(isAllowedHost('localhost', specific)).toBe(true);
    expect(isAllowedHost('192.0.2.7', specific)).toBe(false);
    const all = allowedHostsFor('0.0.0.0', 3000, [parseHost('hashcheck.lan')!]);
    expect(isAllowedHost('0.0.0.0:3000', all)).toBe(true);
    expect(isAllowedHost(`${hostname()}:3000`, all)).toBe(true);
    expect(isAllowedHost('hashcheck.lan:3000', all)).toBe(true);
    expect(isAllowedHost('attacker.example:3000', all)).toBe(false);
  });
});
