import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidRequestError } from '../lambdas/core/errors.js';
import { detectFormat, parseImport, refuseBrokenJson, type ImportDefaults, type ImportFormat, type RejectedInput } from '../lambdas/core/import-formats.js';
import { LARGE_TEXT_BODY_BYTES, MIB } from '../lambdas/core/limits.js';
import { authHint, authenticate, type AdminAuth } from './admin-auth.js';
import { mapLimit } from './concurrency.js';
import { importReportSchema, readAnswer } from './answers.js';
import type { ImportReportAnswer } from '../lambdas/core/schemas.js';
import { encodeQueryComponent, type AwsCredentials } from './aws-sigv4.js';
import { InputError, ServiceError, UsageError, oneLine } from './errors.js';
import { fileLine, splitImport, type FeedChunk } from './feed-chunks.js';
import { decodeInput } from './hash-list.js';
import { renderTable } from './output.js';
import { formatBytes, formatCount, formatCounted } from './progress.js';
import type { ServiceClient } from './service-client.js';
import type { CliEnvironment, OutputWriter, Reporter } from './terminal.js';
import { describeErrno } from './walk.js';

/** Every input became a record or was already one (or stays revoked, as an administrator left it). */
export const EXIT_IMPORTED = 0;
/** Some inputs were rejected and not imported; the others were. */
export const EXIT_REJECTED = 1;

/** The most the service takes in one import request. */
export const MAX_IMPORT_BYTES = LARGE_TEXT_BODY_BYTES;
/**
 * The size line-based feeds are split into, well below the service's limit. Deployed, each request must
 * be read and written within API Gateway's 29 s: 1 MiB is about 16,000 SHA-256 lines or 5,000 CSV rows of
 * three digests, 15,000–16,000 item writes, which a new on-demand table (about 4,000 writes a second at
 * first) takes in about 4 s alone and about 16 s when four requests share it. The body also travels inside
 * the Lambda event as a JSON string, quotes escaped, and the event must stay under Lambda's 6 MB.
 */
export const CHUNK_BYTES = 1 * MIB;
/** Requests in flight at once unless told otherwise (`--concurrency`), as for lookups. */
export const DEFAULT_IMPORT_CONCURRENCY = 4;
/** Retries of a request unless told otherwise (`--retries`), as the service client's. */
const DEFAULT_RETRIES = 3;
/** Backoff between attempts at a request the service failed with 500: doubling from here, up to the cap. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8_000;

/** The media type each format is sent as; the service takes all of them for every format. */
const CONTENT_TYPES: Readonly<Record<ImportFormat, string>> = {
  jsonl: 'application/x-ndjson',
  csv: 'text/csv',
  plain: 'text/plain',
  stix: 'application/stix+json',
  misp: 'application/json',
};

const FORMAT_NAMES: Readonly<Record<ImportFormat, string>> = {
  jsonl: 'JSON Lines feed',
  csv: 'CSV feed',
  plain: 'plain hash list',
  stix: 'STIX bundle',
  misp: 'MISP event',
};

/** What `hashcheck import` was asked to do. */
export interface ImportOptions {
  /** The feed; `-` is standard input. */
  readonly file: string;
  /** Overrides the format detected from the content. */
  readonly format?: ImportFormat;
  /** Provenance for inputs that lack it (plain lists), or overrides. */
  readonly defaults: ImportDefaults;
  /** Check the feed here with the service's own parser, and send nothing. */
  readonly dryRun: boolean;
  readonly json: boolean;
  /** How to authenticate; not needed for a dry run, which sends nothing. */
  readonly auth?: AdminAuth;
  /** Requests of a split feed in flight at once. @default 4 */
  readonly concurrency?: number;
  /**
   * Retries of one request the service failed with 500 (the service client retries 429, 502, 503, 504
   * and connection failures itself, as many times). @default 3
   */
  readonly retries?: number;
}

/** What `hashcheck import` works with. */
export interface ImportDeps {
  /** The service root, as for the client: `http://127.0.0.1:3000` or a stage URL. */
  readonly url: URL;
  readonly client: ServiceClient;
  readonly reporter: Reporter;
  readonly out: OutputWriter;
  readonly environment: CliEnvironment;
  readonly colour: boolean;
  /** The AWS credentials to sign with; asked for only when requests are signed. */
  readonly credentials: () => Promise<AwsCredentials>;
}

/** The report of a whole feed, added up over its requests; line numbers are the file's. */
export interface FeedReport {
  format: ImportFormat;
  total: number;
  added: number;
  updated: number;
  unchanged: number;
  revoked: number;
  rejected: RejectedInput[];
  /** How many requests carried the feed (or would have, on a dry run). */
  requests: number;
}

/**
 * Statuses that answer the import, well or not: every other one is the service client's to retry or
 * report. A 500 is retried here: the import is idempotent, so sending a request again is always safe.
 */
const ANSWERED = [200, 400, 401, 403, 413, 415, 500];

/**
 * Imports a feed through `POST /v1/admin/imports` and prints the service's report. JSON Lines, CSV and
 * plain lists larger than {@link CHUNK_BYTES} are sent in chunks of whole records (CSV with its header on
 * every chunk), up to `concurrency` at once; their reports are added up, and rejected inputs listed by
 * their line in the file. A chunk that fails for a while (429, 5xx, a dropped connection) is sent again
 * with backoff; one that keeps failing stops the import, once the chunks in flight have been answered,
 * saying what was written. STIX bundles and MISP events are single JSON documents and are never split.
 * With `dryRun` the feed is checked here by the parser the service runs, and nothing is sent.
 *
 * @returns 0 when every input was imported or already there, 1 when some inputs were rejected.
 * @throws CliError (exit status 2) when the file cannot be read or is too large, or the service refuses the
 *   feed or the credentials, or cannot be reached.
 */
export async function runImport(options: ImportOptions, deps: ImportDeps): Promise<number> {
  const name = options.file === '-' ? 'standard input' : options.file;
  const { format, body } = await readFeed(options, deps.environment, name);
  const chunks = chunkFeed(body, format, name);

  const report: FeedReport = { format, total: 0, added: 0, updated: 0, unchanged: 0, revoked: 0, rejected: [], requests: chunks.length };
  if (options.dryRun) {
    for (const chunk of chunks) addUp(report, checkHere(chunk, format, options.defaults), chunk);
  } else {
    let imported = 0;
    try {
      // The chunks in flight when one fails are not aborted (the signal is not passed on): their answers
      // still count, so the message says exactly what was written.
      await mapLimit(chunks, options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY, async (chunk, index) => {
        addUp(report, await send({ chunk, index, count: chunks.length, format, name }, options, deps), chunk);
        imported += 1;
      });
    } catch (error) {
      if (!(error instanceof ServiceError) || chunks.length === 1) throw error;
      throw new ServiceError(`${error.message}${progressNote(report, imported)}`, { cause: error });
    }
  }
  // Chunks are answered in any order: the rejected inputs are listed in the file's.
  report.rejected.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));

  if (options.json) await deps.out.line(JSON.stringify(options.dryRun ? dryRunJson(report) : report));
  else for (const line of describeReport(report, { name, dryRun: options.dryRun, colour: deps.colour })) await deps.out.line(line);
  await deps.out.flush();

  if (report.rejected.length === 0) return EXIT_IMPORTED;
  deps.reporter.warn(describeRejection(report.rejected.length, report.total, options.dryRun));
  return EXIT_REJECTED;
}

/** `2 of 9 inputs were rejected and not imported; the rest were imported`: why the exit status is 1. */
function describeRejection(rejected: number, total: number, dryRun: boolean): string {
  const inputs = formatCounted(total, 'input');
  if (rejected === total) {
    const all = total === 1 ? 'the only input' : `all ${inputs}`;
    return dryRun ? `${all} would be rejected: nothing would be imported` : `${all} ${total === 1 ? 'was' : 'were'} rejected: nothing was imported`;
  }
  const what = `${formatCount(rejected)} of ${inputs}`;
  if (dryRun) return `${what} would be rejected; the rest would be imported`;
  return `${what} ${rejected === 1 ? 'was' : 'were'} rejected and not imported; the rest ${total - rejected === 1 ? 'was' : 'were'} imported`;
}

/**
 * The feed as it is sent, UTF-8 whatever the file was (UTF-16 exports, a byte-order mark), and its format.
 * A file already in UTF-8 that starts like a list or a CSV (most large feeds) is sent as it was read, and
 * only its first line decoded to tell the format, so a feed of a million rows is held in memory once.
 */
async function readFeed(options: ImportOptions, environment: CliEnvironment, name: string): Promise<{ format: ImportFormat; body: Buffer }> {
  const bytes = await readInput(options.file, environment);
  const asRead = lineFeedAsRead(bytes);
  if (asRead !== undefined) return { format: options.format ?? detectFormat(asRead.firstLine), body: asRead.body };
  const text = decodeInput(bytes);
  if (text.trim() === '') throw new InputError(`${name} is empty: nothing to import`);
  const format = options.format ?? detectFormat(text);
  // A JSON document cut short must not be sent line by line as JSON Lines (its whole lines would be
  // imported): refused here, as the service refuses it, before anything is sent.
  if (options.format === undefined && format === 'jsonl') refuseCutShortJson(text, name);
  return { format, body: Buffer.from(text, 'utf8') };
}

/**
 * A feed that needs no decoding and no look beyond its first line: valid UTF-8 whose first character
 * other than ASCII white space is ASCII and opens no JSON (a byte-order mark, a UTF-16 file or any other
 * start takes the decoding path). Its first line then tells the format as the whole text would.
 */
function lineFeedAsRead(bytes: Uint8Array): { body: Buffer; firstLine: string } | undefined {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x20 || (bytes[start]! >= 0x09 && bytes[start]! <= 0x0d))) start++;
  const first = bytes[start];
  if (first === undefined || first >= 0x80 || first === 0x7b || first === 0x5b || !isUtf8(bytes)) return undefined;
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = body.indexOf(0x0a, start);
  return { body, firstLine: body.toString('utf8', start, end === -1 ? body.length : end) };
}

async function readInput(file: string, environment: CliEnvironment): Promise<Uint8Array> {
  if (file === '-') {
    if (environment.stdin.isTTY) throw new UsageError('nothing to read: standard input is a terminal (see hashcheck import --help)');
    const chunks: Buffer[] = [];
    for await (const chunk of environment.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${describeErrno(error)}`, { cause: error });
  }
}

/** The requests a feed takes: one, or chunks of whole records for line-based feeds too large for one. */
function refuseCutShortJson(text: string, name: string): void {
  try {
    refuseBrokenJson(text);
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new InputError(`${name}: ${oneLine(error.message)}`);
    throw error;
  }
}

function chunkFeed(body: Buffer, format: ImportFormat, name: string): FeedChunk[] {
  if (format === 'stix' || format === 'misp') {
    if (body.length <= MAX_IMPORT_BYTES) return [{ body, lineOffset: 0 }];
    throw new InputError(
      `${name} is a ${FORMAT_NAMES[format]} of ${formatBytes(body.length)}, over the ${formatBytes(MAX_IMPORT_BYTES)} the service ` +
        'takes in one request, and one JSON document cannot be split into whole records: export it in smaller parts',
    );
  }
  return splitImport(body, format, CHUNK_BYTES);
}

/** A dry run: the service's parser, run here on exactly what would be sent. */
function checkHere(chunk: FeedChunk, format: ImportFormat, defaults: ImportDefaults): ImportReportAnswer {
  try {
    const parsed = parseImport(chunk.body.toString('utf8'), { format, defaults });
    const valid = parsed.records.length;
    return { format, total: valid + parsed.rejected.length, added: valid, updated: 0, unchanged: 0, revoked: 0, rejected: parsed.rejected };
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new InputError(`the feed would be refused: ${withOptionNames(error.message)}`);
    throw error;
  }
}

/** One request of a feed: which part of how many. */
interface Part {
  readonly chunk: FeedChunk;
  readonly index: number;
  readonly count: number;
  readonly format: ImportFormat;
  readonly name: string;
}

async function send(part: Part, options: ImportOptions, deps: ImportDeps): Promise<ImportReportAnswer> {
  const { chunk, index, count, format, name } = part;
  // Made once per request: a CSV chunk's body is its header and its rows put together on demand.
  const body = chunk.body;
  const auth = options.auth;
  if (!auth) throw new UsageError('no admin credentials: give --admin-key or --aws-sigv4');
  const what = count > 1 ? `import of ${name} (request ${index + 1} of ${count})` : `import of ${name}`;
  const url = importUrl(deps.url, format, options.defaults);
  const headers = await authenticate(
    auth,
    { method: 'POST', url, headers: { 'content-type': CONTENT_TYPES[format] }, body },
    deps.credentials,
  );
  const retries = options.retries ?? DEFAULT_RETRIES;
  let answer;
  for (let attempt = 1; ; attempt++) {
    try {
      // Imports are idempotent, so the client's retries of a POST (on 429, 503, a dropped connection) are safe.
      answer = await deps.client.request({ what, method: 'POST', target: url, headers, body: () => body, expect: ANSWERED });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      // The client's 5xx hint is about lookups; for an import, what matters is what is already in.
      throw new ServiceError(error.message.replace(/; nothing was reported as unknown$/, ''), { cause: error });
    }
    if (answer.status !== 500 || attempt > retries) break;
    const step = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
    const delayMs = step / 2 + (Math.random() * step) / 2;
    deps.reporter.status(`${what}: ${describeRefusal(500, answer.body)}; retrying in ${(delayMs / 1000).toFixed(1)} s (retry ${attempt} of ${retries})`);
    await sleep(delayMs);
  }
  if (answer.status === 200) return readAnswer(importReportSchema, answer.body, what);

  const tries = answer.status === 500 && retries > 0 ? ` after ${retries + 1} attempts` : '';
  const refusal = `${what} failed: POST ${url.pathname} answered ${describeRefusal(answer.status, answer.body)}${tries}`;
  let hint: string;
  if (answer.status === 401 || answer.status === 403) hint = `: ${authHint(auth)}`;
  else if (answer.status === 413) hint = ': the service takes less than this command sends; split the feed into smaller files';
  else if (answer.status !== 500 && format === 'plain' && (!options.defaults.campaign || !options.defaults.source)) hint = ': give --campaign and --source';
  else hint = '';
  throw new ServiceError(`${refusal}${hint}`);
}

/**
 * The import URL under the service URL (keeping a stage path such as `/prod`), with the format and the
 * provenance as query parameters. The query is encoded as SigV4 canonicalises it, so a signed request is
 * signed over exactly what is sent.
 */
function importUrl(base: URL, format: ImportFormat, defaults: ImportDefaults): URL {
  const parameters: [string, string | undefined][] = [
    ['format', format],
    ['campaign', defaults.campaign],
    ['source', defaults.source],
    ['kind', defaults.kind],
    ['platform', defaults.platform],
    ['confidence', defaults.confidence],
  ];
  const query = parameters
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${encodeQueryComponent(value)}`)
    .join('&');
  return new URL(`${base.pathname.replace(/\/+$/, '')}/v1/admin/imports?${query}`, base);
}

/**
 * After a failed request of several: what the requests answered did (the records written), that the
 * others were not imported or only in part, and that running the same import again is safe.
 */
function progressNote(report: FeedReport, imported: number): string {
  const count = report.requests;
  const done =
    imported === 0
      ? `none of the ${count} requests was imported`
      : `${formatCount(imported)} of ${formatCounted(count, 'request')} ${imported === 1 ? 'was' : 'were'} imported ` +
        `(${formatCounted(report.added + report.updated, 'record')} written: ${formatCount(report.added)} added, ` +
        `${formatCount(report.updated)} updated; ${formatCount(report.unchanged)} unchanged)`;
  return `; ${done}, the others not or only in part: imports are idempotent, so running the same command again is safe and finishes the import`;
}

/** `403 unauthorized (This key may not change the list.)`, from the service's or API Gateway's error body. */
function describeRefusal(status: number, body: unknown): string {
  const shaped = body as { error?: { code?: unknown; message?: unknown }; message?: unknown } | undefined;
  const code = typeof shaped?.error?.code === 'string' ? ` ${shaped.error.code}` : '';
  const message = typeof shaped?.error?.message === 'string' ? shaped.error.message : typeof shaped?.message === 'string' ? shaped.message : undefined;
  return `${status}${code}${message === undefined ? '' : ` (${oneLine(message, 300)})`}`;
}

/** The service speaks of query parameters; here they are options. */
function withOptionNames(message: string): string {
  return message.replace('give the campaign and source parameters (e.g. ?campaign=…&source=…)', 'give --campaign and --source');
}

function addUp(report: FeedReport, part: ImportReportAnswer, chunk: FeedChunk): void {
  report.format = part.format;
  report.total += part.total;
  report.added += part.added;
  report.updated += part.updated;
  report.unchanged += part.unchanged;
  report.revoked += part.revoked;
  for (const rejected of part.rejected) {
    report.rejected.push({ ...rejected, line: rejected.line === null ? null : fileLine(chunk, rejected.line) });
  }
}

/** A dry run's report for scripts: nothing was added, so the valid inputs are counted as such. */
function dryRunJson({ format, total, added, rejected, requests }: FeedReport): Record<string, unknown> {
  return { dryRun: true, format, total, valid: added, rejected, requests };
}

/** The report for people: the counts, then every rejected input with its line (or its id in a JSON feed) and why. */
function describeReport(report: FeedReport, context: { name: string; dryRun: boolean; colour: boolean }): string[] {
  const requests = formatCounted(report.requests, 'request');
  const inputs = formatCounted(report.total, 'input');
  const title = context.dryRun
    ? `checked ${basename(context.name)} here, nothing was sent (${FORMAT_NAMES[report.format]}, ${inputs}, ${requests} when imported):`
    : `imported ${basename(context.name)} (${FORMAT_NAMES[report.format]}, ${inputs}, ${requests}):`;
  const counts: [string, number, string][] = context.dryRun
    ? [
        ['valid', report.added, 'would be added, updated or left unchanged'],
        ['rejected', report.rejected.length, report.rejected.length > 0 ? 'would not be imported' : ''],
      ]
    : [
        ['added', report.added, ''],
        ['updated', report.updated, ''],
        ['unchanged', report.unchanged, ''],
        ['revoked', report.revoked, report.revoked > 0 ? 'left revoked: an import never puts a revoked record back' : ''],
        ['rejected', report.rejected.length, report.rejected.length > 0 ? 'not imported' : ''],
      ];
  const lines = [title, ...counts.map(([label, count, note]) => `  ${label.padEnd(10)} ${formatCount(count).padStart(8)}${note ? `  ${note}` : ''}`)];
  if (report.rejected.length > 0) {
    const rows = report.rejected.map((r) => [r.line === null ? '-' : String(r.line), oneLine(r.input, 60), r.reason]);
    lines.push('', ...renderTable(['LINE', 'INPUT', 'REASON'], rows, -1, { colour: context.colour }));
  }
  return lines;
}
