import type { APIGatewayProxyEvent } from 'aws-lambda';
import { metaDefenderReport, parseVirusTotalQuery, virusTotalReport } from '../core/gateway-compat.js';
import { parseHash } from '../core/hashes.js';
import type { HashStore } from '../core/lookup.js';
import { makeHttpHandler, type Log } from '../http/handler.js';
import { publicBaseUrl } from '../http/public-url.js';

/**
 * Every value of a query parameter. API Gateway puts all of them in `multiValueQueryStringParameters` and
 * only the last in `queryStringParameters`, which is read when the multi-value map has nothing under the name.
 */
function queryValues(event: APIGatewayProxyEvent, name: string): string[] {
  const all = event.multiValueQueryStringParameters?.[name];
  if (all && all.length > 0) return all;
  const one = event.queryStringParameters?.[name];
  return one === undefined ? [] : [one];
}

/**
 * The routes mail gateways already have clients for: VirusTotal v2 `GET /vtapi/v2/file/report` (rspamd's
 * `virustotal` scanner, key in `?apikey=`) and MetaDefender `GET /v4/hash/{hash}` (rspamd's `metadefender`
 * scanner, key in an `apikey` header). Unknown hashes are 404, which both take as clean; a store failure
 * is 503, which both report as a failed check. A VirusTotal request with `resource` or `apikey` given
 * twice is 400 `invalid_request`.
 */
export function makeGatewayCompatHandler(deps: { store: HashStore; log: Log; now: () => Date }) {
  return makeHttpHandler(
    {
      'GET /vtapi/v2/file/report': async (event) => {
        const hash = parseVirusTotalQuery({ resource: queryValues(event, 'resource'), apikey: queryValues(event, 'apikey') });
        return { statusCode: 200, json: await virusTotalReport(hash, { baseUrl: publicBaseUrl(event), now: deps.now }, deps) };
      },
      'GET /v4/hash/{hash}': async (event) => {
        const hash = parseHash(event.pathParameters?.['hash'] ?? '');
        return { statusCode: 200, json: await metaDefenderReport(hash, { baseUrl: publicBaseUrl(event), now: deps.now }, deps) };
      },
    },
    deps,
  );
}
