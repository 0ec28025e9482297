import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { makeFileLineSorter } from '../lambdas/adapters/export-sort.js';
import { NotFoundError } from '../lambdas/core/errors.js';
import {
  EXPORT_FORMATS,
  exportEtag,
  exportLastModified,
  exportMediaType,
  isExportFormat,
  streamExport,
  type ExportFormat,
} from '../lambdas/core/exports.js';
import type { KnownRecord } from '../lambdas/core/records.js';
import { isNotModifiedBy, validatorHeaders, type Validators } from '../lambdas/http/conditional.js';
import { mapError } from '../lambdas/http/errors.js';
import { BASE_HEADERS, type Log } from '../lambdas/http/handler.js';
import { MIN_COMPRESSION_BYTES, matchPath } from '../lambdas/http/routes.js';
import { authorize, type LocalKeys } from './auth.js';
import { acceptedCoding, type RequestTarget } from './http-edge.js';

/** What the exports read: the list's version, bumped by every change, and its records in primary-digest order. */
export interface ExportedStore {
  listVersion(): number;
  readonly hashes: { records(): AsyncIterable<KnownRecord> };
}

export interface LocalExportsDeps {
  readonly store: ExportedStore;
  /** The service's data folder; exports go to `<dataDir>/exports/<version>/`. */
  readonly dataDir: string;
  readonly log: Log;
  /** The keys requests are checked against, as for every other route (`?apikey=` for exports). */
  readonly keys: LocalKeys;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface LocalExports {
  /**
   * Answers `GET` and `HEAD /v1/exports/{format}` and returns true; returns false, having done nothing,
   * for any other request, which the server then routes as usual. Call it before route matching.
   */
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget, requestId: string): Promise<boolean> | boolean;
}

/** What one version of the list was exported as: the facts every format of it shares. */
interface VersionInfo {
  readonly version: number;
  /** When this version was first exported, which dates it (a version is exported after it was written). */
  readonly updatedAt: string;
}

/** An export on disk, opened: its plain bytes, or the gzipped copy beside them. */
interface OpenedExport {
  readonly file: FileHandle;
  readonly size: number;
  readonly validators: Validators;
  readonly gzipped: boolean;
}

const EXPORTS_FOLDER = 'exports';
const LIST_ID_FILE = 'list-id';
const VERSION_FILE = 'version.json';

/**
 * The exports of the single-machine service, written into the data folder once per list version and
 * served from the files. A version is exported on the first request for it, not at every write: an
 * import of a million records arrives in many requests, each a new version, and a format nobody polls
 * is never written. A request for a version already exported reads nothing but the file (a HEAD not
 * even that), so rspamd's periodic check costs no pass over the list. Older versions are removed once a
 * newer one is complete.
 */
export function makeLocalExports(deps: LocalExportsDeps): LocalExports {
  const root = join(deps.dataDir, EXPORTS_FOLDER);
  const now = deps.now ?? (() => new Date());
  /** Exports being written, by `<version>/<format>`: concurrent requests wait for the same one. */
  const building = new Map<string, Promise<void>>();
  let listId: Promise<string> | undefined;

  const readListId = async (): Promise<string> => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const path = join(root, LIST_ID_FILE);
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const id = randomBytes(6).toString('hex');
      await writeFile(path, `${id}\n`, { mode: 0o600, flag: 'wx' }).catch(async (writeError: NodeJS.ErrnoException) => {
        if (writeError.code !== 'EEXIST') throw writeError;
      });
      return (await readFile(path, 'utf8')).trim();
    }
  };

  const versionDir = (version: number) => join(root, String(version));

  /** The versions exported on disk, newest first. */
  const exportedVersions = async (): Promise<number[]> =>
    (await readdir(root).catch(() => []))
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => b - a);

  /**
   * The version's facts, written when its folder is made: its date is now, or a second after the last
   * exported version's when that is later, so Last-Modified only moves forward from version to version.
   */
  const versionInfo = async (version: number): Promise<VersionInfo> => {
    const path = join(versionDir(version), VERSION_FILE);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as VersionInfo;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let at = now().getTime();
    for (const older of (await exportedVersions()).filter((v) => v < version)) {
      const info = await readFile(join(versionDir(older), VERSION_FILE), 'utf8').catch(() => undefined);
      if (info === undefined) continue;
      at = Math.max(at, exportLastModified((JSON.parse(info) as VersionInfo).updatedAt).getTime() + 1000);
      break;
    }
    await mkdir(versionDir(version), { recursive: true, mode: 0o700 });
    const info: VersionInfo = { version, updatedAt: new Date(at).toISOString() };
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
    // A concurrent first request may have written it meanwhile; the first one written stays.
    try {
      await readFile(path);
      await rm(temp, { force: true });
    } catch {
      await rename(temp, path);
    }
    return JSON.parse(await readFile(path, 'utf8')) as VersionInfo;
  };

  /** Writes one format of one version: to temporary names first, renamed once complete. */
  const build = async (version: number, format: ExportFormat): Promise<void> => {
    const info = await versionInfo(version);
    const dir = versionDir(version);
    const suffix = randomBytes(4).toString('hex');
    const scratch = join(dir, `.sort-${format}-${suffix}`);
    const plainTemp = join(dir, `.${format}.${suffix}.tmp`);
    const gzipTemp = join(dir, `.${format}.gz.${suffix}.tmp`);
    await mkdir(scratch, { mode: 0o700 });
    const started = Date.now();
    try {
      const plain = createWriteStream(plainTemp, { flags: 'wx', mode: 0o600 });
      const gzip = createGzip();
      const gzipped = pipeline(gzip, createWriteStream(gzipTemp, { flags: 'wx', mode: 0o600 }));
      gzipped.catch(() => undefined);
      try {
        const source = { records: () => deps.store.hashes.records(), updatedAt: info.updatedAt };
        for await (const chunk of streamExport(format, source, { sortLines: makeFileLineSorter({ dir: scratch }) })) {
          await Promise.all([write(plain, chunk), write(gzip, chunk)]);
        }
        plain.end();
        gzip.end();
        await Promise.all([once(plain, 'finish'), gzipped]);
      } catch (error) {
        plain.destroy();
        gzip.destroy();
        // Both files closed, or never opened, before they are removed below: a file stream destroyed while it
        // is still opening creates its file after that, and would leave it behind.
        await Promise.all([finished(plain).catch(() => undefined), gzipped.catch(() => undefined)]);
        throw error;
      }
      await rename(gzipTemp, join(dir, `${format}.gz`));
      await rename(plainTemp, join(dir, format));
      deps.log.info('export written', { format, version, ms: Date.now() - started });
    } finally {
      await Promise.all([rm(scratch, { recursive: true, force: true }), rm(plainTemp, { force: true }), rm(gzipTemp, { force: true })]);
    }
    // Older versions go once this one can be served; a file still being sent stays readable until closed,
    // and a version still being written is left to the write (its requests are answered from it).
    const inFlight = new Set([...building.keys()].map((key) => Number(key.split('/')[0])));
    for (const older of (await exportedVersions()).filter((v) => v < version && !inFlight.has(v))) {
      await rm(versionDir(older), { recursive: true, force: true });
    }
  };

  const ensureBuilt = (version: number, format: ExportFormat): Promise<void> => {
    const key = `${version}/${format}`;
    let pending = building.get(key);
    if (!pending) {
      pending = build(version, format).finally(() => building.delete(key));
      building.set(key, pending);
    }
    return pending;
  };

  /**
   * Opens the current version's export of a format, writing it first when it is not on disk yet, and its
   * gzipped copy when the client takes gzip and the export is worth compressing.
   */
  const openExport = async (format: ExportFormat, wantsGzip: boolean): Promise<OpenedExport> => {
    listId ??= readListId();
    const id = await listId.catch((error: unknown) => {
      listId = undefined;
      throw error;
    });
    for (let attempt = 0; ; attempt++) {
      const version = deps.store.listVersion();
      const dir = versionDir(version);
      let plain: FileHandle;
      try {
        plain = await open(join(dir, format), 'r');
      } catch (error) {
        // Missing: not written yet, or removed as a newer version completed; write the current one.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw error;
        try {
          await ensureBuilt(version, format);
        } catch (buildError) {
          // A version the list has moved past may be removed under its write: export the current one instead.
          if (deps.store.listVersion() === version || attempt >= 2) throw buildError;
        }
        continue;
      }
      try {
        const [{ size }, info] = await Promise.all([plain.stat(), versionInfo(version)]);
        const validators = { etag: exportEtag(id, version, format), lastModified: exportLastModified(info.updatedAt) };
        // The gzipped copy is renamed into place before the plain one, so it is there whenever the plain one is.
        const gzipped = wantsGzip && size >= MIN_COMPRESSION_BYTES ? await open(join(dir, `${format}.gz`), 'r').catch(() => undefined) : undefined;
        if (!gzipped) return { file: plain, size, validators, gzipped: false };
        await plain.close();
        return { file: gzipped, size: (await gzipped.stat()).size, validators, gzipped: true };
      } catch (error) {
        await plain.close().catch(() => undefined);
        throw error;
      }
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, requestId: string, format: string): Promise<void> => {
    if (!isExportFormat(format)) {
      throw new NotFoundError(`There is no export '${format}'. The formats are ${EXPORT_FORMATS.join(', ')}.`, {
        details: { formats: EXPORT_FORMATS },
      });
    }
    await send(req, res, requestId, format, await openExport(format, acceptedCoding(req.headers['accept-encoding']) === 'gzip'));
  };

  return {
    handle(req, res, target, requestId) {
      if (target.asterisk || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      const matched = matchPath(target.path).find((m) => m.route.function === 'export' && m.route.method === req.method);
      if (!matched) return false;
      req.resume();
      const format = matched.pathParameters['format'] ?? '';
      return (async () => {
        try {
          authorize(matched.route.auth, req, target, deps.keys);
          await serve(req, res, requestId, format);
        } catch (error) {
          if (res.headersSent) {
            res.destroy();
            return true;
          }
          const mapped = mapError(error, requestId);
          if (mapped.statusCode >= 500) deps.log.error('export failed', { format, requestId, error: String(error) });
          const body = JSON.stringify(mapped.body);
          res.writeHead(mapped.statusCode, {
            ...BASE_HEADERS,
            'content-type': 'application/json; charset=utf-8',
            'content-length': String(Buffer.byteLength(body)),
            'x-request-id': requestId,
            ...mapped.headers,
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        }
        return true;
      })();
    },
  };
}

/** Sends an opened export: 304 when the caller's copy is current, else the headers and (for GET) the file. */
async function send(req: IncomingMessage, res: ServerResponse, requestId: string, format: ExportFormat, opened: OpenedExport): Promise<void> {
  const { contentType, fileName } = exportMediaType(format);
  const headers: Record<string, string> = {
    ...BASE_HEADERS,
    ...validatorHeaders(opened.validators),
    // Caches may keep a copy but must ask again each time; the list can hold private IOCs.
    'cache-control': 'private, no-cache',
    'content-disposition': `attachment; filename="${fileName}"`,
    'x-request-id': requestId,
    vary: 'Accept-Encoding',
  };
  const preconditions = { ifNoneMatch: single(req.headers['if-none-match']), ifModifiedSince: single(req.headers['if-modified-since']) };
  try {
    if (isNotModifiedBy(preconditions, opened.validators)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': contentType,
      'content-length': String(opened.size),
      ...(opened.gzipped && { 'content-encoding': 'gzip' }),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(opened.file.createReadStream({ autoClose: false }), res);
  } finally {
    await opened.file.close().catch(() => undefined);
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Writes a chunk, waiting when the stream asks for a pause. */
async function write(stream: WriteStream | NodeJS.WritableStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream as NodeJS.EventEmitter, 'drain');
}

