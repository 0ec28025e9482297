import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, S3Event } from 'aws-lambda';
import { importRecords } from '../lambdas/core/import.js';
import { MethodNotAllowedError, NotFoundError, PayloadTooLargeError, type AppError } from '../lambdas/core/errors.js';
import { makeDynamoDbClient } from '../lambdas/adapters/clients.js';
import { DynamoDbHashStore } from '../lambdas/adapters/dynamodb-hash-store.js';
import { readRecordFile } from '../lambdas/adapters/seed-file.js';
import { KNOWN_HASHES_KEY, SCANS_KEY } from '../lambdas/adapters/table-schemas.js';
import { mapError } from '../lambdas/http/errors.js';
import { BASE_HEADERS } from '../lambdas/http/handler.js';
import { BINARY_MEDIA_TYPES, FUNCTIONS, MIN_COMPRESSION_BYTES, matchPath, type FunctionId, type RouteSpec } from '../lambdas/http/routes.js';
import { ensureTable, startLocalDynamoDb, type LocalDynamoDb } from './dynamodb-local.js';
import { startLocalS3, type LocalS3 } from './s3-local.js';
import { authorize, readLocalKeys, type LocalKeys } from './auth.js';
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

export interface LocalServerOptions {
  /** Where dynalite keeps its data. */
  readonly dataDir: string;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default read from HASHCHECK_API_KEYS and HASHCHECK_ADMIN_KEY */
  readonly keys?: LocalKeys;
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
    // The page is built in memory at every start, so a fresh clone serves it without a build step.
    const webForm = makeLocalWebForm({ uploadOrigin: s3.endpoint });
    const server = createServer((req, res) => {
      if (webForm.serve(req, res)) return;
      serve(req, res, handlers, keys).catch((error: unknown) => {
        // serve() answers every request itself; this only guards against a socket that broke mid-answer.
        if (!res.headersSent) sendError(res, error, 'local');
        else res.destroy();
      });
    });
    await listen(server, options.port ?? 3000, options.host ?? '127.0.0.1');
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

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: Map<FunctionId, Handler>,
  keys: LocalKeys,
): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const candidates = matchPath(url.pathname);
  const matched = candidates.find((c) => c.route.method === method);
  try {
    if (candidates.length === 0) throw new NotFoundError(`No route ${url.pathname}. See GET /v1/openapi.json for the API.`);
    if (!matched) {
      const allow = candidates.map((c) => c.route.method);
      throw new MethodNotAllowedError(`${method} is not allowed on ${url.pathname}; use ${allow.join(' or ')}.`, allow);
    }
    authorize(matched.route.auth, req, url, keys);
  } catch (error) {
    req.resume();
    return sendError(res, error, requestId);
  }
  const body = await readBody(req, matched.route);
  if (body instanceof Error) {
    req.resume();
    res.setHeader('connection', 'close');
    return sendError(res, body, requestId);
  }
  const event = toEvent(req, url, matched.route, matched.pathParameters, body, requestId);
  const result = await handlers.get(matched.route.function)!(event);
  const encoded = encodeBody(req, result);
  res.writeHead(result.statusCode, { ...(result.headers as Record<string, string>), ...encoded.headers });
  res.end(encoded.body);
}

/**
 * Compresses an answer as API Gateway does with `minimumCompressionSize` set: gzip, or else deflate, when
 * the client's `Accept-Encoding` takes it and the body has at least MIN_COMPRESSION_BYTES.
 */
function encodeBody(req: IncomingMessage, result: APIGatewayProxyResult): { body: Buffer; headers: Record<string, string> } {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  const encodedAlready = Object.keys(result.headers ?? {}).some((name) => name.toLowerCase() === 'content-encoding');
  if (encodedAlready || req.method === 'HEAD' || body.length < MIN_COMPRESSION_BYTES) return { body, headers: {} };
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

/** Reads the body up to the route's limit; past it, stops reading and answers 413 as API Gateway would. */
async function readBody(req: IncomingMessage, route: RouteSpec): Promise<Buffer | AppError> {
  const tooLarge = () =>
    new PayloadTooLargeError(`The body is larger than the ${route.maxBodyBytes} bytes this route takes.${route.largeBodyHint ?? ''}`, {
      details: { limitBytes: route.maxBodyBytes },
    });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > route.maxBodyBytes) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > route.maxBodyBytes) return tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function toEvent(
  req: IncomingMessage,
  url: URL,
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
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isBase64Encoded = BINARY_MEDIA_TYPES.includes(mediaType);
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.path,
    path: url.pathname,
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
      path: url.pathname,
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
  res.writeHead(mapped.statusCode, {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'x-request-id': requestId,
    ...mapped.headers,
  });
  res.end(JSON.stringify(mapped.body));
}
