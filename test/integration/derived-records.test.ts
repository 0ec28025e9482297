import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatVolumeOf, hasTool, udifOf, zipOf } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';

/**
 * Remembering the container on the single-machine service: a DMG built like the 3CX macOS installer, its
 * own hash on no list, is scanned through `POST /v1/files`; from then on its MD5 alone is known-bad.
 */

const ADMIN_KEY = 'admin-key';
const DYLIB = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const CAMPAIGN = '3CX DesktopApp supply-chain compromise (2023-03)';
const hasFat = hasTool('mkfs.fat') && hasTool('mcopy');

const digest = (algorithm: string, content: Buffer) => createHash(algorithm).update(content).digest('hex');
const digestsOf = (content: Buffer) => ({ sha256: digest('sha256', content), sha1: digest('sha1', content), md5: digest('md5', content) });

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [], adminKey: ADMIN_KEY });
});

afterAll(async () => {
  await server.stop();
});

const admin = (method: string, hash: string, body: unknown) =>
  fetchJson(`${server.url}/v1/admin/hashes/${hash}`, {
    method,
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const lookup = async (hash: string) => (await fetchJson(`${server.url}/v1/hashes/${hash}`)).body;
const postFile = async (body: Buffer, fileName: string) =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-file-name': fileName }, body });

/** A known-bad stand-in for the trojanized `libffmpeg.dylib`, put on the list through the admin API: fresh bytes per test. */
async function knownBadDylib(): Promise<{ content: Buffer; sha256: string; md5: string }> {
  const content = randomBytes(4096);
  const digests = digestsOf(content);
  const put = await admin('PUT', digests.sha256, {
    sha1: digests.sha1,
    md5: digests.md5,
    size: content.length,
    fileName: 'libffmpeg.dylib',
    platform: 'macos',
    version: '18.12.416',
    kind: 'library',
    stage: 'trojanized library',
    campaign: CAMPAIGN,
    confidence: 'high',
    sources: ['https://example.com/3cx-iocs'],
  });
  expect(put.status).toBe(201);
  return { content, ...digests };
}

function dmgHolding(dylib: Buffer): Buffer {
  return udifOf(fatVolumeOf({ [DYLIB]: dylib, '3CX Desktop App.app/Contents/Info.plist': `<plist>${randomBytes(8).toString('hex')}</plist>` }));
}

describe.skipIf(!hasFat)('remembering the container on the local server', () => {
  it('answers the MD5 of a 3CX-shaped DMG malicious once it was scanned, on GET /v1/hashes and the VirusTotal route', async () => {
    const dylib = await knownBadDylib();
    const dmg = dmgHolding(dylib.content);
    const { md5 } = digestsOf(dmg);
    expect(await lookup(md5)).toMatchObject({ verdict: 'unknown' });

    const scanned = await postFile(dmg, '3CXDesktopApp-18.12.416.dmg');
    expect(scanned.body.files[0]).toMatchObject({ verdict: 'malicious', matches: [], inside: { matches: [{ path: [DYLIB] }] } });

    expect(await lookup(md5)).toMatchObject({
      verdict: 'malicious',
      match: {
        md5,
        kind: 'container',
        fileName: '3CXDesktopApp-18.12.416.dmg',
        campaign: CAMPAIGN,
        derived: { member: { path: [DYLIB], sha256: dylib.sha256 }, memberRecord: { fileName: 'libffmpeg.dylib', kind: 'library' } },
      },
    });
    const report = await fetchJson(`${server.url}/vtapi/v2/file/report?apikey=any&resource=${md5}`);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ response_code: 1, resource: md5, positives: 10, total: 10 });
  });

  it('lists on the member lookup the containers it was found in, the multipart and raw scans alike', async () => {
    const dylib = await knownBadDylib();
    const dmg = dmgHolding(dylib.content);
    const zip = zipOf({ 'mac/libffmpeg.dylib': dylib.content });
    await postFile(dmg, 'first.dmg');
    const form = multipartBody([{ field: 'file', fileName: 'second.zip', content: zip }]);
    await fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body });

    const answer = await lookup(dylib.md5);
    expect(answer.verdict).toBe('malicious');
    expect(answer.containedIn).toHaveLength(2);
    expect(new Set(answer.containedIn.map((c: { md5: string }) => c.md5))).toEqual(new Set([digestsOf(dmg).md5, digestsOf(zip).md5]));
    expect(answer.containedIn.find((c: { fileName: string }) => c.fileName === 'first.dmg')).toMatchObject({ path: [DYLIB], size: dmg.length });
  });

  it('keeps the list version when the same DMG is scanned again', async () => {
    const dylib = await knownBadDylib();
    const dmg = dmgHolding(dylib.content);
    await postFile(dmg, 'setup.dmg');
    const version = server.store.listVersion();

    const again = await postFile(dmg, 'setup.dmg');

    expect(again.body.files[0].matches).toEqual([expect.objectContaining({ kind: 'container', md5: digestsOf(dmg).md5 })]);
    expect(server.store.listVersion()).toBe(version);
    expect((await lookup(dylib.sha256)).containedIn).toHaveLength(1);
  });

  it('does not bring back a derived record an administrator revoked when the file is scanned again', async () => {
    const dylib = await knownBadDylib();
    const dmg = dmgHolding(dylib.content);
    const { md5 } = digestsOf(dmg);
    await postFile(dmg, 'setup.dmg');
    const revoked = await admin('DELETE', md5, { reason: 'the installer was rebuilt clean' });
    expect(revoked.status).toBe(200);

    const again = await postFile(dmg, 'setup.dmg');

    expect(again.body.files[0]).toMatchObject({ verdict: 'malicious', matches: [] });
    expect(await lookup(md5)).toMatchObject({ verdict: 'unknown', match: null });
  });

  it('leaves a curated record of the DMG as it is', async () => {
    const dylib = await knownBadDylib();
    const dmg = dmgHolding(dylib.content);
    const { sha256, md5 } = digestsOf(dmg);
    const curated = {
      fileName: '3CXDesktopApp-18.12.416.dmg',
      platform: 'macos',
      version: '18.12.416',
      kind: 'installer',
      stage: 'trojanized installer',
      campaign: CAMPAIGN,
      confidence: 'high',
      sources: ['https://example.com/curated'],
    };
    await admin('PUT', sha256, curated);
    const before = await lookup(sha256);

    const scanned = await postFile(dmg, 'renamed.dmg');

    expect(scanned.body.files[0].matches).toEqual([expect.objectContaining({ kind: 'installer' })]);
    expect(await lookup(sha256)).toEqual(before);
    expect(before.match.derived).toBeUndefined();
    expect(await lookup(md5)).toMatchObject({ verdict: 'unknown' });
  });
});
