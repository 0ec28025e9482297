import { describe, expect, it } from 'vitest';
import { bulkAnswerSchema, filesAnswerSchema, readAnswer, toKnownRecord } from '../../cli/answers.js';
import { ServiceError } from '../../cli/errors.js';
import { describeMatch } from '../../cli/output.js';
import type { RecordView } from '../../lambdas/core/schemas.js';

const MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';
const match: RecordView = {
  md5: MD5,
  size: 12,
  fileName: 'setup.msi',
  platform: 'windows',
  version: '1.0',
  kind: 'installer',
  stage: 'supply-chain',
  campaign: 'Test campaign',
  confidence: 'high',
  sources: ['report'],
  addedAt: '2026-01-01T00:00:00.000Z',
};

describe('readAnswer', () => {
  it('names every field of an answer that is not in the documented shape', () => {
    const file = { fileName: 'a', size: 1, md5: MD5.toUpperCase(), sha1: '1'.repeat(40), sha256: '2'.repeat(64), verdict: 'clean', matches: [] };
    expect(() => readAnswer(filesAnswerSchema, { files: [file] }, 'scan')).toThrow(ServiceError);
    expect(() => readAnswer(filesAnswerSchema, { files: [file] }, 'scan')).toThrow(/scan failed: .*\(files\.0\.md5: .*; files\.0\.verdict: .*\)$/);
    expect(() => readAnswer(bulkAnswerSchema, { results: [] }, 'lookup')).toThrow(/\(summary: /);
  });

  it('keeps the fields a file verdict documents, size and time added of its matches included, and drops those it does not know', () => {
    const file = { fileName: null, size: 12, md5: MD5, sha1: '1'.repeat(40), sha256: '2'.repeat(64), verdict: 'malicious', matches: [match], score: 3 };
    const { files } = readAnswer(filesAnswerSchema, { files: [file] }, 'scan');
    expect(files).toEqual([{ ...file, score: undefined }]);
    expect(files[0]).not.toHaveProperty('score');
  });

  it('takes a match of a kind this command line does not know, keeping the kind the service sent, and shows it as is', () => {
    const future = { ...match, kind: 'container' } as unknown as RecordView;
    const member = { path: ['setup.zip', 'bin/ffmpeg.dll'], size: 12, md5: MD5, sha1: '1'.repeat(40), sha256: '2'.repeat(64), matches: [future] };
    const inside = { members: 1, containers: 1, complete: true, reasons: [], matches: [member] };
    const file = { fileName: 'setup.zip', size: 12, md5: MD5, sha1: '1'.repeat(40), sha256: '2'.repeat(64), verdict: 'malicious', matches: [future], inside };
    const verdict = { input: MD5, hash: MD5, algorithm: 'md5', verdict: 'malicious', match: future };

    const { files } = readAnswer(filesAnswerSchema, { files: [file] }, 'scan');
    const { results } = readAnswer(bulkAnswerSchema, { results: [verdict], summary: { total: 1, malicious: 1, unknown: 0, invalid: 0 } }, 'lookup');

    expect(files[0]!.matches[0]!.kind).toBe('container');
    expect(files[0]!.inside!.matches[0]!.matches[0]!.kind).toBe('container');
    expect(results[0]).toEqual(verdict);
    expect(toKnownRecord(future, 'lookup')).toEqual(future);
    expect(describeMatch(files[0]!.matches[0]!)).toBe('setup.msi (container, windows, 1.0; Test campaign)');
  });
});

describe('toKnownRecord', () => {
  it('refuses a match that is not a whole record, naming the field', () => {
    expect(toKnownRecord(match, 'lookup')).toEqual(match);
    expect(() => toKnownRecord({ ...match, sources: [] }, 'lookup')).toThrow(/lookup failed: .*sources: /);
    // Any kind name is taken (a newer service may add kinds), but a record still has one, and it is text.
    expect(() => toKnownRecord({ ...match, kind: 7 } as unknown as RecordView, 'lookup')).toThrow(/lookup failed: .*kind: /);
    expect(() => toKnownRecord({ ...match, kind: '' } as unknown as RecordView, 'lookup')).toThrow(/lookup failed: .*kind: /);
    const { kind: _kind, ...withoutKind } = match;
    expect(() => toKnownRecord(withoutKind as RecordView, 'lookup')).toThrow(/lookup failed: .*kind: /);
    expect(() => toKnownRecord({ ...match, extra: 1 } as RecordView, 'lookup')).toThrow(/lookup failed: /);
  });
});
