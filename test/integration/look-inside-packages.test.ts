import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioOf, EICAR, flatPackageOf, hasTool } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';

/**
 * A macOS flat package built like a 3CX installer `.pkg` (xar, by libarchive's bsdtar), whose own hash is on
 * no list, with the EICAR file (on the seed list) standing in for the trojanized `libffmpeg.dylib` inside its
 * gzip'd cpio Payload: answered malicious through `POST /v1/files`, naming the member by its chain.
 */

const DYLIB = 'Applications/3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const APP = { [DYLIB]: EICAR, 'Applications/3CX Desktop App.app/Contents/Info.plist': '<plist/>' };
const hasPackageTools = hasTool('bsdtar') && hasTool('cpio');

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

const postFile = (body: Buffer, fileName: string) =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-file-name': fileName }, body });

describe.skipIf(!hasPackageTools)('POST /v1/files opens macOS flat packages', () => {
  it('answers a 3CX-shaped .pkg malicious, naming libffmpeg.dylib by its chain from the package through the Payload, and its MD5 is then known', async () => {
    const pkg = flatPackageOf(APP, { component: '3cxdesktopapp' });
    const { status, body } = await postFile(pkg, '3CXDesktopApp-18.12.416.pkg');
    expect(status).toBe(200);
    const [file] = body.files;
    expect(file).toMatchObject({ fileName: '3CXDesktopApp-18.12.416.pkg', verdict: 'malicious', matches: [], inside: { complete: true, reasons: [] } });
    expect(file.inside.matches).toEqual([
      expect.objectContaining({ path: ['3cxdesktopapp.pkg/Payload', 'Payload~', DYLIB], md5: '44d88612fea8a8f36de82e1278abb02f', matches: [expect.objectContaining({ kind: 'test-file' })] }),
    ]);

    const md5 = createHash('md5').update(pkg).digest('hex');
    const lookup = await fetchJson(`${server.url}/v1/hashes/${md5}`);
    expect(lookup.body).toMatchObject({ verdict: 'malicious', match: { kind: 'container', derived: { member: { path: ['3cxdesktopapp.pkg/Payload', 'Payload~', DYLIB] } } } });
  });

  it('answers a newer package whose Payload is pbzx unknown and incomplete, unsupported at that Payload', async () => {
    const { body } = await postFile(flatPackageOf(APP, { payload: 'pbzx' }), 'App.pkg');
    expect(body.files[0]).toMatchObject({ verdict: 'unknown', inside: { complete: false, reasons: [{ reason: 'unsupported', path: ['app.pkg/Payload'] }] } });
  });

  it('answers a cpio archive holding EICAR malicious, naming the member', async () => {
    const { body } = await postFile(cpioOf(APP, 'newc'), 'payload');
    expect(body.files[0]).toMatchObject({ verdict: 'malicious', inside: { complete: true, containers: 1 } });
    expect(body.files[0].inside.matches.map((m: { path: string[] }) => m.path)).toEqual([[DYLIB]]);
  });
});
