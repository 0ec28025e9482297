import { describe, expect, it } from 'vitest';
import { containerFormat, HEAD_BYTES, TAIL_BYTES } from '../../lambdas/core/inside/formats.js';
import { cpioOf, EICAR, flatPackageOf, hasTool, pbzxOf } from '../support/archives.js';
import { knownBadRecord, storeOf, useLookInside } from '../support/inside.js';

/**
 * macOS flat packages (xar `.pkg`: a `Distribution`, and per component a `Bom`, `PackageInfo` and a `Payload`
 * of the files to install) and the cpio archives their payloads are, built by libarchive's `bsdtar` and GNU
 * `cpio`, opened down to the files they install.
 */

const EICAR_RECORD = knownBadRecord(EICAR, { fileName: 'libffmpeg.dylib', platform: 'macos' });
const store = storeOf(EICAR_RECORD);

const DYLIB = 'Applications/3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
const APP = { [DYLIB]: EICAR, 'Applications/3CX Desktop App.app/Contents/Info.plist': '<plist/>' };
const hasCpio = hasTool('cpio');
const hasPackageTools = hasCpio && hasTool('bsdtar');

const looking = useLookInside();
const scan = (bytes: Buffer, fileName: string | null) => looking.scan(bytes, fileName, store);

const formatOf = (bytes: Buffer) => containerFormat(bytes.subarray(0, HEAD_BYTES), bytes.length >= TAIL_BYTES ? bytes.subarray(-TAIL_BYTES) : new Uint8Array());

describe.skipIf(!hasCpio)('cpio archives', () => {
  it.each(['odc', 'newc', 'crc', 'bin'] as const)('recognises a %s cpio archive by its header, not by its first characters', (format) => {
    expect(formatOf(cpioOf({ 'bin/tool': 'a tool' }, format))).toBe('cpio');
    // Text starting with a cpio magic has no header of digits after it.
    const magic = { odc: Buffer.from('070707'), newc: Buffer.from('070701'), crc: Buffer.from('070702'), bin: Buffer.from([0xc7, 0x71]) }[format];
    expect(formatOf(Buffer.concat([magic, Buffer.from(' is a cpio magic, and this line is prose about it, no header.\n'.repeat(4))]))).toBeNull();
  });

  it.each(['odc', 'newc', 'crc', 'bin'] as const)('finds EICAR in a %s cpio archive, naming the member by its path', async (format) => {
    const file = await scan(cpioOf({ ...APP, 'usr/share/readme.txt': 'read me' }, format), 'payload.cpio');
    expect(file.verdict).toBe('malicious');
    expect(file.inside).toMatchObject({ complete: true, reasons: [], containers: 1, members: 3 });
    expect(file.inside!.matches.map((m) => m.path)).toEqual([[DYLIB]]);
  });
});

describe.skipIf(!hasPackageTools)('macOS flat packages', () => {
  it('finds libffmpeg.dylib in a 3CX-shaped package through its gzip cpio Payload, naming the chain from the package', async () => {
    const file = await scan(flatPackageOf(APP, { component: '3cxdesktopapp' }), '3CXDesktopApp-18.12.416.pkg');
    expect(file.verdict).toBe('malicious');
    // The package's Payload, the cpio inside its gzip stream (named by 7-Zip after the stream), the installed file.
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['3cxdesktopapp.pkg/Payload', 'Payload~', DYLIB]]);
    expect(file.inside!.matches[0]).toMatchObject({ size: 68, md5: '44d88612fea8a8f36de82e1278abb02f' });
    expect(file.inside).toMatchObject({ complete: true, reasons: [], containers: 3 });
  });

  it('leaves a clean package unknown and complete, every file of its payload checked', async () => {
    const file = await scan(flatPackageOf({ 'Applications/Clean.app/Contents/MacOS/Clean': 'a clean binary', 'Applications/Clean.app/Contents/Info.plist': '<plist/>' }), 'Clean.pkg');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: true, reasons: [], containers: 3 });
    const paths = file.inside!.matches;
    expect(paths).toEqual([]);
    // Distribution, PackageInfo, Bom, Payload, the xar's own table of contents, the cpio, and the two installed files.
    expect(file.inside!.members).toBe(8);
  });

  it('answers a package whose Payload is pbzx unsupported at that Payload, never complete', async () => {
    const file = await scan(flatPackageOf(APP, { payload: 'pbzx' }), 'App.pkg');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'unsupported', path: ['app.pkg/Payload'] }] });
  });

  it('recognises a pbzx stream as pbzx, not as the XZ inside it', () => {
    expect(formatOf(pbzxOf(cpioOf({ 'a.txt': 'a' })))).toBe('pbzx');
  });
});
