import { makeHttpHandler, type Log } from '../http/handler.js';
import { buildOpenApiDocument } from '../http/openapi.js';

/** `GET /v1/health` and `GET /v1/openapi.json`: neither touches the store. */
export function makeMetaHandler(deps: { log: Log }) {
  const document = buildOpenApiDocument();
  return makeHttpHandler(
    {
      'GET /v1/health': async () => ({ statusCode: 200, json: { status: 'ok', service: 'hashcheck' } }),
      'GET /v1/openapi.json': async () => ({ statusCode: 200, json: document }),
    },
    deps,
  );
}
