import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReferenceRows } from '../support/reference.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

const MSI = {
  sha256: 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868',
  sha1: 'bea77d1e59cf18dce22ad9a2fad52948fd7a9efa',
  md5: 'f3d4144860ca10ba60f7ef4d176cc736',
};

let server: Awaited<ReturnType<typeof startTestServer>>;
const rows = readReferenceRows();

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const postLines = (lines: string[], separator = '\n') =>
  fetchJson(`${server.url}/v1/hashes/lookup`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: lines.join(separator),
  });

describe('the local server', () => {
  it('loads the seed list into an empty data folder on first start', () => {
    expect(server.seeded).toBe(true);
    expect(server.knownRecords).toBe(rows.length + 1);
  });

  it.each(Object.entries(MSI))('finds the 18.12.407 MSI by its %s, in upper case too', async (_algorithm, digest) => {
    for (const asked of [digest, digest.toUpperCase()]) {
      const { status, body } = await fetchJson(`${server.url}/v1/hashes/${asked}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ hash: digest, verdict: 'malicious', match: { ...MSI, fileName: '3cxdesktopapp-18.12.407.msi' } });
      expect(body.match.sources).toContain('sophoslabs/IoCs/3CX IoCs 2023-03.csv');
    }
  });

  it('answers unknown, with no match, for a hash not on the list', async () => {
    const hash = randomBytes(32).toString('hex');
    const { status, body } = await fetchJson(`${server.url}/v1/hashes/${hash}`);
    expect(status).toBe(200);
    expect(body).toEqual({ hash, algorithm: 'sha256', verdict: 'unknown', match: null });
  });

  it('answers 400 invalid_hash for xyz', async () => {
    const { status, body } = await fetchJson(`${server.url}/v1/hashes/xyz`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_hash', requestId: expect.any(String) });
  });

  it('finds every row of the 3CX reference by every digest it has, one by one and in bulk', async () => {
    const asked = rows.flatMap((row) => [row.sha256, row.sha1, row.md5].filter(Boolean).map((digest) => ({ row, digest })));
    expect(asked.length).toBe(85);
    for (const { row, digest } of asked) {
      const { body } = await fetchJson(`${server.url}/v1/hashes/${digest}`);
      expect(body.verdict, `reference line ${row.line} by ${digest}`).toBe('malicious');
      expect(body.match.fileName).toBe(row.fileName);
    }
    const { body } = await postLines(asked.map((a) => a.digest));
    expect(body.summary).toEqual({ total: 85, malicious: 85, unknown: 0, invalid: 0 });
    body.results.forEach((result: { match: { fileName: string } }, i: number) => {
      expect(result.match.fileName).toBe(asked[i]!.row.fileName);
    });
  });

  it('answers 10,000 mixed lines in input order with the right verdicts and summary', async () => {
    const known = rows.flatMap((row) => [row.sha256, row.sha1, row.md5].filter(Boolean));
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      switch (i % 5) {
        case 0:
          lines.push(known[i % known.length]!.toUpperCase());
          expected.push('malicious');
          break;
        case 1:
          lines.push(`  ${known[(i * 7) % known.length]}\t`);
          expected.push('malicious');
          break;
        case 2:
          lines.push(randomBytes([16, 20, 32][i % 3]!).toString('hex'));
          expected.push('unknown');
          break;
        case 3:
          lines.push(i % 2 ? 'not-a-hash' : randomBytes(31).toString('hex'));
          expected.push('invalid_hash');
          break;
        default:
          lines.push(` ${randomBytes(32).toString('hex').toUpperCase()} `);
          expected.push('unknown');
      }
    }
    const { status, body } = await postLines(lines, '\r\n');
    expect(status).toBe(200);
    expect(body.results).toHaveLength(10_000);
    expect(body.results.map((r: { input: string }) => r.input)).toEqual(lines);
    expect(body.results.map((r: { verdict?: string; error?: { code: string } }) => r.verdict ?? r.error?.code)).toEqual(expected);
    expect(body.summary).toEqual({ total: 10_000, malicious: 4000, unknown: 4000, invalid: 2000 });
  });

  it('answers 413 payload_too_large for 10,001 hashes and keeps serving', async () => {
    const lines = Array.from({ length: 10_001 }, () => randomBytes(16).toString('hex'));
    const { status, body } = await postLines(lines);
    expect(status).toBe(413);
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain('10000');
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI.md5}`)).body.verdict).toBe('malicious');
  });

  it('refuses a body past the route limit without reading it whole, and keeps serving', async () => {
    const { status, body } = await fetchJson(`${server.url}/v1/hashes/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(7 * 1024 * 1024, 0x61),
    });
    expect(status).toBe(413);
    expect(body.error.code).toBe('payload_too_large');
    expect((await fetchJson(`${server.url}/v1/health`)).status).toBe(200);
  });

  it('answers unknown routes with 404 JSON and wrong methods with 405 and Allow', async () => {
    const missing = await fetchJson(`${server.url}/v2/whatever`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect(missing.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    const wrong = await fetchJson(`${server.url}/v1/hashes/${MSI.md5}`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(wrong.body.error.code).toBe('method_not_allowed');
  });

  it('leaves the list unchanged after garbage input', async () => {
    const garbage = [
      fetchJson(`${server.url}/v1/hashes/lookup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hashes":' }),
      fetchJson(`${server.url}/v1/hashes/lookup`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' }),
      fetchJson(`${server.url}/v1/hashes/lookup`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.from([0xff, 0xfe, 0x00]) }),
      fetchJson(`${server.url}/v1/hashes/%E0%A4%A`),
    ];
    const answers = await Promise.all(garbage);
    expect(answers.map((r) => r.status)).toEqual([400, 415, 415, 404]);
    // UTF-16 bytes are refused, never read into a line that is not a hash.
    expect(answers[2]!.body.error.code).toBe('unsupported_media_type');
    const all = rows.flatMap((row) => [row.sha256, row.sha1, row.md5].filter(Boolean));
    expect((await postLines(all)).body.summary.malicious).toBe(all.length);
  });

  it('serves health and an OpenAPI 3.1 document', async () => {
    expect((await fetchJson(`${server.url}/v1/health`)).body).toEqual({ status: 'ok', service: 'hashcheck' });
    const { body } = await fetchJson(`${server.url}/v1/openapi.json`);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toContain('/v1/hashes/{hash}');
  });
});
