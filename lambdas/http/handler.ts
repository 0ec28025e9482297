import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { CORS_ORIGIN_VARIABLE, readConfig } from '../adapters/config.js';
import { NotFoundError, UnsupportedMediaTypeError } from '../core/errors.js';
import { LARGE_ANSWER_BYTES } from '../core/limits.js';
import type { LargeAnswer } from '../core/schemas.js';
import { mapError } from './errors.js';
import type { RouteKey } from './routes.js';

/** What a route answers: a JSON value, or raw text with its own content type. */
export interface HttpResult {
  statusCode: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteContext {
  requestId: string;
}

export type RouteHandler = (event: APIGatewayProxyEvent, context: RouteContext) => Promise<HttpResult>;

/** The few logger methods handlers use; Powertools' Logger has them. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
  /**
   * Puts the invocation's Lambda context on every line that follows: its request id
   * (`function_request_id`), whether it is a cold start (`cold_start`), the function's name, version and memory.
   */
  addContext?(context: Context): void;
}

/**
 * Where answers too large for a deployed function's result go: stored for a while, fetched by the client
 * from the link `put` returns (deployed: an S3 object behind a presigned GET).
 */
export interface LargeAnswerStore {
  /**
   * Stores one answer and returns the link to fetch it from, without credentials, for a while.
   * @throws UpstreamUnavailableError when it cannot be stored
   */
  put(body: string, contentType: string): Promise<{ location: string }>;
}

/** Headers on every answer: the API serves JSON to programs and must never be sniffed or cached. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** The variable naming the one browser origin allowed to read answers (the web form's); set by the stack. */
export { CORS_ORIGIN_VARIABLE };

/**
 * CORS headers for the web form's origin, read through `readConfig` when a handler is made (at cold
 * start); none when the variable is unset (the local server serves the form on the API's own origin).
 * API Gateway answers the preflight itself.
 */
export function corsHeaders(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const origin = readConfig([], env).corsOrigin;
  if (!origin) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'x-request-id, retry-after', vary: 'Origin' };
}

function toResult(result: HttpResult, requestId: string, cors: Readonly<Record<string, string>>): APIGatewayProxyResult {
  const isJson = result.text === undefined;
  return {
    statusCode: result.statusCode,
    headers: {
      ...BASE_HEADERS,
      ...cors,
      'content-type': isJson ? 'application/json; charset=utf-8' : (result.contentType ?? 'text/plain; charset=utf-8'),
      'x-request-id': requestId,
      ...result.headers,
    },
    body: isJson ? JSON.stringify(result.json) : result.text!,
  };
}

/** The charsets text bodies may declare: UTF-8 and its subset US-ASCII. */
export const ACCEPTED_CHARSETS: readonly string[] = ['utf-8', 'us-ascii'];
const CHARSET_ALIASES: Readonly<Record<string, string>> = { utf8: 'utf-8', ascii: 'us-ascii' };

/** Media types whose body the service reads as text (lists, feeds, JSON), where a charset means something. */
function isTextMediaType(type: string): boolean {
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json') || type === 'application/x-ndjson';
}

/**
 * Refuses a text body the service would misread: one declaring a charset other than UTF-8 or US-ASCII
 * (`text/plain; charset=utf-16`), or one holding NUL characters, which is what UTF-16 sent without a
 * charset (PowerShell's `Out-File`, Notepad's "Unicode") looks like once read as UTF-8. Neither reaches
 * the handler intact to be decoded (API Gateway passes text bodies as UTF-8 strings), so both are a 415
 * naming what is accepted, never a list of invalid lines. File bodies (binary media types) carry no charset
 * that matters and are not looked at.
 * @throws UnsupportedMediaTypeError
 */
export function requireUtf8Text(event: APIGatewayProxyEvent): void {
  if (!event.body) return;
  const contentType = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  if (!contentType) return;
  const [rawType = '', ...params] = contentType.split(';');
  const type = rawType.trim().toLowerCase();
  if (!isTextMediaType(type)) return;
  const accepted = `send UTF-8 text (charset=utf-8, or no charset)`;
  for (const param of params) {
    const at = param.indexOf('=');
    if (at < 0 || param.slice(0, at).trim().toLowerCase() !== 'charset') continue;
    const declared = param.slice(at + 1).trim().replace(/^"(.*)"$/, '$1');
    const charset = declared.toLowerCase();
    if (!ACCEPTED_CHARSETS.includes(CHARSET_ALIASES[charset] ?? charset)) {
      throw new UnsupportedMediaTypeError(
        `The body is declared as charset '${declared.slice(0, 40)}', which this API does not read: ${accepted}. ` +
          `Convert it first, e.g. iconv -f ${declared.slice(0, 40) || 'UTF-16'} -t UTF-8.`,
        { details: { acceptedCharsets: ACCEPTED_CHARSETS } },
      );
    }
  }
  const holdsNul = event.isBase64Encoded ? Buffer.from(event.body, 'base64').includes(0) : event.body.includes('\u0000');
  if (holdsNul) {
    throw new UnsupportedMediaTypeError(
      `The body holds NUL characters, as UTF-16 text does when it is read as UTF-8: ${accepted}. ` +
        'Convert it first, e.g. iconv -f UTF-16 -t UTF-8.',
      { details: { acceptedCharsets: ACCEPTED_CHARSETS } },
    );
  }
}

/**
 * The thin adapter between API Gateway REST proxy events (v1 payload) and route functions: dispatch on
 * method and resource (`HEAD` on a resource without a HEAD route is its GET route's answer with an empty
 * body: same status and headers), refuse text bodies that are not UTF-8, map every error through the one error
 * table, log failures without bodies. The Lambda context, when the runtime gives one, goes to the logger
 * first, so every line of the invocation carries its request id and cold start. Configuration (the CORS
 * origin) is read through `readConfig` here, when the handler is made. With `largeAnswers` (deployed), a
 * successful answer too large for a function's result is stored there and answered `303 See Other`.
 */
export function makeHttpHandler(
  routes: Partial<Record<RouteKey, RouteHandler>>,
  deps: { log: Log; largeAnswers?: LargeAnswerStore },
): (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult> {
  const cors = corsHeaders();
  return async (event, context) => {
    if (context) deps.log.addContext?.(context);
    const requestId = event.requestContext?.requestId ?? 'local';
    const key = `${event.httpMethod} ${event.resource}` as RouteKey;
    // HEAD is GET without the body: a resource with no HEAD route of its own answers it by its GET route.
    const headByGet = event.httpMethod === 'HEAD' && !routes[key];
    const answer = (result: HttpResult) => {
      const answered = toResult(result, requestId, cors);
      return headByGet ? { ...answered, body: '' } : answered;
    };
    try {
      const route = headByGet ? routes[`GET ${event.resource}`] : routes[key];
      if (!route) throw new NotFoundError(`No route ${event.httpMethod} ${event.path}.`);
      requireUtf8Text(event);
      const answered = answer(await route(event, { requestId }));
      if (!deps.largeAnswers) return answered;
      const redirected = await redirectIfLarge(answered, deps.largeAnswers, requestId, cors);
      if (redirected !== answered) deps.log.info('answer too large for the result: stored and redirected', { route: key, requestId, bytes: Buffer.byteLength(answered.body) });
      return redirected;
    } catch (error) {
      const mapped = mapError(error, requestId);
      const fields = { route: key, requestId, status: mapped.statusCode, code: mapped.body.error.code };
      if (mapped.statusCode >= 500) deps.log.error('request failed', { ...fields, error });
      else deps.log.info('request rejected', fields);
      return answer({ statusCode: mapped.statusCode, json: mapped.body, headers: mapped.headers });
    }
  };
}

/** More than the status and headers of any answer take in a function's result. */
const MAX_HEADER_BYTES = 16 * 1024;

/** The bytes of a function's result as Lambda counts them: the result serialised as JSON, the body's escapes included. */
export function resultBytes(result: APIGatewayProxyResult): number {
  return Buffer.byteLength(JSON.stringify(result));
}

/**
 * A successful answer too large for a function's result (over {@link LARGE_ANSWER_BYTES} once serialised)
 * is stored and answered `303 See Other` with the link in `Location` and a {@link LargeAnswer} body; HTTP
 * clients (fetch in browsers and Node, the command line) follow it with a GET. Error answers and smaller
 * answers go as they are.
 */
async function redirectIfLarge(
  result: APIGatewayProxyResult,
  store: LargeAnswerStore,
  requestId: string,
  cors: Readonly<Record<string, string>>,
): Promise<APIGatewayProxyResult> {
  if (result.statusCode !== 200 || result.isBase64Encoded) return result;
  const bytes = Buffer.byteLength(result.body);
  // Escaping grows a body at most sixfold (a control character becomes \u0001): most answers are known to
  // fit without serialising the result a second time.
  if (6 * bytes + MAX_HEADER_BYTES <= LARGE_ANSWER_BYTES || resultBytes(result) <= LARGE_ANSWER_BYTES) return result;
  const contentType = String(result.headers?.['content-type'] ?? 'application/json; charset=utf-8');
  const { location } = await store.put(result.body, contentType);
  const moved: LargeAnswer = { answer: location, bytes };
  return toResult({ statusCode: 303, json: moved, headers: { location } }, requestId, cors);
}
