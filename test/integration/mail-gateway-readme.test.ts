import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { mapKeys, metaDefenderOutcome, virusTotalOutcome } from '../support/rspamd.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const KEY = 'readme-gateway-key';
const digest = (algorithm: string, data: string) => createHash(algorithm).update(data, 'latin1').digest('hex');
const HAVE_CLAMSCAN = spawnSync('clamscan', ['--version']).status === 0;

/** The fenced code blocks of the README's mail gateway section, in order. */
function gatewayBlocks(): string[] {
  const start = README.indexOf('\n## Use it from your mail gateway\n');
  expect(start, 'the README has the mail gateway section').toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function block(containing: string): string {
  const found = gatewayBlocks().filter((b) => b.includes(containing));
  expect(found, `one README block contains ${containing}`).toHaveLength(1);
  return found[0]!;
}

/** A UCL `name = "value";` setting of an rspamd snippet. */
function setting(snippet: string, name: string): string {
  const match = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)";`, 'm').exec(snippet);
  expect(match, `the snippet sets ${name}`).not.toBeNull();
  return match![1]!;
}

/** Runs a shell script without blocking this process, which also serves the requests the script makes. */
function runShell(script: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let server: Awaited<ReturnType<typeof startTestServer>>;
/** Fills the README's placeholders as an operator would, for the local server. */
const fill = (text: string) => text.replaceAll('HASHCHECK_URL', server.url).replaceAll('HASHCHECK_KEY', KEY);

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [KEY] });
});

afterAll(async () => {
  await server.stop();
});

describe('the README’s rspamd snippets, filled in and called as rspamd calls them', () => {
  it('virustotal: the EICAR attachment’s MD5 scores high and an unknown one is clean', async () => {
    const snippet = block('virustotal {');
    expect(setting(snippet, 'type')).toBe('virustotal');
    const url = fill(setting(snippet, 'url'));
    const apikey = fill(setting(snippet, 'apikey'));
    const ask = async (md5: string) => {
      const response = await fetch(`${url}/report?apikey=${apikey}&resource=${md5}`);
      return virusTotalOutcome(response.status, await response.text());
    };
    expect(await ask(digest('md5', EICAR))).toBe('high');
    expect(await ask(digest('md5', 'a harmless attachment'))).toBe('clean');
  });

  it('metadefender: the EICAR attachment’s SHA-256 scores high and an unknown one is clean', async () => {
    const snippet = block('metadefender {');
    expect(setting(snippet, 'type')).toBe('metadefender');
    const url = fill(setting(snippet, 'url'));
    const apikey = fill(setting(snippet, 'apikey'));
    const ask = async (sha256: string) => {
      const response = await fetch(`${url}/${sha256}`, { headers: { apikey } });
      return metaDefenderOutcome(response.status, await response.text());
    };
    expect(await ask(digest('sha256', EICAR))).toBe('high');
    expect(await ask(digest('sha256', 'a harmless attachment'))).toBe('clean');
  });

  it('multimap: the map holds the EICAR attachment’s SHA-256, and rspamd’s conditional HEAD is answered 304', async () => {
    const snippet = block('multimap.conf');
    expect(setting(snippet, 'selector')).toBe("attachments('hex', 'sha256')");
    const map = fill(setting(snippet, 'map'));
    const response = await fetch(map);
    expect(response.status).toBe(200);
    expect(mapKeys(await response.text())).toContain(digest('sha256', EICAR));
    const check = await fetch(map, {
      method: 'HEAD',
      headers: { 'if-none-match': response.headers.get('etag')!, 'if-modified-since': response.headers.get('last-modified')! },
    });
    expect(check.status).toBe(304);
  });
});

describe.runIf(HAVE_CLAMSCAN || process.env['CI'] === 'true')('the README’s ClamAV steps, run as they are', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-readme-clamav-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('set the variables the steps use', () => {
    const variables = block('CLAMAV_DB=/var/lib/clamav');
    for (const name of ['HASHCHECK_URL', 'HASHCHECK_KEY', 'CLAMAV_DB']) expect(variables).toMatch(new RegExp(`\\b${name}=`));
  });

  it('fetch both databases and make clamscan name the EICAR file with the output the README shows', async () => {
    const steps = block('for db in hsb hdb');
    const shown = block('.UNOFFICIAL FOUND').trim();
    const run = await runShell(steps, { cwd: dir, env: { ...process.env, HASHCHECK_URL: server.url, HASHCHECK_KEY: KEY, CLAMAV_DB: dir } });
    console.info(`README ClamAV steps: exit ${run.status}\n${run.stdout}${run.stderr}`);
    expect(existsSync(join(dir, 'hashcheck.hsb'))).toBe(true);
    expect(existsSync(join(dir, 'hashcheck.hdb'))).toBe(true);
    expect(existsSync(join(dir, 'hashcheck.hsb.part'))).toBe(false);
    // The README shows the answer for a file written in /home/you; clamscan names it by its full path.
    expect(run.stdout.trim()).toBe(shown.replace('/home/you/', `${realpathSync(dir)}/`));
    // clamscan exits 1 when it finds something.
    expect(run.status).toBe(1);
  });
});
