import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { EICAR, fatVolumeOf, hasTool, tarOf, udifOf, workFolder, zipOf } from '../support/archives.js';

const EICAR_RECORD = {
  sha256: createHash('sha256').update(EICAR).digest('hex') as HashHex,
  fileName: 'eicar.com',
  platform: 'any',
  version: '1',
  kind: 'test-file',
  stage: 'payload',
  campaign: 'trailing data test',
  confidence: 'high',
  sources: ['trailing data test'],
} as KnownRecord;

const store: HashStore = {
  getMany: async (hashes) => new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (hash === EICAR_RECORD.sha256 ? [[hash, EICAR_RECORD]] : []))),
};

let work: ReturnType<typeof workFolder>;
let scratchParent: string;

beforeAll(() => {
  work = workFolder();
  scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
});
afterAll(() => work.remove());

async function scan(bytes: Buffer, fileName: string) {
  const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent });
  const file = await scanStream((async function* () { yield bytes; })(), { fileName, maxBytes: 64 * 1024 * 1024 }, { store, inside });
  expect(readdirSync(scratchParent)).toEqual([]);
  return file;
}

const withFat = hasTool('mkfs.fat') && hasTool('mcopy');

describe('data after the end of a container', () => {
  it.skipIf(!withFat)('leaves a FAT volume whose image has spare zeroed sectors after its file system complete', async () => {
    const volume = Buffer.concat([fatVolumeOf({ 'SETUP/FFMPEG.DLL': EICAR }), Buffer.alloc(256 * 1024)]);
    const file = await scan(volume, 'volume.img');
    expect(file).toMatchObject({ verdict: 'malicious', inside: { complete: true, reasons: [] } });
  });

  it.skipIf(!withFat)('leaves a disk image whose FAT volume has spare sectors complete', async () => {
    const dylib = 'Example.app/Contents/Frameworks/libffmpeg.dylib';
    const dmg = udifOf(Buffer.concat([fatVolumeOf({ [dylib]: EICAR }), Buffer.alloc(512 * 1024)]));
    const file = await scan(dmg, 'Example.dmg');
    expect(file.verdict).toBe('malicious');
    expect(file.inside).toMatchObject({ complete: true, reasons: [] });
    expect(file.inside!.matches.map((m) => m.path.at(-1))).toEqual([dylib]);
  });

  it('leaves a ZIP padded with zeros, or followed by bytes that are no container, complete', async () => {
    const zip = zipOf({ 'readme.txt': 'read me' });
    const padded = await scan(Buffer.concat([zip, Buffer.alloc(4096)]), 'padded.zip');
    expect(padded.inside).toMatchObject({ complete: true, members: 1, reasons: [] });
    const signed = await scan(Buffer.concat([zip, Buffer.from('-----BEGIN SIGNATURE-----\nnot an archive\n')]), 'signed.zip');
    expect(signed.inside).toMatchObject({ complete: true, members: 1, reasons: [] });
  });

  it('reports a second archive appended after a ZIP as trailing, still reading the first', async () => {
    const first = zipOf({ 'readme.txt': 'read me' });
    const hidden = zipOf({ 'eicar.com': EICAR });
    const file = await scan(Buffer.concat([first, hidden]), 'appended.zip');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, members: 1, reasons: [{ reason: 'trailing', path: [] }] });
    // After zeros, too: padding does not hide what follows it.
    const afterZeros = await scan(Buffer.concat([first, Buffer.alloc(10_000), tarOf({ 'eicar.com': EICAR }, 'gzip')]), 'appended.zip');
    expect(afterZeros.inside).toMatchObject({ complete: false, reasons: [{ reason: 'trailing', path: [] }] });
  });
});
