import { randomUUID } from 'node:crypto';
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { readConfig, readInsideLimits, readRememberContainers } from '../lambdas/adapters/config.js';
import { readRecordFile } from '../lambdas/adapters/seed-file.js';
import { SevenZipLookInside } from '../lambdas/adapters/sevenzip-inside.js';
import type { ContainerMemory, ContainerSightings } from '../lambdas/core/derived.js';
import { MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from '../lambdas/core/errors.js';
import type { LookInside } from '../lambdas/core/inside/look-inside.js';
import type { RecordLister } from '../lambdas/core/exports.js';
import { importRecords, type RecordStore } from '../lambdas/core/import.js';
import type { KnownRecord } from '../lambdas/core/records.js';
import type { ScanStore, UploadSigner } from '../lambdas/core/uploads.js';
import { makeAdminHandler } from '../lambdas/handlers/admin.js';
import { makeCreateUploadHandler } from '../lambdas/handlers/create-upload.js';
import { makeExportHandler } from '../lambdas/handlers/export.js';
import { makeGatewayCompatHandler } from '../lambdas/handlers/gateway-compat.js';
import { makeLookupHandler } from '../lambdas/handlers/lookup.js';
import { makeMetaHandler } from '../lambdas/handlers/meta.js';
import { makeScanInlineHandler } from '../lambdas/handlers/scan-inline.js';
import { makeUploadStatusHandler } from '../lambdas/handlers/upload-status.js';
import { mapError } from '../lambdas/http/errors.js';
import { BASE_HEADERS, type Log } from '../lambdas/http/handler.js';
import {
  BINARY_MEDIA_TYPES,
  FUNCTIONS,
  MIN_COMPRESSION_BYTES,
  matchPath,
  type FunctionId,
  type MatchedRoute,
  type RouteSpec,
} from '../lambdas/http/routes.js';
import { authorize, readAllowedHosts, readLocalKeys, type LocalKeys } from './auth.js';
import { ALLOWED_HOSTS_VARIABLE, allowedHostsFor, isAllowedHost, parseHost, type HostEntry } from './allowed-hosts.js';
import { openEmbeddedStore, type EmbeddedStore } from './embedded-store.js';
import { makeLocalExports } from './exports.js';
import { makeLocalUploads, type UploadDeadline } from './uploads.js';
import {
  acceptedCoding,
  makeClientErrorListener,
  parseRequestTarget,
  rawErrorAnswer,
  readRequestBody,
  sendEdgeError,
  startBodyDeadline,
  edgeErrorHeaders,
  type EdgeError,
  type RequestTarget,
} from './http-edge.js';
import { makeLocalWebForm } from './web.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The seed list loaded into an empty store: the 3CX compromise and the EICAR test file. */
export const SEED_FILE = join(PROJECT_ROOT, 'data', 'known-bad.jsonl');

type HttpHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * How this server runs each function of the route table. A `Record` over every FunctionId: a function
 * added to FUNCTIONS without its local counterpart does not compile, so local and deployed routes
 * cannot drift.
 */
type LocalFunction =
  | { readonly trigger: 'http'; readonly handler: HttpHandler }
  /** Deployed, an upload landing in the bucket invokes it; here the server's own upload URLs scan each body. */
  | { readonly trigger: 'upload-created' }
  /** Deployed, API Gateway asks it for the key of a request; here the server checks keys itself (local/auth.ts). */
  | { readonly trigger: 'api-authorizer' };

/**
 * The folder of the data folder where files are kept while they are looked inside (uploads included, so an
 * upload is written once, there), never the OS temporary folder: what users send stays in the data folder.
 */
export const SCRATCH_FOLDER = 'scratch';

/** An API request's body (at most a few MiB) must arrive within this time of its headers. */
const BODY_DEADLINE_MS = 60_000;

/** Every method the server answers somewhere, for `OPTIONS *`. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;

/**
 * The known-bad list as the service reads and changes it; with the containers members were found in
 * (`containedIn`), which the embedded store keeps.
 */
export interface LocalHashStore extends RecordStore, RecordLister, Partial<ContainerSightings> {
  /** Distinct known-bad records. */
  countRecords(): Promise<number>;
  /** Every record once, in the order of its primary digest, revoked ones left out, read lazily. */
  records(): AsyncIterable<KnownRecord>;
}

/** The stores the service runs on. */
export interface LocalStores {
  readonly hashes: LocalHashStore;
  readonly scans: ScanStore;
  /** The list's version, bumped by every change of the list: what the exports are written once for. */
  listVersion(): number;
}

export interface LocalServerOptions {
  /** The data folder: the embedded store, unless `stores` are given. */
  readonly dataDir: string;
  /**
   * The stores to run on, opened and closed by the caller; by default the server opens the embedded store
   * in `dataDir` and closes it when it stops.
   */
  readonly stores?: LocalStores;
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
  /**
   * How long the body of a request to the API (at most a few MiB) may take in all, counted from its headers,
   * before it is answered 408 and cut off. Uploads to the server's upload URLs have `uploadDeadline` instead.
   * @default 60_000
   */
  readonly bodyDeadlineMs?: number;
  /**
   * How long an upload's body may take in all, by its declared size: a slow link still sends 5 GiB.
   * @default 60 s plus the size at 1 MiB/s, at most 2 h
   */
  readonly uploadDeadline?: UploadDeadline;
  /** Connections open at once; a connection past the cap is closed as it arrives. @default 256 */
  readonly maxConnections?: number;
  /**
   * Milliseconds a read of the embedded store may take before the lookup answers 503, as
   * HASHCHECK_LOOKUP_DEADLINE_MS sets it in AWS. Not used with `stores`, which come with their own.
   * @default read from HASHCHECK_LOOKUP_DEADLINE_MS, else 3000
   */
  readonly lookupDeadlineMs?: number;
  /** Where the handlers log. @default JSON lines on stdout, at POWERTOOLS_LOG_LEVEL or else WARN */
  readonly log?: Log;
}

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  /** The web form's address: the page at `/`, calling the API on the same origin. */
  readonly webFormUrl: string;
  /** Distinct known-bad records in the store when the server started. */
  readonly knownRecords: number;
  /** Whether this start loaded the seed list into an empty store. */
  readonly seeded: boolean;
  /** Whether lookups need an API key (HASHCHECK_API_KEYS is set). */
  readonly keysRequired: boolean;
  /** The data folder. */
  readonly dataDir: string;
  /** The stores the service runs on: those given, or the embedded store it opened. */
  readonly stores: LocalStores;
  /** Stops listening and closes the store it opened (stores given to it stay open). */
  close(): Promise<void>;
}

/**
 * Starts the whole service in this process: the store (the embedded one in the data folder unless stores
 * are given), the seed list into an empty store, and one HTTP server that turns each request into an API
 * Gateway REST proxy event for the handlers Lambda runs, built here from the same factories and bound to
 * these stores. Several servers can run in one process, each on its own stores.
 * @throws StoreInUseError when another server has the data folder's store open.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const configuredHosts = (options.allowedHosts ?? readAllowedHosts()).map((entry) => {
    const parsed = parseHost(entry);
    if (!parsed) throw new Error(`${ALLOWED_HOSTS_VARIABLE}: '${entry}' is not a host or host:port`);
    return parsed;
  });
  const keys = options.keys ?? readLocalKeys();
  let opened: EmbeddedStore | undefined;
  const stores: LocalStores =
    options.stores ??
    (opened = await openEmbeddedStore(options.dataDir, {
      readDeadlineMs: options.lookupDeadlineMs ?? readConfig([]).lookupDeadlineMs,
    }));
  try {
    const store = stores.hashes;
    let knownRecords = await store.countRecords();
    const seeded = knownRecords === 0;
    if (seeded) {
      await importRecords(await readRecordFile(SEED_FILE), { store, now: () => new Date() });
      knownRecords = await store.countRecords();
    }

    const log = options.log ?? makeLocalLogger();
    const now = () => new Date();
    // One look-inside for every path a file enters by, so its limits hold for the server as a whole; its
    // scratch folders are in the data folder, emptied of what a stopped server left there.
    const scratchParent = join(options.dataDir, SCRATCH_FOLDER);
    await mkdir(scratchParent, { recursive: true, mode: 0o700 });
    for (const name of await readdir(scratchParent)) await rm(join(scratchParent, name), { recursive: true, force: true });
    const inside = new SevenZipLookInside(readInsideLimits(), { scratchParent });
    // Containers found bad through a member are remembered in the list, as the deployed functions do.
    const remember = readRememberContainers() ? { store: stores.hashes, now } : undefined;
    let url = '';
    // Large files go to upload URLs on this server itself, signed for one upload; nothing else listens.
    const uploads = await makeLocalUploads({
      dataDir: options.dataDir,
      baseUrl: () => url,
      scans: stores.scans,
      store: stores.hashes,
      inside,
      remember,
      now,
      log,
      bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
      uploadDeadline: options.uploadDeadline,
    });
    const functions = localFunctions({ stores, log, now, inside, remember, uploads: uploads.signer });
    const handlers = new Map<FunctionId, HttpHandler>();
    for (const spec of FUNCTIONS) {
      const local = functions[spec.id];
      if (local.trigger !== spec.trigger) {
        throw new Error(`The function ${spec.id} is triggered by ${spec.trigger} deployed but by ${local.trigger} here`);
      }
      if (local.trigger === 'http') handlers.set(spec.id, local.handler);
    }

    const listenHost = options.host ?? '127.0.0.1';
    const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
    const bodyIdleTimeoutMs = options.bodyIdleTimeoutMs ?? 30_000;
    const bodyDeadlineMs = options.bodyDeadlineMs ?? BODY_DEADLINE_MS;
    const bodyDeadline = { ms: bodyDeadlineMs, message: `The request body did not arrive within ${bodyDeadlineMs / 1000} s.` };
    // The page calls its own origin only: the API and the upload URLs are both on this server.
    const webForm = makeLocalWebForm();
    // Exports are files of the data folder, written once per list version, served before route matching.
    const exports = makeLocalExports({ store: stores, dataDir: options.dataDir, log, keys });
    let allowedHosts: HostEntry[] | undefined;
    const server = createServer(
      {
        // A missing Host is answered by the router, in the error shape, rather than by Node's bare 400.
        requireHostHeader: false,
        headersTimeout: headersTimeoutMs,
        // No deadline for a whole request: each body gets its own (startBodyDeadline), an upload's by its size.
        requestTimeout: 0,
        // Node checks the headers timeout every this often (30 s by default, too coarse for 10 s).
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
      },
      (req, res) => {
        const requestId = randomUUID();
        // Every body has a deadline, an API body's unless the upload URL it goes to sets a later one.
        const deadline = startBodyDeadline(req, res, requestId, bodyDeadline);
        allowedHosts ??= allowedHostsFor(listenHost, (server.address() as AddressInfo).port, configuredHosts);
        const target = checkTarget(req, allowedHosts);
        if (!('path' in target)) {
          req.resume();
          return sendEdgeError(res, target, requestId);
        }
        if (webForm.serve(req, res, target.path)) return;
        if (uploads.handle(req, res, target, requestId, deadline)) return;
        const answer = async () => {
          // A GET or HEAD that declares a body is refused (413) by the route table's size check, as on every route.
          const declaresBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
          if (!declaresBody && (await exports.handle(req, res, target, requestId))) return;
          await serve(req, res, target, requestId, { handlers, keys, bodyIdleTimeoutMs });
        };
        // Upload URLs signed while answering name the host the client used, as the page's own origin.
        uploads.answering(req, target, answer).catch((error: unknown) => {
          // Each of them answers every request itself; this only guards against a socket that broke mid-answer.
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
    server.on('clientError', makeClientErrorListener({ headersTimeoutMs, maxHeaderBytes: maxHeaderSize }));
    await listen(server, options.port ?? 3000, listenHost);
    const { port } = server.address() as AddressInfo;
    url = `http://${listenHost}:${port}`;
    return {
      url,
      port,
      webFormUrl: `${url}/`,
      knownRecords,
      seeded,
      keysRequired: keys.apiKeys.length > 0,
      dataDir: options.dataDir,
      stores,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await opened?.close();
      },
    };
  } catch (error) {
    await opened?.close().catch(() => undefined);
    throw error;
  }
}

/** The handlers' logger as Lambda's: JSON lines, at POWERTOOLS_LOG_LEVEL when it is set, else WARN. */
function makeLocalLogger(): Log {
  return new Logger({ serviceName: 'hashcheck', ...(process.env['POWERTOOLS_LOG_LEVEL'] ? {} : { logLevel: 'WARN' }) });
}

/** Every function of the route table, built from its factory and bound to these stores. */
function localFunctions(deps: {
  stores: LocalStores;
  log: Log;
  now: () => Date;
  inside: LookInside;
  remember: ContainerMemory | undefined;
  uploads: UploadSigner;
}): Record<FunctionId, LocalFunction> {
  const { stores, log, now, inside, remember } = deps;
  const http = (handler: HttpHandler) => ({ trigger: 'http', handler }) as const;
  return {
    lookup: http(makeLookupHandler({ store: stores.hashes, log })),
    meta: http(makeMetaHandler({ log })),
    'scan-inline': http(makeScanInlineHandler({ store: stores.hashes, log, inside, remember })),
    'create-upload': http(makeCreateUploadHandler({ scans: stores.scans, objects: deps.uploads, now, log })),
    'upload-status': http(makeUploadStatusHandler({ scans: stores.scans, now, log })),
    'scan-object': { trigger: 'upload-created' },
    admin: http(makeAdminHandler({ store: stores.hashes, now, log })),
    'gateway-compat': http(makeGatewayCompatHandler({ store: stores.hashes, now, log })),
    export: http(makeExportHandler({ lister: stores.hashes, log })),
    'api-key-authorizer': { trigger: 'api-authorizer' },
  };
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
  deps: { handlers: Map<FunctionId, HttpHandler>; keys: LocalKeys; bodyIdleTimeoutMs: number },
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
