import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import {
  EMPTY_LIST_PLACEHOLDER,
  EXPORT_FORMATS,
  exportList,
  renderExport,
  type ListedRecords,
} from '../../lambdas/core/exports.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { signatureName } from '../../lambdas/core/signatures.js';

const h = (c: string, length: number) => c.repeat(length) as HashHex;

const MSI: KnownRecord = {
  sha256: h('a', 64),
  sha1: h('b', 40),
  md5: h('c', 32),
  fileName: '3cxdesktopapp-18.12.407.msi',
  platform: 'windows',
  version: '18.12.407',
  kind: 'installer',
  stage: 'supply-chain',
  campaign: '3CX DesktopApp supply-chain compromise (2023-03)',
  confidence: 'high',
  sources: ['https://example.com/report', 'vendor feed'],
  addedAt: '2023-03-30T00:00:00.000Z',
};
const SHA1_ONLY: KnownRecord = { ...MSI, sha256: undefined, md5: undefined, sha1: h('1', 40), fileName: '3CXDesktopApp.exe (SHA-1 only)', kind: 'executable' };
const MD5_ONLY: KnownRecord = { ...MSI, sha256: undefined, sha1: undefined, md5: h('2', 32), fileName: 'POOLRAT', platform: 'macos', kind: 'payload' };
const EICAR_SIZED: KnownRecord = {
  ...MSI,
  sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f' as HashHex,
  sha1: '3395856ce81f2b7382dee72602f798b642f14140' as HashHex,
  md5: '44d88612fea8a8f36de82e1278abb02f' as HashHex,
  size: 68,
  fileName: 'eicar.com',
  platform: 'any',
  kind: 'test-file',
  campaign: 'EICAR anti-malware test file',
};

const LIST: ListedRecords = { records: [MSI, SHA1_ONLY, MD5_ONLY, EICAR_SIZED], updatedAt: '2026-01-02T03:04:05.678Z' };
const CLAMAV_NAME = /^[A-Za-z0-9]+\.[A-Za-z0-9]+\.[A-Za-z0-9_]+-\d+-\d+$/;

const lines = (body: string) => body.split('\n').slice(0, -1);

describe('renderExport', () => {
  it.each([
    ['sha256.txt', [EICAR_SIZED.sha256, MSI.sha256]],
    ['sha1.txt', [SHA1_ONLY.sha1, EICAR_SIZED.sha1, MSI.sha1]],
    ['md5.txt', [MD5_ONLY.md5, EICAR_SIZED.md5, MSI.md5]],
  ] as const)('renders %s as an rspamd map: # comments saying what and when, then one sorted digest per line', (format, digests) => {
    const rendered = renderExport(format, LIST);
    const body = lines(rendered.body);
    const comments = body.filter((l) => l.startsWith('#'));
    expect(comments.join('\n')).toContain('known-bad');
    expect(comments.join('\n')).toContain('2026-01-02T03:04:05.678Z');
    expect(body.filter((l) => !l.startsWith('#'))).toEqual([...digests].sort());
    expect(rendered.body.endsWith('\n')).toBe(true);
    expect(rendered.entries).toBe(digests.length);
  });

  it('lists a digest shared by two records once in a map', () => {
    const twin: KnownRecord = { ...MSI, sha1: undefined, md5: undefined, sha256: MSI.sha256, fileName: 'twin' };
    expect(lines(renderExport('sha256.txt', { records: [MSI, twin], updatedAt: undefined }).body).filter((l) => !l.startsWith('#'))).toEqual([MSI.sha256]);
  });

  it('renders clamav.hsb with SHA-256, SHA-1 for records without one, * and level 73 when the size is unknown', () => {
    const body = lines(renderExport('clamav.hsb', LIST).body);
    expect(body).toEqual(
      [
        `${MSI.sha256}:*:${signatureName(MSI)}:73`,
        `${SHA1_ONLY.sha1}:*:${signatureName(SHA1_ONLY)}:73`,
        `${EICAR_SIZED.sha256}:68:${signatureName(EICAR_SIZED)}`,
      ].sort(),
    );
  });

  it('renders clamav.hdb with the MD5 of every record that has one', () => {
    const body = lines(renderExport('clamav.hdb', LIST).body);
    expect(body.map((l) => l.split(':')[0])).toEqual([MD5_ONLY.md5, EICAR_SIZED.md5, MSI.md5].sort());
    expect(body).toContain(`${EICAR_SIZED.md5}:68:${signatureName(EICAR_SIZED)}`);
  });

  it.each(['clamav.hsb', 'clamav.hdb'] as const)('puts nothing in %s that ClamAV would refuse: no comments, no blank lines, names of allowed characters', (format) => {
    const { body } = renderExport(format, LIST);
    for (const line of body.split('\n').slice(0, -1)) {
      expect(line).toMatch(/^[0-9a-f]{32,64}:(\d+:[A-Za-z0-9._-]+|\*:[A-Za-z0-9._-]+:73)$/);
      expect(line.split(':')[2]).toMatch(CLAMAV_NAME);
    }
    expect(body).not.toMatch(/\n\n|^\n|#/);
  });

  it.each(['clamav.hsb', 'clamav.hdb'] as const)('renders an empty %s as one signature that only matches its placeholder text', (format) => {
    const rendered = renderExport(format, { records: [], updatedAt: undefined });
    const digest = createHash(format === 'clamav.hdb' ? 'md5' : 'sha256').update(EMPTY_LIST_PLACEHOLDER).digest('hex');
    expect(rendered.body).toBe(`${digest}:${Buffer.byteLength(EMPTY_LIST_PLACEHOLDER)}:Multios.Test.Hashcheck_empty_list-0-1\n`);
    expect(rendered.entries).toBe(0);
  });

  it('renders iocs.csv with a header row, every field quoted, and formulas defused', () => {
    const hostile: KnownRecord = { ...MD5_ONLY, fileName: '=HYPERLINK("http://x")', version: 'say "hi", then go' };
    const csv = renderExport('iocs.csv', { records: [hostile], updatedAt: undefined }).body;
    const [header, row] = csv.split('\r\n');
    expect(header).toBe('sha256,sha1,md5,size,file_name,platform,version,kind,stage,campaign,confidence,added_at,sources,clamav_name');
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(row).toContain('"say ""hi"", then go"');
    expect(row).toContain('"https://example.com/report | vendor feed"');
  });

  it('renders iocs.json with the records as lookups show them, their ClamAV names and the list date', () => {
    const document = JSON.parse(renderExport('iocs.json', LIST).body);
    expect(document).toMatchObject({ name: 'hashcheck known-bad list', updatedAt: LIST.updatedAt, count: 4 });
    expect(document.records).toContainEqual(expect.objectContaining({ md5: EICAR_SIZED.md5, size: 68, clamavName: signatureName(EICAR_SIZED) }));
  });

  it.each(EXPORT_FORMATS)('gives %s the same bytes and ETag whatever the order records come in', (format) => {
    const a = renderExport(format, LIST);
    const b = renderExport(format, { ...LIST, records: [...LIST.records].reverse() });
    expect(b.body).toBe(a.body);
    expect(b.etag).toBe(a.etag);
    expect(a.etag).toMatch(/^W\/"[0-9a-f]{32}"$/);
  });

  it.each(EXPORT_FORMATS)('gives %s a new ETag when the list changes', (format) => {
    const more: KnownRecord = { ...MSI, sha256: h('d', 64), sha1: h('e', 40), md5: h('f', 32) };
    expect(renderExport(format, { ...LIST, records: [...LIST.records, more] }).etag).not.toBe(renderExport(format, LIST).etag);
  });

  it('dates the export by the list, to the second, and an unwritten list at the epoch', () => {
    expect(renderExport('md5.txt', LIST).lastModified.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(renderExport('md5.txt', { records: [], updatedAt: undefined }).lastModified.getTime()).toBe(0);
  });
});

describe('exportList', () => {
  it('passes a store failure on instead of serving a partial or empty list', async () => {
    const lister = { listRecords: async () => Promise.reject(new UpstreamUnavailableError('down')) };
    await expect(exportList('sha256.txt', { lister })).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('signatureName', () => {
  it('follows Platform.Category.Name-Id-Rev with ClamAV’s characters only', () => {
    expect(signatureName(MSI)).toBe(`Win.Trojan.3cxdesktopapp_18_12_407_msi-${parseInt('aaaaaaa', 16)}-1`);
    expect(signatureName(SHA1_ONLY)).toMatch(/^Win\.Trojan\.3CXDesktopApp_exe-\d+-1$/);
    expect(signatureName(MD5_ONLY)).toMatch(/^Osx\.Trojan\.3CX_POOLRAT-\d+-1$/);
    expect(signatureName(EICAR_SIZED)).toMatch(/^Multios\.Test\.eicar_com-\d+-1$/);
  });

  it.each([
    ['stealer', 'Infostealer'],
    ['other', 'Malware'],
    ['library', 'Trojan'],
  ] as const)('names the category of a %s %s', (kind, category) => {
    expect(signatureName({ ...MSI, kind }).split('.')[1]).toBe(category);
  });

  it('keeps names of hostile file names within ClamAV’s characters and a sane length', () => {
    const name = signatureName({ ...MSI, fileName: '../../etc/passwd:*?\n' + 'z'.repeat(300), campaign: '¡Hola! campaign' });
    expect(name).toMatch(CLAMAV_NAME);
    expect(name.length).toBeLessThan(100);
  });
});
