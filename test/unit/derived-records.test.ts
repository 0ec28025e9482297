import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readRememberContainers } from '../../lambdas/adapters/config.js';
import { containerFileName, mergeSightings, type ContainerSighting } from '../../lambdas/core/derived.js';
import type { FileDigests } from '../../lambdas/core/digest.js';
import { renderExport } from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { RecordStore } from '../../lambdas/core/import.js';
import type { LookedInside } from '../../lambdas/core/inside/look-inside.js';
import { describeDerivation, type KnownRecord } from '../../lambdas/core/records.js';
import { judgeFiles } from '../../lambdas/core/scan.js';
import { signatureName } from '../../lambdas/core/signatures.js';
import { hashVerdictSchema, recordInputSchema } from '../../lambdas/core/schemas.js';

function digestsOf(content: string): FileDigests {
  const hex = (algorithm: string) => createHash(algorithm).update(content).digest('hex') as HashHex;
  return { size: Buffer.byteLength(content), md5: hex('md5'), sha1: hex('sha1'), sha256: hex('sha256') };
}

const MEMBER = digestsOf('trojanized libffmpeg');
const MEMBER_RECORD: KnownRecord = {
  sha256: MEMBER.sha256,
  sha1: MEMBER.sha1,
  md5: MEMBER.md5,
  fileName: 'libffmpeg.dylib',
  platform: 'macos',
  version: '18.12.416',
  kind: 'library',
  stage: 'trojanized library',
  campaign: '3CX DesktopApp supply-chain compromise (2023-03)',
  confidence: 'high',
  sources: ['https://example.com/3cx'],
};
const PATH = ['3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib'];

function insideWith(member: FileDigests): LookedInside {
  return { members: [{ path: PATH, digests: member }], containers: 1, reasons: [] } as unknown as LookedInside;
}

/** A record store in memory that counts its writes, optionally failing them. */
function memoryStore(records: readonly KnownRecord[] = [], options: { failWrites?: boolean } = {}) {
  const byHash = new Map<HashHex, KnownRecord>();
  const put = (record: KnownRecord) => {
    for (const hash of [record.sha256, record.sha1, record.md5]) if (hash) byHash.set(hash, record);
  };
  records.forEach(put);
  const writes: KnownRecord[][] = [];
  const store: RecordStore = {
    getMany: async (hashes) => new Map(hashes.flatMap((h): [HashHex, KnownRecord][] => (byHash.get(h) && !byHash.get(h)!.revoked ? [[h, byHash.get(h)!]] : []))),
    getStored: async (hashes) => new Map(hashes.flatMap((h): [HashHex, KnownRecord][] => (byHash.get(h) ? [[h, byHash.get(h)!]] : []))),
    putRecords: async (written) => {
      if (options.failWrites) throw new Error('the table is away');
      writes.push([...written]);
      written.forEach(put);
    },
  };
  return { store, writes, byHash };
}

const NOW = new Date('2026-03-01T10:00:00.000Z');

describe('judgeFiles remembering containers', () => {
  it('writes one container record per file found bad only through a member, in one write, with the member as provenance', async () => {
    const { store, writes } = memoryStore([MEMBER_RECORD]);
    const dmg = digestsOf('the disk image');
    const clean = digestsOf('a clean archive');

    const verdicts = await judgeFiles(
      [
        { digests: dmg, fileName: 'Downloads/3CXDesktopApp-18.12.416.dmg\u0007', inside: insideWith(MEMBER) },
        { digests: dmg, fileName: 'copy.dmg', inside: insideWith(MEMBER) },
        { digests: clean, fileName: 'clean.zip', inside: insideWith(digestsOf('harmless')) },
      ],
      { store, remember: { store, now: () => NOW }, scan: 'request r-1' },
    );

    expect(verdicts.map((v) => v.verdict)).toEqual(['malicious', 'malicious', 'unknown']);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual([
      {
        sha256: dmg.sha256,
        sha1: dmg.sha1,
        md5: dmg.md5,
        size: dmg.size,
        fileName: '3CXDesktopApp-18.12.416.dmg',
        platform: 'macos',
        version: '18.12.416',
        kind: 'container',
        stage: 'trojanized library',
        campaign: MEMBER_RECORD.campaign,
        confidence: 'high',
        sources: [`hashcheck scan request r-1: contains ${PATH[0]} (libffmpeg.dylib, on the list)`],
        addedAt: NOW.toISOString(),
        derived: {
          member: { path: PATH, sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5 },
          memberRecord: { sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5, fileName: 'libffmpeg.dylib', campaign: MEMBER_RECORD.campaign, kind: 'library' },
          at: NOW.toISOString(),
          scan: 'request r-1',
        },
      },
    ]);
    // Every record written is one the list reads back.
    expect(recordInputSchema.safeParse(writes[0]![0]).success).toBe(true);
  });

  it('keeps the verdict and reports the failure when the record cannot be written', async () => {
    const { store } = memoryStore([MEMBER_RECORD], { failWrites: true });
    const failures: unknown[] = [];

    const [verdict] = await judgeFiles([{ digests: digestsOf('image'), fileName: 'a.dmg', inside: insideWith(MEMBER) }], {
      store,
      remember: { store, now: () => NOW, failed: (error) => failures.push(error) },
    });

    expect(verdict!.verdict).toBe('malicious');
    expect(failures).toEqual([new Error('the table is away')]);
  });
});

describe('mergeSightings', () => {
  const sighting = (i: number): ContainerSighting => {
    const d = digestsOf(`container ${i}`);
    return { sha256: d.sha256, sha1: d.sha1, md5: d.md5, size: d.size, fileName: `c${i}.zip`, path: ['m'], seenAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() };
  };

  it('puts new containers first, keeps at most 20 and says when nothing changed', () => {
    const listed = Array.from({ length: 20 }, (_, i) => sighting(19 - i));
    const merged = mergeSightings(listed, [sighting(20), sighting(21)])!;
    expect(merged.map((s) => s.fileName)).toEqual(['c21.zip', 'c20.zip', ...listed.slice(0, 18).map((s) => s.fileName)]);
    expect(mergeSightings(merged, [{ ...sighting(21), seenAt: '2027-01-01T00:00:00.000Z' }])).toBeUndefined();
  });
});

describe('containerFileName', () => {
  it('keeps the last path segment without control characters, and names a file sent without a name', () => {
    expect(containerFileName('C:\\Users\\a\\setup\u0000.dmg ')).toBe('setup.dmg');
    expect(containerFileName(null)).toBe('unnamed container');
    expect(containerFileName(' \u0001 ')).toBe('unnamed container');
    expect(containerFileName('x'.repeat(600))).toHaveLength(512);
  });
});

describe('derived records in exports and answers', () => {
  const container: KnownRecord = {
    ...digestsOf('the disk image'),
    size: 14,
    fileName: '3CXDesktopApp-18.12.416.dmg',
    platform: 'macos',
    version: '18.12.416',
    kind: 'container',
    stage: 'trojanized library',
    campaign: MEMBER_RECORD.campaign,
    confidence: 'high',
    sources: ['hashcheck scan request r-1: contains libffmpeg.dylib'],
    derived: {
      member: { path: PATH, sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5 },
      memberRecord: { sha256: MEMBER.sha256, fileName: 'libffmpeg.dylib', campaign: MEMBER_RECORD.campaign, kind: 'library' },
      at: NOW.toISOString(),
      scan: 'request r-1',
    },
  };

  it('names a container in ClamAV after the member it was found bad through', () => {
    expect(signatureName(container)).toMatch(/^Osx\.Trojan\.3CX_Container_libffmpeg_dylib-\d+-1$/);
  });

  it('carries the derivation in iocs.json and the container kind in iocs.csv', () => {
    const list = { records: [container], updatedAt: NOW.toISOString() };
    const json = JSON.parse(renderExport('iocs.json', list).body);
    expect(json.records[0]).toMatchObject({ kind: 'container', derived: container.derived, clamavName: signatureName(container) });
    expect(renderExport('iocs.csv', list).body).toContain('"container"');
    expect(renderExport('clamav.hdb', list).body).toBe(`${container.md5}:14:${signatureName(container)}\n`);
  });

  it('documents containedIn on a hash verdict', () => {
    const sighting = { ...digestsOf('c'), size: 1, fileName: 'c.zip', path: ['m'], seenAt: NOW.toISOString() };
    const verdict = { hash: MEMBER.md5, algorithm: 'md5', verdict: 'malicious', match: null, containedIn: [sighting] };
    expect(hashVerdictSchema.parse(verdict)).toEqual(verdict);
  });
});

describe('readRememberContainers', () => {
  it('is on by default and off with HASHCHECK_REMEMBER_CONTAINERS=false', () => {
    expect(readRememberContainers({})).toBe(true);
    expect(readRememberContainers({ HASHCHECK_REMEMBER_CONTAINERS: 'false' })).toBe(false);
    expect(readRememberContainers({ HASHCHECK_REMEMBER_CONTAINERS: 'true' })).toBe(true);
    expect(() => readRememberContainers({ HASHCHECK_REMEMBER_CONTAINERS: 'maybe' })).toThrow(/HASHCHECK_REMEMBER_CONTAINERS/);
  });
});

describe('describeDerivation', () => {
  it('says in one line which member made a container bad, and nothing for a curated record', () => {
    const container = { ...MEMBER_RECORD, kind: 'container' as const, derived: { member: { path: ['a.tar', 'lib/x.so'], sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5 }, memberRecord: { fileName: 'x.so', campaign: 'c', kind: 'library' as const }, at: NOW.toISOString(), scan: 'upload u-1' } };
    expect(describeDerivation(container)).toBe(`contains a.tar > lib/x.so (sha256 ${MEMBER.sha256}, x.so); found by scan upload u-1 at ${NOW.toISOString()}`);
    expect(describeDerivation(MEMBER_RECORD)).toBe('');
  });
});

describe('the command line showing a match', () => {
  it('says a container record is derived and names the member it contains', async () => {
    const { describeMatch } = await import('../../cli/output.js');
    const view = { fileName: 'setup.dmg', platform: 'macos', version: '1', kind: 'container' as const, stage: 's', campaign: 'c', confidence: 'high', sources: ['x'],
      derived: { member: { path: ['App.app/libffmpeg.dylib'], sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5 }, memberRecord: { fileName: 'libffmpeg.dylib', campaign: 'c', kind: 'library' as const }, at: NOW.toISOString(), scan: 'request r' } };
    expect(describeMatch(view)).toBe('setup.dmg (container, derived: contains App.app/libffmpeg.dylib, macos, 1; c)');
  });

  it('takes a derived match from the service as a whole record, keeping its provenance', async () => {
    const { toKnownRecord } = await import('../../cli/answers.js');
    const view = { ...MEMBER_RECORD, sources: [...MEMBER_RECORD.sources], kind: 'container' as const, derived: { member: { path: ['m'], sha256: MEMBER.sha256, sha1: MEMBER.sha1, md5: MEMBER.md5 }, memberRecord: { fileName: 'm', campaign: 'c', kind: 'library' as const }, at: NOW.toISOString(), scan: 'request r' } };
    expect(toKnownRecord(view, 'lookup')).toEqual(view);
  });
});
