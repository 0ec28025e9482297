import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runHashcheck } from '../cli/run-hashcheck.js';
import { EICAR, fatVolumeOf, hasTool, udifOf } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';

/**
 * A disk image built like the 3CX macOS installer, whose own hash is on no list, with the EICAR file (on
 * the seed list) standing in for the trojanized `libffmpeg.dylib` at its app-bundle path: answered
 * malicious, naming the member and its path, through the presigned upload and the command line, as
 * `POST /v1/files` answers it (test/integration/derived-records.test.ts).
 */

const DYLIB = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const hasFat = hasTool('mkfs.fat') && hasTool('mcopy');

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;
let dmg: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'hashcheck-3cx-'));
  if (hasFat) dmg = udifOf(fatVolumeOf({ [DYLIB]: EICAR, '3CX Desktop App.app/Contents/Info.plist': '<plist/>' }));
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasFat)('a 3CX-shaped disk image', () => {
  it('is answered malicious through the presigned upload, naming libffmpeg.dylib at its app-bundle path, and its MD5 is then known', async () => {
    const created = await fetchJson(`${server.url}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: '3CXDesktopApp-18.12.416.dmg', size: dmg.length }),
    });
    expect(created.status).toBe(201);
    const put = await fetch(created.body.put.url, { method: 'PUT', headers: created.body.put.headers, body: dmg });
    expect(put.status).toBe(200);
    const scan = await pollUntil(async () => {
      const answer = await fetchJson(`${server.url}/v1/uploads/${created.body.uploadId}`);
      return answer.body.status === 'pending' ? undefined : answer.body;
    });
    expect(scan).toMatchObject({ status: 'done', file: { verdict: 'malicious', matches: [], inside: { complete: true, reasons: [] } } });
    expect(scan.file.inside.matches).toEqual([expect.objectContaining({ path: [DYLIB], md5: '44d88612fea8a8f36de82e1278abb02f' })]);

    const md5 = createHash('md5').update(dmg).digest('hex');
    const lookup = await fetchJson(`${server.url}/v1/hashes/${md5}`);
    expect(lookup.body).toMatchObject({ verdict: 'malicious', match: { kind: 'container', derived: { member: { path: [DYLIB] } } } });
  });

  it('is answered malicious by hashcheck scan, which opens it on the client and names the member, exiting 1', async () => {
    const folder = join(tmp, 'downloads');
    mkdirSync(folder);
    writeFileSync(join(folder, '3CXDesktopApp-18.12.416.dmg'), dmg);
    const run = await runHashcheck(['scan', '--json', folder], { url: server.url });
    expect(run.code).toBe(1);
    const [line] = jsonLines(run.stdout);
    expect(line).toMatchObject({ verdict: 'malicious', inside: { complete: true } });
    expect(line.inside.matches.map((m: { path: string[] }) => m.path)).toEqual([[DYLIB]]);
  });
});
