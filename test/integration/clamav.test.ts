import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { importRecords } from '../../lambdas/core/import.js';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';

/** Debian's clamav package, which .ci/run installs; CI must not pass without it. */
const clamscanVersion = spawnSync('clamscan', ['--version'], { encoding: 'utf8' });
const HAVE_CLAMSCAN = clamscanVersion.status === 0;
const IN_CI = process.env['CI'] === 'true';

if (!HAVE_CLAMSCAN && !IN_CI) {
  console.warn('clamav tests skipped: clamscan is not installed here (apt-get install clamav); CI installs it and runs them.');
}

describe.runIf(!HAVE_CLAMSCAN && IN_CI)('clamscan in CI', () => {
  it('is installed, since .ci/run installs clamav', () => {
    expect.fail('clamscan is missing: .ci/run must install the clamav package so the exports are checked by ClamAV itself');
  });
});

describe.runIf(HAVE_CLAMSCAN)(`exports checked by ClamAV itself (${clamscanVersion.stdout?.trim()})`, () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-clamav-'));
    await writeFile(join(dir, 'eicar.com'), EICAR, 'latin1');
    await writeFile(join(dir, 'random.bin'), randomBytes(4096));
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Saves an export under the file name ClamAV needs for its type. */
  async function download(format: string, fileName: string): Promise<string> {
    const response = await fetch(`${server.url}/v1/exports/${format}`);
    expect(response.status).toBe(200);
    const path = join(dir, fileName);
    await writeFile(path, Buffer.from(await response.arrayBuffer()));
    return path;
  }

  /** clamscan with only the given database loaded: none of ClamAV's own signatures are on this machine or used. */
  function clamscan(database: string, file: string) {
    const run = spawnSync('clamscan', ['--no-summary', '--stdout', '-d', database, join(dir, file)], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  }

  async function eicarSignature(): Promise<string> {
    const iocs = (await (await fetch(`${server.url}/v1/exports/iocs.json`)).json()) as { records: { fileName: string; clamavName: string }[] };
    return iocs.records.find((r) => r.fileName === 'eicar.com')!.clamavName;
  }

  it.each([
    ['clamav.hsb', 'hashcheck.hsb'],
    ['clamav.hdb', 'hashcheck.hdb'],
  ])('loads our %s alone and reports the EICAR file FOUND under our signature name', async (format, fileName) => {
    const database = await download(format, fileName);
    const name = await eicarSignature();
    const { status, output } = clamscan(database, 'eicar.com');
    console.info(`clamscan -d ${fileName} eicar.com: ${output}`);
    expect(output).toContain(`eicar.com: ${name}.UNOFFICIAL FOUND`);
    expect(status).toBe(1);
  });

  it.each([
    ['clamav.hsb', 'hashcheck.hsb'],
    ['clamav.hdb', 'hashcheck.hdb'],
  ])('loads our %s alone and reports a random file OK', async (format, fileName) => {
    const database = await download(format, fileName);
    const { status, output } = clamscan(database, 'random.bin');
    console.info(`clamscan -d ${fileName} random.bin: ${output}`);
    expect(output).toBe(`${join(dir, 'random.bin')}: OK`);
    expect(status).toBe(0);
  });

  it('matches a record with a known size through its exact-size signature', async () => {
    const sample = randomBytes(1234);
    await writeFile(join(dir, 'sized.bin'), sample);
    const digest = (algorithm: string) => createHash(algorithm).update(sample).digest('hex') as HashHex;
    const record = { sha256: digest('sha256'), md5: digest('md5'), size: 1234, fileName: 'sized.bin', platform: 'linux', version: '1', kind: 'payload' as const, stage: 'test', campaign: 'Sample campaign', confidence: 'high', sources: ['test'] };
    await importRecords([record], { store: server.store.hashes, now: () => new Date() });
    for (const [format, fileName, hash] of [
      ['clamav.hsb', 'sized.hsb', digest('sha256')],
      ['clamav.hdb', 'sized.hdb', digest('md5')],
    ] as const) {
      const database = await download(format, fileName);
      const line = (await (await fetch(`${server.url}/v1/exports/${format}`)).text()).split('\n').find((l) => l.startsWith(hash));
      expect(line).toMatch(new RegExp(`^${hash}:1234:Unix\\.Trojan\\.Sample_sized_bin-\\d+-1$`));
      const { status, output } = clamscan(database, 'sized.bin');
      expect(output).toMatch(/sized\.bin: Unix\.Trojan\.Sample_sized_bin-\d+-1\.UNOFFICIAL FOUND/);
      expect(status).toBe(1);
    }
  });
});
