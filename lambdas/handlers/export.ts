import { NotFoundError, UpstreamUnavailableError } from '../core/errors.js';
import {
  EXPORT_FORMATS,
  exportList,
  exportMediaType,
  isExportFormat,
  type ExportFormat,
  type ExportManifest,
  type RecordLister,
} from '../core/exports.js';
import { isNotModified, validatorHeaders } from '../http/conditional.js';
import { makeHttpHandler, type HttpResult, type Log, type RouteHandler } from '../http/handler.js';

/** Where the deployed exports are read from: the manifest, and each export's bytes or a link to them. */
export interface ExportCatalog {
  readManifest(): Promise<ExportManifest | undefined>;
  readExport(key: string): Promise<string>;
  presignGet(key: string, fileName: string): Promise<string>;
}

/**
 * Exports up to this size are answered in the body; larger ones by a redirect to the object. A function's
 * result is capped at 6 MB, and JSON-escaping a text body grows it (a line break takes two bytes).
 */
export const INLINE_EXPORT_BYTES = 4 * 1024 * 1024;

/** The header saying an export is older than the list, because writing a newer one failed. */
export const STALE_EXPORT_HEADER = 'x-hashcheck-export-stale';

type ExportDeps =
  /** Deployed: exports written by the export builder, answered from its manifest without reading the list. */
  | { readonly catalog: ExportCatalog; readonly log: Log; readonly inlineBytes?: number }
  /** Rendered from the whole list on every request: for a list that fits in one answer. */
  | { readonly lister: RecordLister; readonly log: Log };

/**
 * `GET` and `HEAD /v1/exports/{format}`: the list as an rspamd map, a ClamAV database or an IOC file.
 * rspamd polls a map with a conditional HEAD and fetches it again only on a 200, so both methods answer
 * 304 when `If-None-Match` or `If-Modified-Since` shows the caller's copy is current: deployed, from the
 * manifest alone. A GET of an export over `inlineBytes` is a 302 to a short-lived presigned URL of the
 * object. Compression is left to API Gateway (and to the local server), so a body here is always plain.
 */
export function makeExportHandler(deps: ExportDeps) {
  const serve: RouteHandler = async (event) => {
    const format = event.pathParameters?.['format'] ?? '';
    if (!isExportFormat(format)) {
      throw new NotFoundError(`There is no export '${format}'. The formats are ${EXPORT_FORMATS.join(', ')}.`, {
        details: { formats: EXPORT_FORMATS },
      });
    }
    if ('lister' in deps) {
      const rendered = await exportList(format, deps);
      const headers = exportHeaders(format, rendered);
      if (isNotModified(event, rendered)) return { statusCode: 304, text: '', headers };
      return { statusCode: 200, text: rendered.body, contentType: rendered.contentType, headers };
    }
    const manifest = await deps.catalog.readManifest();
    const stored = manifest?.formats[format];
    if (!manifest || !stored) {
      const why = manifest?.lastError ? `: ${manifest.lastError.message}` : '; they are written within minutes of the first change';
      throw new UpstreamUnavailableError(`The exports have not been written yet${why}. Try again shortly.`);
    }
    const validators = { etag: stored.etag, lastModified: new Date(stored.lastModified) };
    const headers = {
      ...exportHeaders(format, validators),
      ...(manifest.lastError && { [STALE_EXPORT_HEADER]: headerText(`since ${manifest.lastError.at}: ${manifest.lastError.message}`) }),
    };
    const { contentType, fileName } = exportMediaType(format);
    if (isNotModified(event, validators)) return { statusCode: 304, text: '', headers };
    // A HEAD answers what a GET would hold, and rspamd reads its 200 as "fetch again": no link to sign.
    if (event.httpMethod === 'HEAD') return { statusCode: 200, text: '', contentType, headers };
    if (stored.size <= (deps.inlineBytes ?? INLINE_EXPORT_BYTES)) {
      return { statusCode: 200, text: await deps.catalog.readExport(stored.key), contentType, headers };
    }
    const location = await deps.catalog.presignGet(stored.key, fileName);
    return { statusCode: 302, text: '', contentType, headers: { ...headers, location } } satisfies HttpResult;
  };
  return makeHttpHandler({ 'GET /v1/exports/{format}': serve, 'HEAD /v1/exports/{format}': serve }, deps);
}

function exportHeaders(format: ExportFormat, validators: { etag: string; lastModified: Date }): Record<string, string> {
  return {
    ...validatorHeaders(validators),
    // Caches may keep a copy but must ask again each time; the list can hold private IOCs.
    'cache-control': 'private, no-cache',
    'content-disposition': `attachment; filename="${exportMediaType(format).fileName}"`,
  };
}

/** Text safe in a header value: printable ASCII, on one line, of a sane length. */
function headerText(text: string): string {
  const safe = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return safe.length > 300 ? `${safe.slice(0, 299)}…`.replace(/…$/, '...') : safe;
}
