import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../lambdas/core/errors.js';
import { parseRecordLines } from '../../lambdas/core/seed.js';
import { EICAR, FIXTURE_REFERENCE_CSV, readReferenceRows, SHARED_REFERENCE_CSV } from '../support/reference.js';

const SEED = fileURLToPath(new URL('../../data/known-bad.jsonl', import.meta.url));
const seedText = readFileSync(SEED, 'utf8');
const records = parseRecordLines(seedText, 'known-bad.jsonl');

const validLine = JSON.stringify({
  md5: '44d88612fea8a8f36de82e1278abb02f',
  fileName: 'x',
  platform: 'any',
  version: 'n/a',
  kind: 'other',
  stage: 'test',
  campaign: 'c',
  confidence: 'high',
  sources: ['s'],
});

describe('the seed list', () => {
  it('carries every row of the 3CX reference with all its digests and provenance', () => {
    const rows = readReferenceRows();
    expect(rows.length).toBeGreaterThan(60);
    for (const { line, ...facts } of rows) {
      const row = facts;
      const digest = row.sha256 || row.sha1 || row.md5;
      const record = records.find((r) => r.sha256 === digest || r.sha1 === digest || r.md5 === digest);
      expect(record, `reference line ${line}`).toBeDefined();
      expect({
        sha256: record!.sha256 ?? '',
        sha1: record!.sha1 ?? '',
        md5: record!.md5 ?? '',
        fileName: record!.fileName,
        platform: record!.platform,
        version: record!.version,
        kind: record!.kind,
        stage: record!.stage,
        confidence: record!.confidence,
        sources: record!.sources,
      }).toEqual(facts);
    }
    expect(records.filter((r) => r.kind !== 'test-file')).toHaveLength(rows.length);
  });

  it.runIf(existsSync(SHARED_REFERENCE_CSV))('keeps its copy of the reference equal to the shared reference', () => {
    expect(readFileSync(FIXTURE_REFERENCE_CSV, 'utf8')).toBe(readFileSync(SHARED_REFERENCE_CSV, 'utf8'));
  });

  it('has an EICAR test-file entry whose digests are those of the 68-byte EICAR string', () => {
    expect(Buffer.byteLength(EICAR)).toBe(68);
    const eicar = records.find((r) => r.kind === 'test-file');
    const digest = (algorithm: string) => createHash(algorithm).update(EICAR).digest('hex');
    expect(eicar).toMatchObject({ sha256: digest('sha256'), sha1: digest('sha1'), md5: digest('md5') });
  });
});

describe('parseRecordLines', () => {
  it('skips blank lines and keeps line order', () => {
    expect(parseRecordLines(`\n${validLine}\n\n`)).toHaveLength(1);
  });

  it.each([
    ['garbage JSON', '{"md5":', /line 2: not valid JSON/],
    ['a digest of the wrong length', validLine.replace('44d88612fea8a8f36de82e1278abb02f', 'abc'), /line 2: md5: The hash has 3/],
    ['a SHA-1 in the sha256 field', validLine.replace('"md5"', '"sha256"'), /line 2: sha256: is a md5 digest/],
    ['an unknown kind', validLine.replace('"other"', '"virus"'), /line 2: kind/],
    ['no digest at all', validLine.replace('"md5":"44d88612fea8a8f36de82e1278abb02f",', ''), /line 2: record: a record needs/],
    ['an unknown field', validLine.replace('{', '{"colour":"red",'), /line 2: .*colour/],
    ['no sources', validLine.replace('["s"]', '[]'), /line 2: sources/],
  ])('fails loudly with the line number on %s', (_name, badLine, message) => {
    const content = `${JSON.stringify({ ...JSON.parse(validLine), md5: '0'.repeat(32) })}\n${badLine}\n`;
    expect(() => parseRecordLines(content)).toThrow(InvalidRecordError);
    expect(() => parseRecordLines(content)).toThrow(message);
  });

  it('rejects a digest claimed by two records, naming both lines', () => {
    expect(() => parseRecordLines(`${validLine}\n${validLine}`)).toThrow(/line 2: digest 44d8.* already on line 1/);
  });
});
