import { NotFoundError } from '../core/errors.js';
import { EXPORT_FORMATS, exportList, isExportFormat, type RecordLister } from '../core/exports.js';
import { isNotModified, validatorHeaders } from '../http/conditional.js';
import { makeHttpHandler, type Log, type RouteHandler } from '../http/handler.js';

/**
 * `GET` and `HEAD /v1/exports/{format}`: the list as an rspamd map, a ClamAV database or an IOC file.
 * rspamd polls a map with a conditional HEAD and fetches it again only on a 200, so both methods answer
 * 304 when `If-None-Match` or `If-Modified-Since` shows the caller's copy is current. Compression is left
 * to API Gateway (and to the local server, which does the same), so the body here is always plain.
 */
export function makeExportHandler(deps: { lister: RecordLister; log: Log }) {
  const serve: RouteHandler = async (event) => {
    const format = event.pathParameters?.['format'] ?? '';
    if (!isExportFormat(format)) {
      throw new NotFoundError(`There is no export '${format}'. The formats are ${EXPORT_FORMATS.join(', ')}.`, {
        details: { formats: EXPORT_FORMATS },
      });
    }
    const rendered = await exportList(format, deps);
    const headers = {
      ...validatorHeaders(rendered),
      // Caches may keep a copy but must ask again each time; the list can hold private IOCs.
      'cache-control': 'private, no-cache',
      'content-disposition': `attachment; filename="${rendered.fileName}"`,
    };
    if (isNotModified(event, rendered)) return { statusCode: 304, text: '', headers };
    return { statusCode: 200, text: rendered.body, contentType: rendered.contentType, headers };
  };
  return makeHttpHandler({ 'GET /v1/exports/{format}': serve, 'HEAD /v1/exports/{format}': serve }, deps);
}
