import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../cli/import-command.js';
import { fileLine, splitImport, type FeedChunk } from '../../cli/feed-chunks.js';
import { startTestServer } from '../support/local-server.js';
import { closedPort, jsonLines, runHashcheck } from './run-hashcheck.js';
import { referenceSignature } from './sigv4-reference.js';

const ADMIN_KEY = 'k';
const MIB = 1024 * 1024;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;
/** The environment of an administrator of the local server. */
let admin: { url: string; env: Record<string, string> };

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-cli-import-'));
  admin = { url: server.url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } };
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A request as the fake service got it. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A stand-in for the service on 127.0.0.1 that records every request and answers as `answer` says, for what
 * the local server never does (a failure part way through a feed) or cannot check (a SigV4 signature).
 */
async function startFakeService(answer: (request: Received, index: number) => { status: number; json: unknown }) {
  const requests: Received[] = [];
  const fake = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(request);
    const { status, json } = answer(request, requests.length - 1);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const { port } = fake.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      fake.closeAllConnections();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    },
  };
}

const reportOf = (format: string, added: number) => ({ format, total: added, added, updated: 0, unchanged: 0, revoked: 0, rejected: [] });

/** `count` JSON Lines records of about 2 KiB each, valid for an import. */
function bulkRecords(count: number): string[] {
  const source = `https://example.org/reports/${'x'.repeat(1800)}`;
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ sha256: sha256(`bulk ${i}`), fileName: `bulk-${i}.dll`, campaign: 'Bulk feed', sources: [source] }),
  );
}

/** The records of a chunk of a plain list: its lines. */
const lineCount = (chunk: FeedChunk) => chunk.body.toString('utf8').trim().split('\n').length;

function writeTmp(name: string, content: string | Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

describe('hashcheck import', () => {
  it('imports a STIX bundle, exits 1 for its one rejected indicator, and a second import leaves everything unchanged', async () => {
    const first = await runHashcheck(['import', '--json', fixture('stix-bundle.json')], admin);

    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toEqual({
      format: 'stix',
      total: 3,
      added: 2,
      updated: 0,
      unchanged: 0,
      revoked: 0,
      rejected: [{ line: null, input: 'indicator--0b1f6e34-a1f5-4b3c-9b55-1fd2e1b7c7a1', reason: expect.stringContaining('not-a-hash') }],
      requests: 1,
    });
    expect(first.stderr).toBe('hashcheck: 1 of 3 inputs was rejected and not imported; the rest were imported\n');

    const again = await runHashcheck(['import', fixture('stix-bundle.json')], admin);

    expect(again.code).toBe(1);
    const lines = again.stdout.split('\n');
    expect(lines[0]).toBe('imported stix-bundle.json (STIX bundle, 3 inputs, 1 request):');
    expect(lines.slice(1, 6).map((line) => line.trim().split(/\s+/).slice(0, 2))).toEqual([
      ['added', '0'],
      ['updated', '0'],
      ['unchanged', '2'],
      ['revoked', '0'],
      ['rejected', '1'],
    ]);
    expect(lines[7]).toMatch(/^LINE\s+INPUT\s+REASON$/);
    expect(lines[8]).toMatch(/^-\s+indicator--0b1f6e34-a1f5-4b3c-9b55-1fd2e1b7c7a1\s+not-a-hash: /);
  });

  it('imports a MISP event, every hash attribute becoming a record and the bad one rejected', async () => {
    const run = await runHashcheck(['import', '--json', fixture('misp-event.json')], admin);

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ format: 'misp', added: 3, rejected: [{ line: null, input: 'a1000000-0000-4000-8000-000000000004' }] });
  });

  it('imports a plain list with --campaign and --source, after which hashcheck lookup finds its hashes', async () => {
    const hash = sha256('dropper of incident 42');
    const list = writeTmp('incident-42.txt', `# from the EDR\n${hash}  C:\\Users\\Public\\dropper.exe\n`);

    const run = await runHashcheck(['import', '--campaign', 'Incident 42', '--source', 'EDR export (2024-05)', list], admin);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^imported incident-42\.txt \(plain hash list, 1 input, 1 request\):\n\s+added\s+1\n/);
    expect(run.stderr).toBe('');
    const lookup = await runHashcheck(['lookup', '--json', hash], { url: server.url });
    expect(lookup.code).toBe(1);
    expect(jsonLines(lookup.stdout)).toMatchObject([
      { verdict: 'malicious', match: { fileName: 'dropper.exe', campaign: 'Incident 42', sources: ['EDR export (2024-05)'] } },
    ]);
  });

  it('reports rejected lines by their line numbers, here from standard input, and exits 1', async () => {
    const list = `${sha256('one')}\nnot a hash\n\n${sha256('two')}\n`;

    const run = await runHashcheck(['import', '--json', '--campaign', 'c', '--source', 's', '-'], { ...admin, input: list });

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ format: 'plain', total: 3, added: 2 });
    expect(report.rejected).toEqual([{ line: 2, input: 'not a hash', reason: expect.any(String) }]);
  });

  it('exits 2 with the service message when a plain list comes without --campaign', async () => {
    const list = writeTmp('no-campaign.txt', `${sha256('orphan')}\n`);

    const run = await runHashcheck(['import', '--source', 'somewhere', list], admin);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^hashcheck: import of .*no-campaign\.txt failed: POST \/v1\/admin\/imports answered 400 invalid_request \(A plain hash list carries no provenance: .*\): give --campaign and --source\n$/,
    );
  });

  it('exits 2 naming HASHCHECK_ADMIN_KEY when the admin key is wrong or missing', async () => {
    const wrong = await runHashcheck(['import', fixture('misp-event.json')], { url: server.url, env: { HASHCHECK_ADMIN_KEY: 'guess' } });

    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toBe(
      'hashcheck: import of ' +
        fixture('misp-event.json') +
        ' failed: POST /v1/admin/imports answered 403 unauthorized (This key may not change the list.): check --admin-key ' +
        '(or HASHCHECK_ADMIN_KEY): it must be the HASHCHECK_ADMIN_KEY the service was started with\n',
    );

    const none = await runHashcheck(['import', fixture('misp-event.json')], { url: server.url });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^hashcheck: no admin credentials for http:\/\/127\.0\.0\.1:\d+: give --admin-key or set HASHCHECK_ADMIN_KEY .*\n$/);
  });

  it('splits a JSON Lines file too large for one request into requests of whole records, and every record is added', async () => {
    const lines = bulkRecords(Math.ceil((6.5 * MIB) / 1900));
    expect(lines.join('\n').length).toBeGreaterThan(6.5 * MIB);
    const feed = writeTmp('bulk.jsonl', `${lines.join('\n')}\n`);

    const run = await runHashcheck(['import', '--json', '--timeout', '120', feed], admin);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toEqual({ format: 'jsonl', total: lines.length, added: lines.length, updated: 0, unchanged: 0, revoked: 0, rejected: [], requests: 7 });
    const last = await runHashcheck(['lookup', '--json', sha256(`bulk ${lines.length - 1}`)], { url: server.url });
    expect(jsonLines(last.stdout)).toMatchObject([{ verdict: 'malicious', match: { fileName: `bulk-${lines.length - 1}.dll` } }]);
  });

  it('refuses a STIX bundle too large for one request with exit 2 before sending anything, since JSON cannot be split', async () => {
    const bundle = { type: 'bundle', id: 'bundle--big', objects: [{ type: 'note', id: 'note--1', content: 'x'.repeat(6.5 * MIB) }] };
    const feed = writeTmp('big-bundle.json', JSON.stringify(bundle));
    const url = `http://127.0.0.1:${await closedPort()}`;

    const run = await runHashcheck(['import', feed], { url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } });

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `hashcheck: ${feed} is a STIX bundle of 6.5 MiB, over the 4.0 MiB the service takes in one request, and one JSON document ` +
        'cannot be split into whole records: export it in smaller parts\n',
    );
  });

  it('refuses a JSON document cut short with exit 2 before sending anything, instead of importing its whole lines', async () => {
    const record = JSON.stringify({ sha256: sha256('cut short'), fileName: 'cut.dll', campaign: 'Cut feed', sources: ['https://example.org/cut'] });
    const feed = writeTmp('cut-short.json', `{"records":[\n${record},\n${record.slice(0, 40)}`);
    const fake = await startFakeService(() => ({ status: 200, json: reportOf('jsonl', 1) }));
    try {
      const run = await runHashcheck(['import', feed], { url: fake.url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } });

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^hashcheck: ${feed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: The import starts like JSON but is not valid JSON .*cut short\\? Nothing was imported`));
      expect(fake.requests).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('checks a feed with --dry-run without sending it or needing a key', async () => {
    const csv = writeTmp('vendor.csv', `sha256,file_name,campaign,sources\n${sha256('a')},a.exe,Vendor,https://vendor.example\nzz,b.exe,Vendor,x\n`);
    const url = `http://127.0.0.1:${await closedPort()}`;

    const run = await runHashcheck(['import', '--dry-run', '--json', csv], { url });

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      dryRun: true,
      format: 'csv',
      total: 2,
      valid: 1,
      rejected: [{ line: 3, input: 'zz,b.exe,Vendor,x', reason: expect.stringContaining('zz') }],
      requests: 1,
    });
    expect(run.stderr).toBe('hashcheck: 1 of 2 inputs would be rejected; the rest would be imported\n');
  });

  it('signs the request with SigV4 over exactly what it sends, with --aws-sigv4', async () => {
    const fake = await startFakeService(() => ({ status: 200, json: reportOf('plain', 1) }));
    const list = writeTmp('signed.txt', `${sha256('signed')}\n`);
    const credentials = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'session-token' };
    try {
      const run = await runHashcheck(['import', '--aws-sigv4', '--region', 'eu-west-1', '--campaign', "Incident 42 (O'Brien)", '--source', 'a+b', list], {
        url: `${fake.url}/prod`,
        env: {
          ...credentials,
          // Only the environment's credentials: no profile, no files, never the instance metadata service.
          AWS_PROFILE: '',
          AWS_CONFIG_FILE: join(tmp, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(fake.requests).toHaveLength(1);
      const request = fake.requests[0]!;
      expect(request.url).toBe("/prod/v1/admin/imports?format=plain&campaign=Incident%2042%20%28O%27Brien%29&source=a%2Bb");
      expect(request.headers['x-api-key']).toBeUndefined();
      expect(request.headers['x-amz-security-token']).toBe('session-token');
      const authorization = request.headers['authorization']!;
      const match = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(authorization);
      expect(match).not.toBeNull();
      const [, day, signedHeaders, signature] = match!;
      expect(signedHeaders).toBe('content-type;host;x-amz-date;x-amz-security-token');
      expect(request.headers['x-amz-date']!.slice(0, 8)).toBe(day);
      expect(signature).toBe(referenceSignature(request, signedHeaders!.split(';'), { region: 'eu-west-1', secret: credentials.AWS_SECRET_ACCESS_KEY }));
    } finally {
      await fake.close();
    }
  });

  it('exits 2 without sending anything when --aws-sigv4 finds no AWS credentials', async () => {
    const fake = await startFakeService(() => ({ status: 500, json: {} }));
    try {
      const run = await runHashcheck(['import', '--aws-sigv4', '--region', 'eu-west-1', fixture('stix-bundle.json')], {
        url: fake.url,
        env: {
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_PROFILE: '',
          AWS_CONFIG_FILE: join(tmp, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-credentials'),
          AWS_WEB_IDENTITY_TOKEN_FILE: '',
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
          AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^hashcheck: no AWS credentials to sign the request with \(.+\): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with aws sso login\n$/,
      );
      expect(fake.requests).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('stops when a request of a split feed keeps failing, once the others in flight are answered, saying how many records were written', async () => {
    const hashes = Array.from({ length: 40_000 }, (_, i) => sha256(`partial ${i}`));
    const list = `${hashes.join('\n')}\n`;
    const chunks = splitImport(Buffer.from(list), 'plain', CHUNK_BYTES);
    expect(chunks).toHaveLength(3);
    const feed = writeTmp('partial.txt', list);
    // The second request always fails; the first and the third are imported.
    const failing = chunks[1]!.body.subarray(0, 64).toString();
    const fake = await startFakeService((request) => {
      if (request.body.subarray(0, 64).toString() === failing) {
        return { status: 503, json: { error: { code: 'upstream_unavailable', message: 'The list could not be written.' } } };
      }
      return { status: 200, json: reportOf('plain', request.body.toString('utf8').trim().split('\n').length) };
    });
    try {
      const run = await runHashcheck(['import', '--retries', '1', '--campaign', 'c', '--source', 's', feed], {
        url: fake.url,
        env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY },
      });

      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      // The failing request twice (one retry), the others once.
      expect(fake.requests).toHaveLength(4);
      const written = (lineCount(chunks[0]!) + lineCount(chunks[2]!)).toLocaleString('en-US');
      expect(run.stderr).toBe(
        `hashcheck: import of ${feed} (request 2 of 3) failed: POST /v1/admin/imports answered 503 upstream_unavailable ` +
          `(The list could not be written.) after 2 attempts; 2 of 3 requests were imported (${written} records written: ${written} added, ` +
          '0 updated; 0 unchanged), the others not or only in part: imports are idempotent, so running the same command again is ' +
          'safe and finishes the import\n',
      );
    } finally {
      await fake.close();
    }
  });

  it('sends a request again when the service fails it with 500, and the import goes on', async () => {
    const fake = await startFakeService((_request, index) =>
      index < 2 ? { status: 500, json: { error: { code: 'internal', message: 'Something went wrong.' } } } : { status: 200, json: reportOf('plain', 1) },
    );
    const list = writeTmp('flaky.txt', `${sha256('flaky')}\n`);
    try {
      const run = await runHashcheck(['import', '--json', '--campaign', 'c', '--source', 's', list], { url: fake.url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } });

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(fake.requests).toHaveLength(3);
      expect(new Set(fake.requests.map((request) => request.body.toString()))).toEqual(new Set([`${sha256('flaky')}\n`]));
      expect(JSON.parse(run.stdout)).toMatchObject({ total: 1, added: 1, requests: 1 });
    } finally {
      await fake.close();
    }
  });

  it('exits 2 naming the 500 and the attempts when a request keeps failing with it', async () => {
    const fake = await startFakeService(() => ({ status: 500, json: { error: { code: 'internal', message: 'Something went wrong.' } } }));
    const list = writeTmp('broken.txt', `${sha256('broken')}\n`);
    try {
      const run = await runHashcheck(['import', '--retries', '1', '--campaign', 'c', '--source', 's', list], { url: fake.url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } });

      expect(run.code).toBe(2);
      expect(fake.requests).toHaveLength(2);
      expect(run.stderr).toBe(`hashcheck: import of ${list} failed: POST /v1/admin/imports answered 500 internal (Something went wrong.) after 2 attempts\n`);
    } finally {
      await fake.close();
    }
  });

  it('sends the requests of a split feed --concurrency at once, never more, and lists rejected lines in the file\'s order', async () => {
    const hashes = Array.from({ length: 110_000 }, (_, i) => sha256(`parallel ${i}`));
    const list = `${hashes.join('\n')}\n`;
    const chunks = splitImport(Buffer.from(list), 'plain', CHUNK_BYTES);
    expect(chunks).toHaveLength(7);
    const feed = writeTmp('parallel.txt', list);
    const limit = 3;
    // Each request is held until as many are in flight as may be (3, or what is left), then all are
    // answered, the last one first: a command sending one at a time would never be answered. Every
    // chunk's report rejects its first line.
    let inFlight = 0;
    let most = 0;
    let answered = 0;
    const held: (() => void)[] = [];
    const fake = createServer(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      const lines = Buffer.concat(parts).toString('utf8').trim().split('\n').length;
      most = Math.max(most, ++inFlight);
      held.push(() => {
        inFlight--;
        answered++;
        const report = { ...reportOf('plain', lines - 1), total: lines, rejected: [{ line: 1, input: 'x', reason: 'not a hash' }] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      });
      if (held.length === Math.min(limit, chunks.length - answered)) while (held.length > 0) held.pop()!();
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const run = await runHashcheck(['import', '--json', '--retries', '0', '--concurrency', String(limit), '--campaign', 'c', '--source', 's', feed], {
        url,
        env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY },
      });

      expect(run.stderr).toBe('hashcheck: 7 of 110,000 inputs were rejected and not imported; the rest were imported\n');
      expect(run.code).toBe(1);
      expect(most).toBe(limit);
      const report = JSON.parse(run.stdout);
      expect(report).toMatchObject({ format: 'plain', total: 110_000, added: 110_000 - 7, requests: 7 });
      expect(report.rejected.map((rejected: { line: number }) => rejected.line)).toEqual(chunks.map((chunk) => fileLine(chunk, 1)).sort((a, b) => a - b));
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('imports a list of 100,000 SHA-256 hashes in requests of 1 MiB, every record counted, and a second run finds them all unchanged', async () => {
    const hashes = Array.from({ length: 100_000 }, (_, i) => sha256(`hundred thousand ${i}`));
    const feed = writeTmp('100k.txt', `${hashes.join('\n')}\n`);
    const args = ['import', '--json', '--campaign', 'Vendor feed', '--source', 'https://vendor.example/full', feed];

    const first = await runHashcheck(args, admin);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ format: 'plain', total: 100_000, added: 100_000, updated: 0, unchanged: 0, revoked: 0, rejected: [], requests: 7 });

    const again = await runHashcheck(args, admin);

    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ format: 'plain', total: 100_000, added: 0, updated: 0, unchanged: 100_000, revoked: 0, rejected: [], requests: 7 });
    const middle = await runHashcheck(['lookup', '--json', hashes[50_000]!], { url: server.url });
    expect(jsonLines(middle.stdout)).toMatchObject([{ verdict: 'malicious', match: { campaign: 'Vendor feed' } }]);
  });

  it('exits 2 with one line when no service listens at the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;

    const run = await runHashcheck(['import', '--retries', '0', fixture('stix-bundle.json')], { url, env: { HASHCHECK_ADMIN_KEY: ADMIN_KEY } });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `hashcheck: cannot reach ${url} (connection refused) during import of ${fixture('stix-bundle.json')}: is the service running? start it with npm start\n`,
    );
  });

  // Last: it stops the server's store.
  it('exits 2 on a 503 when the list cannot be written', async () => {
    await server.store.close();

    const run = await runHashcheck(['import', '--retries', '0', fixture('misp-event.json')], admin);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^hashcheck: import of .*misp-event\.json failed: POST \/v1\/admin\/imports answered 503 upstream_unavailable \(.+\)\n$/);
  });
});
