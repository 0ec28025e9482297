import { describe, expect, it } from 'vitest';
import { EICAR_RECORD } from '../support/reference.js';
import { InvalidHashError, InvalidRequestError, NotFoundError, UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import {
  REPORTED_ENGINES,
  metaDefenderReport,
  parseVirusTotalQuery,
  parseVirusTotalResource,
  virusTotalReport,
} from '../../lambdas/core/gateway-compat.js';
import { parseHash, type HashHex } from '../../lambdas/core/hashes.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { signatureName } from '../../lambdas/core/signatures.js';

const RECORD = EICAR_RECORD;

/** A store that knows one record under each of its digests. */
const store: HashStore = {
  getMany: async (hashes) => new Map(hashes.flatMap((h): [HashHex, KnownRecord][] => ([RECORD.sha256, RECORD.sha1, RECORD.md5].includes(h) ? [[h, RECORD]] : []))),
};
const context = { baseUrl: 'https://api.example.com/prod', now: () => new Date('2026-01-01T00:00:00Z') };

describe('parseVirusTotalResource', () => {
  it('takes one hash in any case with spaces around it', () => {
    expect(parseVirusTotalResource(' 44D88612FEA8A8F36DE82E1278ABB02F ')).toEqual({ hash: RECORD.md5, algorithm: 'md5' });
  });

  it.each([undefined, '', '  '])('rejects a missing resource (%j) as invalid_request', (resource) => {
    expect(() => parseVirusTotalResource(resource)).toThrow(InvalidRequestError);
  });

  it('rejects a batch of resources, which has no single answer', () => {
    expect(() => parseVirusTotalResource(`${RECORD.md5},${RECORD.sha1}`)).toThrow(/one resource per request/);
  });

  it('rejects what is not a hash as invalid_hash', () => {
    expect(() => parseVirusTotalResource('eicar.com')).toThrow(InvalidHashError);
  });
});

describe('parseVirusTotalQuery', () => {
  it('takes one resource and one key', () => {
    expect(parseVirusTotalQuery({ resource: [RECORD.md5!], apikey: ['k'] })).toEqual({ hash: RECORD.md5, algorithm: 'md5' });
  });

  it.each([
    ['two resources', { resource: [RECORD.md5!, '0'.repeat(32)], apikey: ['k'] }, /resource query parameter is given 2 times/],
    ['two keys', { resource: [RECORD.md5!], apikey: ['k', 'other'] }, /apikey query parameter is given 2 times/],
  ])('rejects %s as invalid_request rather than picking one', (_name, query, message) => {
    expect(() => parseVirusTotalQuery(query)).toThrow(InvalidRequestError);
    expect(() => parseVirusTotalQuery(query)).toThrow(message);
  });

  it('rejects a resource followed by a line break as invalid_hash', () => {
    expect(() => parseVirusTotalQuery({ resource: [`${RECORD.md5}\n`], apikey: [] })).toThrow(InvalidHashError);
  });

  it('rejects a resource that is only a line break as invalid_hash, not as a missing one', () => {
    expect(() => parseVirusTotalQuery({ resource: ['\r\n'], apikey: [] })).toThrow(InvalidHashError);
  });
});

describe('virusTotalReport', () => {
  it('reports a known-bad hash with response_code 1 and enough positives for the top rspamd score', async () => {
    const report = await virusTotalReport(parseHash(RECORD.md5!), context, { store });
    expect(report).toEqual({
      response_code: 1,
      verbose_msg: 'On the hashcheck known-bad list: eicar.com (EICAR anti-malware test file)',
      resource: RECORD.md5,
      md5: RECORD.md5,
      sha1: RECORD.sha1,
      sha256: RECORD.sha256,
      scan_date: '2023-03-30 12:34:56',
      permalink: `https://api.example.com/prod/v1/hashes/${RECORD.md5}`,
      positives: REPORTED_ENGINES,
      total: REPORTED_ENGINES,
    });
    expect(report.positives).toBeGreaterThanOrEqual(10);
    expect(report.total).toBeGreaterThanOrEqual(report.positives);
  });

  it('leaves out digests the record does not know and dates a record without addedAt by the clock', async () => {
    const sha256Only: KnownRecord = { ...RECORD, sha1: undefined, md5: undefined, addedAt: undefined };
    const only: HashStore = { getMany: async (hashes) => new Map(hashes.map((hash) => [hash, sha256Only] as const)) };
    const report = await virusTotalReport(parseHash(RECORD.sha256!), context, { store: only });
    expect(report).not.toHaveProperty('md5');
    expect(report).not.toHaveProperty('sha1');
    expect(report.scan_date).toBe('2026-01-01 00:00:00');
  });

  it('answers not_found for a hash that is not on the list, saying it is unknown rather than clean', async () => {
    await expect(virusTotalReport(parseHash('0'.repeat(32)), context, { store })).rejects.toThrow(NotFoundError);
    await expect(virusTotalReport(parseHash('0'.repeat(32)), context, { store })).rejects.toThrow(/unknown, not clean/);
  });

  it('passes a store failure on, so it is never reported as not found', async () => {
    const down: HashStore = { getMany: async () => Promise.reject(new UpstreamUnavailableError('down')) };
    await expect(virusTotalReport(parseHash(RECORD.md5!), context, { store: down })).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('metaDefenderReport', () => {
  it('reports a known-bad hash as infected by ten engines naming the record’s signature', async () => {
    const report = await metaDefenderReport(parseHash(RECORD.sha256!), context, { store });
    expect(report.scan_results).toMatchObject({ scan_all_result_i: 1, scan_all_result_a: 'Infected', total_avs: 10, total_detected_avs: 10 });
    const engines = Object.values(report.scan_results.scan_details);
    expect(engines).toHaveLength(10);
    for (const engine of engines) expect(engine).toMatchObject({ threat_found: signatureName(RECORD), scan_result_i: 1 });
    expect(report.file_info).toEqual({ md5: RECORD.md5, sha1: RECORD.sha1, sha256: RECORD.sha256, display_name: 'eicar.com', file_size: 68 });
  });

  it('answers not_found for a hash that is not on the list', async () => {
    await expect(metaDefenderReport(parseHash('0'.repeat(64)), context, { store })).rejects.toThrow(NotFoundError);
  });
});
