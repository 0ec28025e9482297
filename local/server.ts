import { randomUUID } from 'node:crypto';
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, S3Event } from 'aws-lambda';
import { importRecords } from '../lambdas/core/import.js';
import { MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from '../lambdas/core/errors.js';
import { makeDynamoDbClient } from '../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../lambdas/adapters/dynamodb-hash-store.js';
import { readRecordFile } from '../lambdas/adapters/seed-file.js';
import { KNOWN_HASHES_KEY, SCANS_KEY } from '../lambdas/adapters/table-schemas.js';
import { mapError } from '../lambdas/http/errors.js';
import { BASE_HEADERS } from '../lambdas/http/handler.js';
import {
  BINARY_MEDIA_TYPES,
  FUNCTIONS,
  MIN_COMPRESSION_BYTES,
  matchPath,
  type FunctionId,
  type MatchedRoute,
  type RouteSpec,
} from '../lambdas/http/routes.js';
import { ensureTable, startLocalDynamoDb, type LocalDynamoDb } from './dynamodb-local.js';
import { startLocalS3, type LocalS3 } from './s3-local.js';
import { authorize, readAllowedHosts, readLocalKeys, type LocalKeys } from './auth.js';
import { ALLOWED_HOSTS_VARIABLE, allowedHostsFor, isAllowedHost, parseHost, type HostEntry } from './allowed-hosts.js';
import {
  makeClientErrorListener,
  parseRequestTarget,
  rawErrorAnswer,
  readRequestBody,
  sendEdgeError,
  edgeErrorHeaders,
  type EdgeError,
  type RequestTarget,
} from './http-edge.js';
import { localPageOrigins, makeLocalWebForm } from './web.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The seed list loaded into an empty table: the 3CX compromise and the EICAR test file. */
export const SEED_FILE = join(PROJECT_ROOT, 'data', 'known-bad.jsonl');
export const KNOWN_HASHES_TABLE = 'KnownHashes';
export const SCANS_TABLE = 'Scans';
export const UPLOAD_BUCKET = 'hashcheck-uploads';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type ObjectCreatedHandler = (event: S3Event) => Promise<void>;

/**
 * Lambda retries a failed asynchronous invocation twice before it gives the event to the failure
 * destination; the local server does the same, with shorter pauses.
 */
const EVENT_RETRY_DELAYS_MS = [200, 1000];

/** A whole request (headers and body) must arrive within this time: Node's own default, named. */
const REQUEST_TIMEOUT_MS = 300_000;

/** Every method the server answers somewhere, for `OPTIONS *`. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;

export interface LocalServerOptions {
  /** Where dynalite keeps its data. */
  readonly dataDir: string;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default read from HASHCHECK_API_KEYS and HASHCHECK_ADMIN_KEY */
  readonly keys?: LocalKeys;
  /**
   * Names (`host` or `host:port`) the server answers to besides the loopback names and the address it
   * listens on; requests naming any other Host are answered 421.
   * @default read from HASHCHECK_ALLOWED_HOSTS
   */
  readonly allowedHosts?: readonly string[];
  /** How long a client may take to send a request's headers before it is answered 408 and cut off. @default 10_000 */
  readonly headersTimeoutMs?: number;
  /** How long a request body may go without a byte before it is answered 408 and cut off. @default 30_000 */
  readonly bodyIdleTimeoutMs?: number;
  /** Connections open at once; a connection past the cap is closed as it arrives. @default 256 */
  readonly maxConnections?: number;
  /**
   * Milliseconds a lookup may wait on the store before it answers 503, as HASHCHECK_LOOKUP_DEADLINE_MS sets
   * it in AWS; for the first server of a process, which loads the handler modules.
   * @default read from HASHCHECK_LOOKUP_DEADLINE_MS, else 3000
   */
  readonly lookupDeadlineMs?: number;
}

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  /** The web form's address: the page at `/`, calling the API on the same origin. */
  readonly webFormUrl: string;
  /** Distinct known-bad records in the table when the server started. */
  readonly knownRecords: number;
  /** Whether this start loaded the seed list into an empty table. */
  readonly seeded: boolean;
  /** Whether lookups need an API key (HASHCHECK_API_KEYS is set). */
  readonly keysRequired: boolean;
  /** The embedded DynamoDB emulator, so tests can stop it to see the service fail closed. */
  readonly dynamoDb: LocalDynamoDb;
  /** The embedded S3 emulator that receives large uploads. */
  readonly s3: LocalS3;
  close(): Promise<void>;
}

/**
 * Starts the whole service in this process: dynalite, the tables and seed list, and an HTTP server that
 * turns each request into an API Gateway REST proxy event for the same handler modules Lambda runs.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const configuredHosts = (options.allowedHosts ?? readAllowedHosts()).map((entry) => {
    const parsed = parseHost(entry);
    if (!parsed) throw new Error(`${ALLOWED_HOSTS_VARIABLE}: '${entry}' is not a host or host:port`);
    return parsed;
  });
  const dynamoDb = await startLocalDynamoDb(join(options.dataDir, 'dynamodb'));
  let scanObject: ObjectCreatedHandler | undefined;
  let s3: LocalS3 | undefined;
  try {
    s3 = await startLocalS3({
      dir: join(options.dataDir, 's3'),
      buckets: [UPLOAD_BUCKET],
      onObjectCreated: (event) => deliver(event, scanObject),
    });
    // The handler modules read their configuration at import, exactly as on a Lambda cold start.
    process.env['KNOWN_HASHES_TABLE'] = KNOWN_HASHES_TABLE;
    process.env['SCANS_TABLE'] = SCANS_TABLE;
    process.env['UPLOAD_BUCKET'] = UPLOAD_BUCKET;
    process.env['HASHCHECK_DYNAMODB_ENDPOINT'] = dynamoDb.endpoint;
    process.env['HASHCHECK_S3_ENDPOINT'] = s3.endpoint;
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
    if (options.lookupDeadlineMs !== undefined) process.env['HASHCHECK_LOOKUP_DEADLINE_MS'] = String(options.lookupDeadlineMs);

    const client = makeDynamoDbClient({ endpoint: dynamoDb.endpoint });
    await ensureTable(client, KNOWN_HASHES_TABLE, KNOWN_HASHES_KEY);
    await ensureTable(client, SCANS_TABLE, SCANS_KEY);
    const store = new DynamoDbHashStore(client, { tableName: KNOWN_HASHES_TABLE });
    let knownRecords = await store.countRecords();
    const seeded = knownRecords === 0;
    if (seeded) {
      await importRecords(await readRecordFile(SEED_FILE), { store, now: () => new Date() });
      knownRecords = await store.countRecords();
    }
    client.destroy();

    const handlers = new Map<FunctionId, Handler>();
    for (const spec of FUNCTIONS) {
      const module = (await import(pathToFileURL(join(PROJECT_ROOT, spec.entry)).href)) as { handler: unknown };
      if (spec.trigger === 'upload-created') scanObject = module.handler as ObjectCreatedHandler;
      else handlers.set(spec.id, module.handler as Handler);
    }

    const keys = options.keys ?? readLocalKeys();
    const listenHost = options.host ?? '127.0.0.1';
    const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
    const bodyIdleTimeoutMs = options.bodyIdleTimeoutMs ?? 30_000;
    // The page is built in memory at every start, so a fresh clone serves it without a build step.
    const webForm = makeLocalWebForm({ uploadOrigin: s3.endpoint });
    let allowedHosts: HostEntry[] | undefined;
    const server = createServer(
      {
        // A missing Host is answered by the router, in the error shape, rather than by Node's bare 400.
        requireHostHeader: false,
        headersTimeout: headersTimeoutMs,
        requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headersTimeoutMs),
        // Node checks the two timeouts above every this often (30 s by default, too coarse for 10 s).
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
      },
      (req, res) => {
        const requestId = randomUUID();
        allowedHosts ??= allowedHostsFor(listenHost, (server.address() as AddressInfo).port, configuredHosts);
        const target = checkTarget(req, allowedHosts);
        if (!('path' in target)) {
          req.resume();
          return sendEdgeError(res, target, requestId);
        }
        if (webForm.serve(req, res, target.path)) return;
        serve(req, res, target, requestId, { handlers, keys, bodyIdleTimeoutMs }).catch((error: unknown) => {
          // serve() answers every request itself; this only guards against a socket that broke mid-answer.
          if (!res.headersSent && res.writable) sendError(res, error, requestId);
          else res.destroy();
        });
      },
    );
    server.maxConnections = options.maxConnections ?? 256;
    // Node would answer these itself with an empty body (417) or by dropping the connection (CONNECT).
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      res.setHeader('connection', 'close');
      const message = `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only Expect: 100-continue is.`;
      sendEdgeError(res, { status: 417, code: 'invalid_request', message }, randomUUID());
    });
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      const message = 'CONNECT is not allowed: this is not a proxy. See GET /v1/openapi.json for the API.';
      socket.end(rawErrorAnswer({ status: 405, code: 'method_not_allowed', message }, randomUUID()));
    });
    server.on('clientError', makeClientErrorListener({ headersTimeoutMs, requestTimeoutMs: server.requestTimeout, maxHeaderBytes: maxHeaderSize }));
    await listen(server, options.port ?? 3000, listenHost);
    const { port } = server.address() as AddressInfo;
    // The page sends large files straight to the local S3, another origin: its CORS rule must name the page.
    try {
      await s3.allowBrowserUploads(UPLOAD_BUCKET, localPageOrigins(options.host ?? '127.0.0.1', port));
    } catch (error) {
      server.closeAllConnections();
      server.close();
      throw error;
    }
    return {
      url: `http://${options.host ?? '127.0.0.1'}:${port}`,
      port,
      webFormUrl: `http://${options.host ?? '127.0.0.1'}:${port}/`,
      knownRecords,
      seeded,
      keysRequired: keys.apiKeys.length > 0,
      dynamoDb,
      s3,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await s3?.close().catch(() => undefined);
        await dynamoDb.close().catch(() => undefined);
      },
    };
  } catch (error) {
    await s3?.close().catch(() => undefined);
    await dynamoDb.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Hands an upload's ObjectCreated event to the scan-object handler as Lambda's asynchronous invocation
 * does: a failure is retried, and one that keeps failing is reported (in AWS it goes to the failure
 * destination; the object then expires by the bucket's lifecycle rule).
 */
async function deliver(event: S3Event, handler: ObjectCreatedHandler | undefined): Promise<void> {
  if (!handler) throw new Error('An upload arrived before the scan-object handler was loaded');
  for (let attempt = 0; ; attempt++) {
    try {
      await handler(event);
      return;
    } catch (error) {
      const delay = EVENT_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Checks the request line and the Host it names. Returns the target, or the error to answer with: a Host
 * other than the server's own names is 421, so a page of another site rebound to this address (DNS
 * rebinding) cannot read the API.
 */
function checkTarget(req: IncomingMessage, allowedHosts: readonly HostEntry[]): RequestTarget | EdgeError {
  const target = parseRequestTarget(req.url ?? '');
  if (!target) return { status: 400, code: 'invalid_request', message: 'The request target is neither a path nor an absolute http URL.' };
  const host = target.host ?? req.headers.host;
  if (host === undefined) {
    if (req.httpVersion === '1.0') return target;
    return { status: 400, code: 'invalid_request', message: 'An HTTP/1.1 request needs a Host header naming this server.' };
  }
  if (isAllowedHost(host, allowedHosts)) return target;
  const shown = host.length > 100 ? `${host.slice(0, 100)}…` : host;
  return {
    status: 421,
    code: 'invalid_request',
    message: `This server does not answer for the host '${shown}'. If you reach it by that name, add the name to ${ALLOWED_HOSTS_VARIABLE} (comma-separated host or host:port).`,
  };
}

/** The methods a path answers, in a stable order: HEAD wherever GET is, and OPTIONS everywhere. */
function allowedMethods(candidates: readonly MatchedRoute[]): string[] {
  const methods = new Set<string>(candidates.map((c) => c.route.method));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return METHOD_ORDER.filter((m) => methods.has(m));
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  target: RequestTarget,
  requestId: string,
  deps: { handlers: Map<FunctionId, Handler>; keys: LocalKeys; bodyIdleTimeoutMs: number },
): Promise<void> {
  const method = req.method ?? 'GET';
  const candidates = target.asterisk ? [] : matchPath(target.path);
  const allow = target.asterisk ? [...METHOD_ORDER] : allowedMethods(candidates);
  if (method === 'OPTIONS' && (target.asterisk || candidates.length > 0)) {
    req.resume();
    res.writeHead(204, { ...BASE_HEADERS, allow: allow.join(', '), 'x-request-id': requestId });
    res.end();
    return;
  }
  // HEAD is answered by the GET route where the path has no HEAD route of its own, without the body.
  const matched =
    candidates.find((c) => c.route.method === method) ?? (method === 'HEAD' ? candidates.find((c) => c.route.method === 'GET') : undefined);
  try {
    if (candidates.length === 0) throw new NotFoundError(`No route ${target.path}. See GET /v1/openapi.json for the API.`);
    if (!matched) throw new MethodNotAllowedError(`${method} is not allowed on ${target.path}; use ${allow.join(', ')}.`, allow);
    authorize(matched.route.auth, req, target, deps.keys);
  } catch (error) {
    req.resume();
    return sendError(res, error, requestId);
  }
  const route = matched.route;
  const tooLarge = () =>
    new PayloadTooLargeError(`The body is larger than the ${route.maxBodyBytes} bytes this route takes.${route.largeBodyHint ?? ''}`, {
      details: { limitBytes: route.maxBodyBytes },
    });
  if (Number(req.headers['content-length'] ?? 0) > route.maxBodyBytes) {
    req.resume();
    res.setHeader('connection', 'close');
    return sendError(res, tooLarge(), requestId);
  }
  const body = await readRequestBody(req, route.maxBodyBytes, deps.bodyIdleTimeoutMs);
  // The client went away, or the parser refused the rest and the clientError listener answered.
  if (body === 'aborted') return;
  if (body === 'tooLarge' || body === 'stalled') {
    res.setHeader('connection', 'close');
    if (body === 'tooLarge') return sendError(res, tooLarge(), requestId);
    const message = `The request body stopped arriving: no byte for ${deps.bodyIdleTimeoutMs / 1000} s.`;
    return sendEdgeError(res, { status: 408, code: 'invalid_request', message }, requestId);
  }
  const event = toEvent(req, target, route, matched.pathParameters, body, requestId);
  const result = await deps.handlers.get(route.function)!(event);
  const encoded = encodeBody(req, result);
  const headers: Record<string, string> = { ...(result.headers as Record<string, string>), ...encoded.headers };
  // As for GET: a HEAD answer announces the length of the body it leaves out.
  if (result.statusCode !== 204 && result.statusCode !== 304) headers['content-length'] = String(encoded.body.length);
  res.writeHead(result.statusCode, headers);
  res.end(method === 'HEAD' ? undefined : encoded.body);
}

/**
 * Compresses an answer as API Gateway does with `minimumCompressionSize` set: gzip, or else deflate, when
 * the client's `Accept-Encoding` takes it and the body has at least MIN_COMPRESSION_BYTES.
 */
function encodeBody(req: IncomingMessage, result: APIGatewayProxyResult): { body: Buffer; headers: Record<string, string> } {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  const encodedAlready = Object.keys(result.headers ?? {}).some((name) => name.toLowerCase() === 'content-encoding');
  // HEAD is encoded as GET would be, so its headers are those of the GET answer.
  if (encodedAlready || body.length < MIN_COMPRESSION_BYTES) return { body, headers: {} };
  const coding = acceptedCoding(req.headers['accept-encoding']);
  if (coding === undefined) return { body, headers: {} };
  return { body: coding === 'gzip' ? gzipSync(body) : deflateSync(body), headers: { 'content-encoding': coding } };
}

/** The coding to use by `Accept-Encoding` (RFC 9110 12.5.3): gzip before deflate, none with q=0 or `*;q=0`. */
function acceptedCoding(header: string | undefined): 'gzip' | 'deflate' | undefined {
  if (!header) return undefined;
  const weights = new Map<string, number>();
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    weights.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  const weight = (coding: string) => weights.get(coding) ?? weights.get('*') ?? 0;
  if (weight('gzip') > 0) return 'gzip';
  if (weight('deflate') > 0) return 'deflate';
  return undefined;
}

function toEvent(
  req: IncomingMessage,
  target: RequestTarget,
  route: RouteSpec,
  pathParameters: Record<string, string>,
  body: Buffer,
  requestId: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of target.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isBase64Encoded = BINARY_MEDIA_TYPES.includes(mediaType);
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.path,
    path: target.path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body.length === 0 ? null : body.toString(isBase64Encoded ? 'base64' : 'utf8'),
    isBase64Encoded,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: route.method,
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? null } as APIGatewayProxyEvent['requestContext']['identity'],
      path: target.path,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
    },
  };
}

function sendError(res: ServerResponse, error: unknown, requestId: string): void {
  const mapped = mapError(error, requestId);
  const body = JSON.stringify(mapped.body);
  res.writeHead(mapped.statusCode, { ...edgeErrorHeaders(requestId, Buffer.byteLength(body)), ...mapped.headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
