import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BASE_HEADERS } from '../lambdas/http/handler.js';

/** An answer the local server makes itself, before any function runs, in the shape of every error. */
export interface EdgeError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The headers of an error answer: those every answer of the service has, and the request id. */
export function edgeErrorHeaders(requestId: string, bodyBytes: number): Record<string, string> {
  return {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(bodyBytes),
    'x-request-id': requestId,
  };
}

function edgeErrorBody(error: EdgeError, requestId: string): string {
  return JSON.stringify({ error: { code: error.code, message: error.message, requestId } });
}

/** Answers a request with an edge error; the body is left out for HEAD. */
export function sendEdgeError(res: ServerResponse, error: EdgeError, requestId: string, extraHeaders: Record<string, string> = {}): void {
  const body = edgeErrorBody(error, requestId);
  res.writeHead(error.status, { ...edgeErrorHeaders(requestId, Buffer.byteLength(body)), ...extraHeaders });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** What the request line targets: the path exactly as sent (never normalised), the query, and a host it names. */
export interface RequestTarget {
  readonly path: string;
  readonly searchParams: URLSearchParams;
  /** The authority of an absolute-form target (`GET http://host/path`), which stands in for Host. */
  readonly host?: string;
  /** `OPTIONS *`: the server as a whole. */
  readonly asterisk: boolean;
}

/**
 * Splits the request target into its path and query without resolving it against a base URL: `//v1/x`
 * stays `//v1/x` (a URL parser would read `v1` as a host). `undefined` when it is no request target.
 */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  if (target === '*') return { path: '*', searchParams: new URLSearchParams(), asterisk: true };
  if (target.startsWith('/')) {
    const query = target.indexOf('?');
    return {
      path: query < 0 ? target : target.slice(0, query),
      searchParams: new URLSearchParams(query < 0 ? '' : target.slice(query + 1)),
      asterisk: false,
    };
  }
  const absolute = /^https?:\/\/([^/?#]*)(\/[^#]*)?$/i.exec(target);
  if (!absolute) return undefined;
  const rest = parseRequestTarget(absolute[2] ?? '/')!;
  return { ...rest, host: absolute[1]! };
}

/** What Node's HTTP parser reports, with the bytes it stopped at. */
type ParserError = NodeJS.ErrnoException & { rawPacket?: Buffer };

/** The limits the edge applies, for the messages that name them. */
export interface EdgeLimits {
  readonly headersTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

const PARSE_ERRORS: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: 'The request line does not start with an HTTP method (GET, HEAD, POST, PUT, DELETE or OPTIONS, in capitals).',
  HPE_INVALID_CONSTANT: 'The request is not HTTP/1.1: expected METHOD /path HTTP/1.1.',
  HPE_INVALID_VERSION: 'The request line does not end with a supported HTTP version (HTTP/1.1 or HTTP/1.0).',
  HPE_INVALID_URL: 'The request path is not a valid URL path: characters outside printable ASCII must be percent-encoded.',
  HPE_INVALID_TRANSFER_ENCODING:
    'Transfer-Encoding is not acceptable: it may not come with Content-Length, and a request body must end with chunked.',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'A request may not carry both Content-Length and Transfer-Encoding.',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length must be one decimal number of bytes.',
  HPE_INVALID_CHUNK_SIZE: 'A chunk of the chunked body does not start with a hexadecimal size.',
  HPE_INVALID_EOF_STATE: 'The connection ended before the whole request arrived: the body is shorter than its Content-Length.',
  HPE_INVALID_HEADER_TOKEN: 'A header name or value holds characters HTTP does not allow.',
  HPE_LF_EXPECTED: 'A line of the request does not end with CRLF.',
  HPE_CR_EXPECTED: 'A line of the request does not end with CRLF.',
};

/**
 * Whether the parser gave up inside the request line: the bytes it stopped at start with a method, and the
 * line does not end within the limit.
 */
function requestLineTooLong(packet: Buffer | undefined, maxHeaderBytes: number): boolean {
  if (!packet || !/^[A-Z]+ \//.test(packet.subarray(0, 32).toString('latin1'))) return false;
  const end = packet.indexOf('\r\n');
  return end < 0 || end > maxHeaderBytes;
}

/** The answer to a request Node's HTTP parser refused, or to a connection that sent no request in time. */
export function clientErrorAnswer(error: ParserError, limits: EdgeLimits): EdgeError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'invalid_request',
      message: `The request did not arrive in time: headers within ${limits.headersTimeoutMs / 1000} s.`,
    };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const kib = Math.floor(limits.maxHeaderBytes / 1024);
    return requestLineTooLong(error.rawPacket, limits.maxHeaderBytes)
      ? { status: 414, code: 'invalid_request', message: `The URL is longer than the ${kib} KiB the server reads for a request line and its headers.` }
      : 
{ status: 431, code: 'invalid_request', message: `The request headers are larger than the ${kib} KiB the server reads.` };
  }
  return {
    status: 400,
    code: 'invalid_request',
    message: PARSE_ERRORS[error.code ?? ''] ?? 'The request is not valid HTTP/1.1.',
  };
}

/**
 * The `clientError` listener: answers what Node's HTTP parser refuses (and a connection that sent no
 * request in time) with a whole HTTP/1.1 error answer on the socket, then closes it. Nothing is written
 * when the socket can no longer take it or an answer to an earlier request is under way on it.
 */
export function makeClientErrorListener(limits: EdgeLimits): (error: Error, socket: Duplex) => void {
  return (error, socket) => {
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    // Node detaches a finished answer from its socket by setting this to null.
    const answering = pending != null && (pending.headersSent || pending.req?.complete === true);
    const code = (error as ParserError).code;
    if (!socket.writable || answering || code === 'ECONNRESET' || code === 'EPIPE') {
      socket.destroy();
      return;
    }
    socket.end(rawErrorAnswer(clientErrorAnswer(error as ParserError, limits), randomUUID()));
  };
}

/** A whole HTTP/1.1 error answer as bytes to write on a socket, announcing that the connection closes. */
export function rawErrorAnswer(answer: EdgeError, requestId: string, extraHeaders: Record<string, string> = {}): string {
  const body = edgeErrorBody(answer, requestId);
  const headers = { ...edgeErrorHeaders(requestId, Buffer.byteLength(body)), ...extraHeaders, connection: 'close' };
  const head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  return head + body;
}

/**
 * Reads a request's body up to `maxBytes`, giving up when no byte arrives for `idleMs`. The outcome is the
 * body, `tooLarge` past the limit, `stalled` after the idle time, or `aborted` when the client went away.
 */
export function readRequestBody(
  req: IncomingMessage,
  maxBytes: number,
  idleMs: number,
): Promise<Buffer | 'tooLarge' | 'stalled' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: Buffer | 'tooLarge' | 'stalled' | 'aborted') => {
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('aborted', onAborted).off('timeout', onIdle);
      req.setTimeout(0);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish('tooLarge');
      else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    const onAborted = () => finish('aborted');
    const onIdle = () => finish('stalled');
    // A listener on the request keeps Node from destroying the socket at the timeout: the answer comes first.
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('aborted', onAborted).on('timeout', onIdle);
    req.setTimeout(idleMs);
  });
}

/** The time a request's body may take in all, and the words the 408 answer says it with. */
export interface BodyDeadline {
  readonly ms: number;
  /** The message of the 408 answer, e.g. `The request body did not arrive within 60 s.` */
  readonly message: string;
}

/** A request's whole-body deadline, counted from its headers; a route that takes longer bodies moves it. */
export interface RequestDeadline {
  /** Puts the deadline `deadline.ms` after the request's headers arrived, in place of the one before. */
  set(deadline: BodyDeadline): void;
}

/**
 * Gives a request's body a deadline of its own, counted from its headers: a body still arriving when it
 * passes is answered 408 (connection closed), or, when an answer went out already (the body was not
 * wanted), the connection is closed. A request whose body is in by then is left alone. Node's own
 * whole-request timeout is one figure for every route; this lets an upload of gigabytes take its time while
 * the API's bodies of a few MiB may not.
 */
export function startBodyDeadline(req: IncomingMessage, res: ServerResponse, requestId: string, initial: BodyDeadline): RequestDeadline {
  const started = Date.now();
  const socket = req.socket;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(timer);
    socket.off('close', stop);
  };
  const expire = (deadline: BodyDeadline) => {
    stop();
    if (req.complete || socket.destroyed) return;
    if (!res.headersSent && res.writable) {
      res.setHeader('connection', 'close');
      sendEdgeError(res, { status: 408, code: 'invalid_request', message: deadline.message }, requestId);
    } else {
      socket.destroy();
    }
  };
  const set = (deadline: BodyDeadline) => {
    clearTimeout(timer);
    if (req.complete || socket.destroyed) return stop();
    timer = setTimeout(() => expire(deadline), Math.max(0, started + deadline.ms - Date.now()));
    // The server's own handle keeps the process up while it listens; a deadline alone does not.
    timer.unref();
  };
  // A body read to its end, or one left unread (Node reads it off the wire after the answer), ends here.
  req.once('end', stop);
  socket.once('close', stop);
  set(initial);
  return { set };
}

/** The coding to use by `Accept-Encoding` (RFC 9110 12.5.3): gzip before deflate, none with q=0 or `*;q=0`. */
export function acceptedCoding(header: string | undefined): 'gzip' | 'deflate' | undefined {
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
