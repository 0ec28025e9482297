import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { closedPort, jsonLines, runHashcheck, startProxy } from './run-hashcheck.js';

const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
const UNKNOWN = '0'.repeat(64);

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-failures-'));
  writeFileSync(join(tmp, 'eicar.com'), EICAR);
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('hashcheck when the service fails', () => {
  it('exits 2 with one line naming the URL and the cause when no service listens there', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;

    const lookup = await runHashcheck(['lookup', '--retries', '1', MSI_MD5], { url });
    expect(lookup.code).toBe(2);
    expect(lookup.stdout).toBe('');
    expect(lookup.stderr).toBe(
      `hashcheck: cannot reach ${url} (connection refused, 2 attempts) during lookup: is the service running? start it with npm start\n`,
    );

    const scan = await runHashcheck(['scan', '--retries', '0', '--url', url, tmp]);
    expect(scan.code).toBe(2);
    expect(scan.stdout).toBe('');
    expect(scan.stderr).toBe(
      `hashcheck: cannot reach ${url} (connection refused) during lookup: is the service running? start it with npm start; the scan stopped after 0 of 1 file\n`,
    );
  });

  it('retries a 429, waiting as Retry-After says, and then answers', async () => {
    let throttled = 0;
    const proxy = await startProxy(server.url, async (req, _body, res) => {
      if (!req.url?.startsWith('/v1/hashes/lookup') || throttled++ > 0) return false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ error: { code: 'rate_limited', message: 'Slow down.', requestId: 'r' } }));
      return true;
    });
    try {
      const run = await runHashcheck(['lookup', '--json', MSI_MD5], { url: proxy.url });

      expect(run.code).toBe(1);
      expect(jsonLines(run.stdout)).toMatchObject([{ hash: MSI_MD5, verdict: 'malicious' }]);
      expect(proxy.requests).toEqual(['POST /v1/hashes/lookup?only=malicious', 'POST /v1/hashes/lookup?only=malicious']);
    } finally {
      await proxy.close();
    }
  });

  it('exits 2 and prints no verdict when an answer leaves a known-bad hash out', async () => {
    const proxy = await startProxy(server.url, async (req, _body, res, forward) => {
      if (!req.url?.startsWith('/v1/hashes/lookup')) return false;
      const answer = JSON.parse((await forward()).body);
      answer.results = answer.results.filter((result: { verdict?: string }) => result.verdict !== 'malicious');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      return true;
    });
    try {
      const run = await runHashcheck(['lookup', '--json', MSI_MD5, UNKNOWN], { url: proxy.url });

      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        "hashcheck: lookup failed: the service's counts (2 hashes, 1 malicious, 1 unknown, 0 invalid) disagree with its 0 results for the 2 hashes sent; a partial answer counts as a failure\n",
      );
    } finally {
      await proxy.close();
    }
  });

  it('sends the API key as x-api-key, and exits 2 saying which setting to check when the key is refused', async () => {
    const proxy = await startProxy(server.url, async (req, _body, res) => {
      if (req.headers['x-api-key'] === 'key-for-ir-team') return false;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'The API key is missing or not valid.', requestId: 'r' } }));
      return true;
    });
    try {
      const accepted = await runHashcheck(['lookup', MSI_MD5], { url: proxy.url, env: { HASHCHECK_API_KEY: 'key-for-ir-team' } });
      expect(accepted.code).toBe(1);

      const refused = await runHashcheck(['lookup', '--api-key', 'stale-key', MSI_MD5], { url: proxy.url });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        'hashcheck: lookup failed: POST /v1/hashes/lookup answered 401 unauthorized (The API key is missing or not valid.): check --api-key (or HASHCHECK_API_KEY)\n',
      );
    } finally {
      await proxy.close();
    }
  });

  it('exits 2 on a 503, never reporting a hash or a file as unknown', async () => {
    await server.store.close();

    const lookup = await runHashcheck(['lookup', '--retries', '1', '--json', MSI_MD5, UNKNOWN], { url: server.url });
    expect(lookup.code).toBe(2);
    expect(lookup.stdout).toBe('');
    expect(lookup.stderr).toMatch(
      /^hashcheck: lookup failed: POST \/v1\/hashes\/lookup answered 503 upstream_unavailable \(.+\) after 2 attempts; nothing was reported as unknown\n$/,
    );

    const scan = await runHashcheck(['scan', '--retries', '0', '--all', tmp], { url: server.url });
    expect(scan.code).toBe(2);
    expect(scan.stdout).toBe('');
    expect(scan.stderr).toMatch(/^hashcheck: lookup failed: .* 503 upstream_unavailable .*; the scan stopped after 0 of 1 file\n$/);
  });
});
