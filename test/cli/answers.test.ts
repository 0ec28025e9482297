import { describe, expect, it } from 'vitest';
import { bulkAnswerSchema, filesAnswerSchema, readAnswer, toKnownRecord } from '../../cli/answers.js';
import { ServiceError } from '../../cli/errors.js';
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
});

describe('toKnownRecord', () => {
  it('refuses a match that is not a whole record, naming the field', () => {
    expect(toKnownRecord(match, 'lookup')).toEqual(match);
    expect(() => toKnownRecord({ ...match, sources: [] }, 'lookup')).toThrow(/lookup failed: .*sources: /);
  });
});
