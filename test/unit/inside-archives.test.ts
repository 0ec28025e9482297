import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../../lambdas/core/inside/limits.js';
import { scanStream } from '../../lambdas/core/scan.js';
import { knownBadRecord, sha256Of, storeOf, useLookInside } from '../support/inside.js';
import { cabinetOf, compressedOf, EICAR, fatVolumeOf, hasTool, isoOf, udifOf, msiWithCabinet, sevenZipOf, tarOf, traversalTar, zerosZip, zipOf } from '../support/archives.js';

const sha256 = sha256Of;
const EICAR_RECORD = knownBadRecord(EICAR);
/** A store holding EICAR that notes each batch it is asked. */
const eicarStore = () => storeOf(EICAR_RECORD);
const looking = useLookInside();
const scan = (bytes: Buffer, fileName: string | null, limits: Partial<InsideLimits> = {}, store = eicarStore()) => looking.scan(bytes, fileName, store, limits);

describe('looking inside files', () => {
  it('finds EICAR in a ZIP, naming the member and its digests', async () => {
    const file = await scan(zipOf({ 'docs/readme.txt': 'hello', 'tools/eicar.com': EICAR }), 'bundle.zip');
    expect(file.verdict).toBe('malicious');
    expect(file.matches).toEqual([]);
    expect(file.inside).toMatchObject({ members: 2, containers: 1, complete: true, reasons: [] });
    expect(file.inside!.matches).toEqual([
      expect.objectContaining({ path: ['tools/eicar.com'], size: 68, sha256: EICAR_RECORD.sha256, matches: [expect.objectContaining({ kind: 'test-file' })] }),
    ]);
  });

  it('recognises a ZIP by its bytes whatever it is called', async () => {
    const file = await scan(zipOf({ 'eicar.com': EICAR }), 'report.pdf');
    expect(file.verdict).toBe('malicious');
  });

  it('follows a ZIP in a tar.gz in a ZIP with the whole path chain, all members looked up in one batch', async () => {
    const inner = zipOf({ 'bin/ffmpeg.dll': EICAR, 'bin/readme.txt': 'fine' });
    const tarball = tarOf({ 'inner.zip': inner, 'notes.txt': 'notes' }, 'gzip');
    const store = eicarStore();
    const file = await scan(zipOf({ 'setup.tar.gz': tarball }), 'outer.zip', {}, store);
    expect(file.verdict).toBe('malicious');
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['setup.tar.gz', 'setup.tar', 'inner.zip', 'bin/ffmpeg.dll']]);
    expect(file.inside).toMatchObject({ complete: true, containers: 4, members: 6 });
    expect(store.batches).toBe(1);
  });

  it.each(['gzip', 'bzip2', 'xz'] as const)('opens a file compressed alone with %s', async (tool) => {
    const file = await scan(compressedOf('eicar.com', EICAR, tool), null);
    expect(file.verdict).toBe('malicious');
    expect(file.inside).toMatchObject({ complete: true, members: 1 });
  });

  it('opens a tar compressed with bzip2 and with xz', async () => {
    for (const compression of ['bzip2', 'xz'] as const) {
      const file = await scan(tarOf({ 'a/eicar.com': EICAR }, compression), null);
      expect(file.inside!.matches.map((m) => m.path.at(-1))).toEqual(['a/eicar.com']);
    }
  });

  it.skipIf(!hasTool('7zz'))('opens a 7z archive', async () => {
    const file = await scan(sevenZipOf({ 'app/ffmpeg.dll': EICAR, 'app/readme.txt': 'read me' }), 'app.7z');
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['app/ffmpeg.dll']]);
    expect(file.inside!.complete).toBe(true);
  });

  it.skipIf(!hasTool('gcab'))('opens a Microsoft cabinet', async () => {
    const file = await scan(cabinetOf({ 'd3dcompiler_47.dll': EICAR }), null);
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['d3dcompiler_47.dll']]);
  });

  it.skipIf(!hasTool('msibuild') || !hasTool('gcab'))('opens an MSI down to the files of its embedded cabinet', async () => {
    const file = await scan(msiWithCabinet({ 'ffmpeg.dll': EICAR }), 'setup.msi');
    expect(file.verdict).toBe('malicious');
    expect(file.inside!.matches.map((m) => m.path.at(-1))).toEqual(['ffmpeg.dll']);
    expect(file.inside!.complete).toBe(true);
  });

  it.skipIf(!hasTool('genisoimage'))('opens an ISO 9660 image', async () => {
    const file = await scan(isoOf({ 'setup/ffmpeg.dll': EICAR }), 'disc.iso');
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['setup/ffmpeg.dll']]);
  });

  it.skipIf(!hasTool('zstd'))('opens a file compressed alone with zstd', async () => {
    const file = await scan(compressedOf('eicar.com', EICAR, 'zstd'), 'eicar.com.zst');
    expect(file.verdict).toBe('malicious');
    expect(file.inside).toMatchObject({ complete: true, members: 1 });
  });

  it.skipIf(!hasTool('mkfs.fat') || !hasTool('mcopy'))('opens a FAT volume image', async () => {
    const file = await scan(fatVolumeOf({ 'SETUP/FFMPEG.DLL': EICAR }), 'volume.img');
    expect(file.inside!.matches.map((m) => m.path)).toEqual([['SETUP/FFMPEG.DLL']]);
  });

  it.skipIf(!hasTool('mkfs.fat') || !hasTool('mcopy'))(
    'finds libffmpeg.dylib at its app-bundle path in a disk image shaped like the 3CX macOS installer',
    async () => {
      const dylib = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
      const dmg = udifOf(fatVolumeOf({ [dylib]: EICAR, '3CX Desktop App.app/Contents/Info.plist': '<plist/>' }));
      const file = await scan(dmg, '3CXDesktopApp-18.12.416.dmg');
      expect(file.verdict).toBe('malicious');
      expect(file.inside!.matches.map((m) => m.path)).toEqual([[dylib]]);
      expect(file.inside).toMatchObject({ complete: true, members: 2 });
    },
  );

  it('answers a clean archive unknown and complete', async () => {
    const file = await scan(zipOf({ 'setup/app.exe': 'not really an app', 'setup/readme.txt': 'read me' }), 'setup.zip');
    expect(file).toMatchObject({ verdict: 'unknown', inside: { complete: true, members: 2, containers: 1, reasons: [], matches: [] } });
  });

  it('answers a file that is no container complete with no members', async () => {
    const file = await scan(Buffer.from('just some text'), 'notes.txt');
    expect(file.inside).toEqual({ members: 0, containers: 0, complete: true, reasons: [], matches: [] });
  });

  it('reports an encrypted member as encrypted, never as a plain unknown', async () => {
    const file = await scan(zipOf({ 'eicar.com': EICAR, 'open.txt': 'open' }, { password: 'secret' }), 'locked.zip');
    expect(file.verdict).toBe('unknown');
    expect(file.inside!.complete).toBe(false);
    expect(file.inside!.reasons).toContainEqual({ reason: 'encrypted', path: ['eicar.com'] });
  });

  it('reports an encrypted member as encrypted only, also when an empty password passes its check byte', async () => {
    const locked = readFileSync(new URL('../fixtures/zip/empty-password-passes-check.zip', import.meta.url));
    const file = await scan(locked, 'locked.zip');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'encrypted', path: ['eicar.com'] }] });
  });

  it('reports a 7z whose names are encrypted too (-mhe) as encrypted, not corrupt', async () => {
    const file = await scan(sevenZipOf({ 'eicar.com': EICAR }, { headersPassword: 'secret' }), 'locked.7z');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'encrypted', path: [] }] });
  });

  it('reports a truncated tar.xz as corrupt', async () => {
    const whole = tarOf({ 'big.bin': Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)) }, 'xz');
    const file = await scan(whole.subarray(0, whole.length >> 1), 'cut.tar.xz');
    expect(file.inside!.complete).toBe(false);
    expect(file.inside!.reasons).toContainEqual({ reason: 'corrupt', path: expect.any(Array) });
  });

  it('reports a truncated ZIP as corrupt', async () => {
    const whole = zipOf({ 'a.bin': Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 256)), 'b.txt': 'b' });
    const file = await scan(whole.subarray(0, whole.length - 200), 'cut.zip');
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'corrupt', path: [] }] });
  });

  it('stops at a zip bomb by its ratio without extracting it', async () => {
    const file = await scan(zerosZip(20), 'bomb.zip');
    expect(file.inside).toMatchObject({ complete: false, members: 0, reasons: [{ reason: 'ratio', path: [] }] });
  });

  it('stops at the byte limit, still reporting a match found before it', async () => {
    const file = await scan(zipOf({ 'a-eicar.com': EICAR, 'b.bin': Buffer.alloc(4096, 1) }), 'two.zip', { maxBytes: 1000 });
    expect(file.inside!.reasons).toEqual([{ reason: 'bytes', path: [] }]);
    expect(file.verdict).toBe('unknown');
    const nested = await scan(zipOf({ 'a-eicar.com': EICAR, 'z.zip': zipOf({ 'b.bin': Buffer.alloc(4096, 1) }) }), 'nested.zip', { maxBytes: 2000 });
    expect(nested.verdict).toBe('malicious');
    expect(nested.inside!.reasons).toEqual([{ reason: 'bytes', path: ['z.zip'] }]);
  });

  it('stops writing a member that inflates past the byte limit when its container claims no size', async () => {
    // bzip2 records no size: the index claims nothing, so only the bytes written can stop it.
    const file = await scan(compressedOf('zeros.bin', Buffer.alloc(8 * 1024 * 1024), 'bzip2'), 'zeros.bin.bz2', { maxBytes: 1024 * 1024 });
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'bytes', path: [] }] });
    expect(readdirSync(looking.scratchParent())).toEqual([]);
  });

  it('stops at the depth limit and the member limit', async () => {
    const deep = zipOf({ 'l2.zip': zipOf({ 'l3.zip': zipOf({ 'eicar.com': EICAR }) }) });
    const shallow = await scan(deep, 'deep.zip', { maxDepth: 2 });
    expect(shallow.verdict).toBe('unknown');
    expect(shallow.inside!.reasons).toEqual([{ reason: 'depth', path: ['l2.zip', 'l3.zip'] }]);
    const many = await scan(zipOf({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' }), 'many.zip', { maxMembers: 2 });
    expect(many.inside!.reasons).toEqual([{ reason: 'members', path: [] }]);
  });

  it('stops at the member limit for an archive of hundreds of empty members, extracting none of them', async () => {
    const files = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`e/${i}`, '']));
    const file = await scan(zipOf(files), 'empties.zip', { maxMembers: 10 });
    expect(file.inside).toMatchObject({ members: 0, containers: 0, complete: false, reasons: [{ reason: 'members', path: [] }] });
  });

  it('extracts off the event loop: the loop keeps turning while 7-Zip inflates 64 MiB', async () => {
    const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent: looking.scratchParent() });
    const workspace = inside.open(DEFAULT_INSIDE_LIMITS);
    try {
      const sink = workspace.create('zeros.bin.bz2');
      await sink.write(compressedOf('zeros.bin', Buffer.alloc(64 * 1024 * 1024), 'bzip2'));
      const file = await sink.close();
      let extracted = false;
      const extraction = workspace.extract(file, 128 * 1024 * 1024).finally(() => (extracted = true));
      let turns = 0;
      while (!extracted) {
        await new Promise((resolve) => setImmediate(resolve));
        turns += 1;
      }
      expect((await extraction).members).toEqual([{ name: 'zeros.bin', size: 64 * 1024 * 1024 }]);
      // A synchronous extraction would let the loop turn a handful of times at most, before and after it.
      expect(turns).toBeGreaterThan(100);
    } finally {
      await workspace.close();
    }
  });

  it('looks into several files at once through a single shared worker, each in turn', async () => {
    const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent: looking.scratchParent(), maxWorkers: 1 });
    const scanOne = (bytes: Buffer) =>
      scanStream((async function* () { yield bytes; })(), { fileName: null, maxBytes: 1 << 20 }, { store: eicarStore(), inside });
    const files = await Promise.all([1, 2, 3].map((i) => scanOne(zipOf({ [`eicar-${i}.com`]: EICAR }))));
    expect(files.map((file) => file.inside!.matches[0]!.path)).toEqual([['eicar-1.com'], ['eicar-2.com'], ['eicar-3.com']]);
    expect(readdirSync(looking.scratchParent())).toEqual([]);
  });

  it('ends a look-inside at its time limit with the reason', async () => {
    const file = await scan(zipOf({ 'eicar.com': EICAR }), 'slow.zip', { timeMs: 1 });
    expect(file.inside!.reasons).toEqual([{ reason: 'time', path: expect.any(Array) }]);
    expect(file.inside!.complete).toBe(false);
    expect(readdirSync(looking.scratchParent())).toEqual([]);
  });

  it('never writes outside its scratch folder for names with .., absolute names or symbolic links, and leaves nothing behind', async () => {
    const outside = join(looking.workPath(), 'outside');
    mkdirSync(outside);
    const file = await scan(traversalTar(outside), 'hostile.tar');
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(looking.scratchParent())).toEqual([]);
    for (const folder of [looking.workPath(), join(looking.workPath(), '..'), '/']) expect(existsSync(join(folder, 'evil-climbed'))).toBe(false);
    // The members were read where 7-Zip put them, inside the scratch folder: EICAR is still found.
    expect(file.verdict).toBe('malicious');
  });
});
