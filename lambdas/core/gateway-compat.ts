import { InvalidRequestError, NotFoundError } from './errors.js';
import { parseHash, trimSpaces, type ParsedHash } from './hashes.js';
import type { HashStore } from './lookup.js';
import type { KnownRecord } from './records.js';
import { signatureName } from './signatures.js';
import type { MetaDefenderReport, VirusTotalReport } from './schemas.js';

/**
 * How many engines a known-bad match is reported as. The answer comes from one list, but the clients
 * score by engine count: rspamd 3.x gives `VIRUSTOTAL_HIGH` from 10 positives, rspamd before 2022 and
 * the MetaDefender scanner give the full score above 7. A record on the list is known-bad, so it must
 * reach the top score whichever client asks.
 */
export const REPORTED_ENGINES = 10;

export type { MetaDefenderReport, VirusTotalReport };

/** Everything a report needs besides the record: where the full answer lives, and the clock. */
export interface ReportContext {
  /** The service's base URL, for the VirusTotal `permalink`. */
  readonly baseUrl: string;
  readonly now: () => Date;
}

/** VirusTotal's `scan_date` format: UTC, `YYYY-MM-DD HH:MM:SS`. */
function virusTotalDate(iso: string | undefined, now: () => Date): string {
  const time = iso === undefined ? Number.NaN : Date.parse(iso);
  return (Number.isNaN(time) ? now() : new Date(time)).toISOString().slice(0, 19).replace('T', ' ');
}

function digestsOf(record: KnownRecord): { md5?: string; sha1?: string; sha256?: string } {
  return {
    ...(record.md5 && { md5: record.md5 }),
    ...(record.sha1 && { sha1: record.sha1 }),
    ...(record.sha256 && { sha256: record.sha256 }),
  };
}

/**
 * The `resource` of a VirusTotal request as one hash. VirusTotal also takes comma-separated batches and
 * scan ids; rspamd sends one MD5, and a batch answer would have no single status to give, so only one
 * hash is accepted.
 * @throws InvalidRequestError when the parameter is missing or lists several resources.
 * @throws InvalidHashError when it is not an MD5, SHA-1 or SHA-256.
 */
export function parseVirusTotalResource(resource: string | undefined): ParsedHash {
  if (resource === undefined || trimSpaces(resource) === '') {
    throw new InvalidRequestError('The resource query parameter is required: an MD5, SHA-1 or SHA-256 hash.');
  }
  if (resource.includes(',')) {
    throw new InvalidRequestError('Send one resource per request: batches of several hashes are not supported here.');
  }
  return parseHash(resource);
}

/** The query parameters of a VirusTotal `file/report` request, each with every value it was given. */
export interface VirusTotalQuery {
  readonly resource: readonly string[];
  readonly apikey: readonly string[];
}

/**
 * The one hash a VirusTotal `file/report` request asks about. A parameter given twice has no one meaning:
 * API Gateway hands a function the last value and a client or proxy may read the first, so a request
 * with two `resource`s or two `apikey`s could be metered under one key and answered for another hash.
 * It is refused rather than resolved either way.
 * @throws InvalidRequestError when `resource` or `apikey` is given more than once, or `resource` is missing.
 * @throws InvalidHashError when the resource is not an MD5, SHA-1 or SHA-256.
 */
export function parseVirusTotalQuery(query: VirusTotalQuery): ParsedHash {
  for (const name of ['resource', 'apikey'] as const) {
    if (query[name].length > 1) {
      throw new InvalidRequestError(
        `The ${name} query parameter is given ${query[name].length} times: send it once${name === 'resource' ? ', with one hash' : ''}.`,
      );
    }
  }
  return parseVirusTotalResource(query.resource[0]);
}

/** The record of a known-bad hash, or `NotFoundError` when the hash is not on the list. Store failures propagate. */
async function knownRecord(hash: ParsedHash, deps: { store: HashStore }): Promise<KnownRecord> {
  const record = (await deps.store.getMany([hash.hash])).get(hash.hash);
  if (!record) throw new NotFoundError(`${hash.hash} is not on the known-bad list. That makes it unknown, not clean.`);
  return record;
}

/** For a container a scan found bad through a member: which member, so a gateway's log says why. */
function containing(record: KnownRecord): string {
  return record.derived ? `, a container found holding ${record.derived.memberRecord.fileName}` : '';
}

/**
 * The VirusTotal v2 `file/report` answer for one hash: a report for a known-bad hash, `NotFoundError`
 * (404, which rspamd takes as clean) for any other. A store failure propagates and becomes a 503, which
 * rspamd reports as a failed check rather than as clean.
 */
export async function virusTotalReport(hash: ParsedHash, context: ReportContext, deps: { store: HashStore }): Promise<VirusTotalReport> {
  const record = await knownRecord(hash, deps);
  return {
    response_code: 1,
    verbose_msg: `On the hashcheck known-bad list: ${record.fileName} (${record.campaign})${containing(record)}`,
    resource: hash.hash,
    ...digestsOf(record),
    scan_date: virusTotalDate(record.addedAt, context.now),
    permalink: `${context.baseUrl}/v1/hashes/${hash.hash}`,
    positives: REPORTED_ENGINES,
    total: REPORTED_ENGINES,
  };
}

/**
 * The MetaDefender v4 hash answer for one hash: infected, with {@link REPORTED_ENGINES} engine entries
 * naming the record's signature, for a known-bad hash; `NotFoundError` (404, clean to rspamd) otherwise.
 */
export async function metaDefenderReport(hash: ParsedHash, context: ReportContext, deps: { store: HashStore }): Promise<MetaDefenderReport> {
  const record = await knownRecord(hash, deps);
  const threat = signatureName(record);
  const since = record.addedAt ?? context.now().toISOString();
  const details: MetaDefenderReport['scan_results']['scan_details'] = {};
  for (let engine = 1; engine <= REPORTED_ENGINES; engine++) {
    details[`hashcheck_${String(engine).padStart(2, '0')}`] = { threat_found: threat, scan_result_i: 1, def_time: since };
  }
  return {
    data_id: hash.hash,
    file_info: {
      ...digestsOf(record),
      display_name: record.fileName,
      ...(record.size === undefined ? {} : { file_size: record.size }),
    },
    scan_results: {
      scan_all_result_i: 1,
      scan_all_result_a: 'Infected',
      total_avs: REPORTED_ENGINES,
      total_detected_avs: REPORTED_ENGINES,
      start_time: since,
      scan_details: details,
    },
  };
}
