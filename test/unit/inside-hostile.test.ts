import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SevenZipLookInside } from '../../lambdas/adapters/sevenzip-inside.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../../lambdas/core/inside/limits.js';
import type { InsideWorkspace, LookInside } from '../../lambdas/core/inside/look-inside.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { scanStream } from '../../lambdas/core/scan.js';
import {
  EICAR,
  sizeLyingGzip,
  emptyMembersZip,
  hostileNamesZip,
  linkThenFileTar,
  nestedZipBomb,
  overlappingZipBomb,
  sizeLyingZip,
  symlinksZip,
  workFolder,
} from '../support/archives.js';

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex') as HashHex;

const EICAR_RECORD = {
  sha256: sha256(EICAR),
  fileName: 'eicar.com',
  platform: 'any',
  version: '1',
  kind: 'test-file',
  stage: 'payload',
  campaign: 'hostile archives test',
  confidence: 'high',
  sources: ['hostile archives test'],
} as KnownRecord;

const store: HashStore = {
  getMany: async (hashes) => new Map(hashes.flatMap((hash): [HashHex, KnownRecord][] => (hash === EICAR_RECORD.sha256 ? [[hash, EICAR_RECORD]] : []))),
};

/** A store on which every file is listed: the answer then names every member. */
const everything: HashStore = {
  getMany: async (hashes) =>
    new Map(hashes.filter((hash) => hash.length === 64).map((hash): [HashHex, KnownRecord] => [hash, { ...EICAR_RECORD, sha256: hash }])),
};

/**
 * The peak resident memory a look-inside may take the test process to, in MiB: vitest and its fork
 * (about 150 MiB) plus the 300 MiB a scan may hold (the benchmark's target).
 */
const MAX_RSS_MIB = 450;

/** What the scratch folders' parent and the working folder hold, to show nothing was added to either. */
const listing = (folder: string) => readdirSync(folder).sort();

let work: ReturnType<typeof workFolder>;
let scratchParent: string;
let cwdBefore: string[];

beforeAll(() => {
  work = workFolder();
  scratchParent = join(work.path, 'scratch');
  mkdirSync(scratchParent);
  cwdBefore = listing(process.cwd());
});
afterAll(() => work.remove());

/** Scans `bytes` with the default limits (or `limits`), then checks that nothing was left or written beside the scratch folder. */
async function scan(bytes: Buffer, fileName: string, limits: Partial<InsideLimits> = {}, options: { matchAll?: boolean } = {}) {
  const inside = new SevenZipLookInside({ ...DEFAULT_INSIDE_LIMITS, ...limits }, { scratchParent });
  const file = await scanStream((async function* () { yield bytes; })(), { fileName, maxBytes: 256 * 1024 * 1024 }, { store: options.matchAll ? everything : store, inside });
  expect(listing(scratchParent)).toEqual([]);
  expect(listing(process.cwd())).toEqual(cwdBefore);
  return file;
}

/** The peak resident memory of this process so far, in MiB (7-Zip's worker threads included). */
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

describe('hostile archives end within the limits', () => {
  it('stops a 42.zip-style nested bomb at the ratio of each innermost ZIP, extracting none of its zeros', async () => {
    // 8 × 8 × 8 ZIPs of 4 MiB of zeros each: 2 GiB claimed from a few KiB.
    const bomb = nestedZipBomb(8, 3, 4);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const file = await scan(bomb, '42.zip');
    expect(file.verdict).toBe('unknown');
    expect(file.inside).toMatchObject({ complete: false, members: 8 + 64 + 512, containers: 1 + 8 + 64 });
    expect(new Set(file.inside!.reasons.map((r) => r.reason))).toEqual(new Set(['ratio']));
    expect(file.inside!.reasons).toContainEqual({ reason: 'ratio', path: ['layer-7', 'layer-7', 'layer-7'] });
    expect(peakRssMiB()).toBeLessThan(MAX_RSS_MIB);
  });

  it('stops an overlapping-entries bomb (1,000 entries on one 10 MiB kernel) by the bytes it claims, extracting nothing', async () => {
    const bomb = overlappingZipBomb(1000, 10 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(128 * 1024);
    const file = await scan(bomb, 'overlap.zip');
    expect(file.inside).toMatchObject({ complete: false, members: 0, containers: 0, reasons: [{ reason: 'bytes', path: [] }] });
    // Under a byte limit it would pass, its ratio stops it all the same.
    const roomy = await scan(bomb, 'overlap.zip', { maxBytes: 1024 ** 4 });
    expect(roomy.inside).toMatchObject({ complete: false, members: 0, reasons: [{ reason: 'ratio', path: [] }] });
    expect(peakRssMiB()).toBeLessThan(MAX_RSS_MIB);
  });

  it('reports a ZIP member that inflates past the size its headers claim as corrupt, writing no more than claimed', async () => {
    const file = await scan(sizeLyingZip(1000, 8_000_000), 'liar.zip');
    expect(file.inside!.complete).toBe(false);
    expect(file.inside!.reasons).toEqual([{ reason: 'corrupt', path: [] }]);
  });

  it('stops a gzip member that inflates past the size its trailer claims at the byte limit', async () => {
    // Claims 1,000 bytes, inflates to 8 MB: the listing passes every limit, the bytes written do not.
    const file = await scan(sizeLyingGzip(1000, 8_000_000), 'liar.gz', { maxBytes: 1024 * 1024 });
    expect(file.inside).toMatchObject({ complete: false, reasons: [{ reason: 'bytes', path: [] }] });
  });

  it('reads members named with .., absolute names, a NUL and control characters inside the scratch folder only', async () => {
    const file = await scan(hostileNamesZip(), 'names.zip');
    expect(listing('/tmp').filter((name) => name.startsWith('hashcheck-evil'))).toEqual([]);
    // Harmless once kept inside: every member is read, and the answer is complete.
    expect(file.inside).toMatchObject({ complete: true, members: 7, reasons: [] });
  });

  it('answers member names with control characters replaced, so no escape sequence reaches a terminal', async () => {
    const file = await scan(hostileNamesZip(), 'names.zip', {}, { matchAll: true });
    const names = file.inside!.matches.map((m) => m.path.at(-1)!);
    expect(names).toContain('escape_[31mred.txt');
    expect(names).toContain('line_break.txt');
    for (const name of names) expect(name).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('never follows a symbolic link member, to /etc/passwd or out of the scratch folder', async () => {
    const outside = join(work.path, 'outside');
    mkdirSync(outside);
    const file = await scan(symlinksZip(outside), 'links.zip');
    // The links are no members: only the plain file is digested, never /etc/passwd read through a link.
    expect(file.inside).toMatchObject({ complete: true, members: 1 });
    expect(listing(outside)).toEqual([]);
  });

  it('never writes through a symbolic link member to the file it names', async () => {
    const outside = join(work.path, 'kept');
    mkdirSync(outside);
    const target = join(outside, 'passwd');
    writeFileSync(target, 'root:x:0:0:root:/root:/bin/sh\n');
    const file = await scan(linkThenFileTar(target), 'passwd.tar');
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(listing(outside)).toEqual(['passwd']);
    // The member is read from inside the scratch folder, where 7-Zip wrote it in the link's place.
    expect(file.verdict).toBe('malicious');
  });

  it('stops an archive of 300,000 empty members at the member limit by the count it declares, never listing it', async () => {
    const bytes = emptyMembersZip(300_000);
    const inside = new SevenZipLookInside(DEFAULT_INSIDE_LIMITS, { scratchParent });
    let listed = 0;
    // 7-Zip holds a whole central directory to list it: hundreds of MiB for 300,000 entries.
    const counting: LookInside = {
      limits: inside.limits,
      open: (limits): InsideWorkspace => {
        const workspace = inside.open(limits);
        return {
          create: (name) => workspace.create(name),
          ends: (file, head, tail) => workspace.ends(file, head, tail),
          opens: (format) => workspace.opens(format),
          list: (file, max) => ((listed += 1), workspace.list(file, max)),
          extract: (file, max) => workspace.extract(file, max),
          read: (file) => workspace.read(file),
          close: () => workspace.close(),
        };
      },
    };
    const file = await scanStream((async function* () { yield bytes; })(), { fileName: 'empties.zip', maxBytes: 256 * 1024 * 1024 }, { store, inside: counting });
    expect(file.inside).toMatchObject({ complete: false, members: 0, containers: 0, reasons: [{ reason: 'members', path: [] }] });
    expect(listed).toBe(0);
    expect(listing(scratchParent)).toEqual([]);
  });
});
