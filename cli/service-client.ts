import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError, oneLine } from './errors.js';

/** How the client reaches the service and how patient it is. */
export interface ServiceClientOptions {
  /** The service root: `http://127.0.0.1:3000`, or an API Gateway stage URL such as `https://…/prod`. */
  readonly url: URL;
  /** Sent as `x-api-key` to the service (never to presigned storage URLs). */
  readonly apiKey?: string;
  /** How long one attempt may take, answer body included. */
  readonly timeoutMs: number;
  /** Attempts after the first one, for answers and failures worth another try. */
  readonly retries: number;
  /** Told before each retry, so a long wait is not silent. */
  readonly onRetry?: (retry: RetryNotice) => void;
  /** @default Math.random; tests pass a fixed one */
  readonly random?: () => number;
}

/** What a retry is about to wait for. */
export interface RetryNotice {
  readonly what: string;
  readonly attempt: number;
  readonly reason: string;
  readonly delayMs: number;
}

/** One request to the service or to a presigned storage URL. */
export interface ServiceRequest {
  /** What the request is for, as error messages should name it: `lookup`, `upload of ./a.msi`. */
  readonly what: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  /** A path under the service URL (`/v1/hashes/lookup`), or an absolute URL for presigned uploads. */
  readonly target: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body, serialised once. */
  readonly json?: unknown;
  /** A body made afresh for every attempt, since a stream can be read only once. */
  readonly body?: () => RequestInit['body'];
  /** The statuses that count as an answer; any other is an error. */
  readonly expect: readonly number[];
  /** @default the client's timeout */
  readonly timeoutMs?: number;
  /** Aborts the request and any wait between attempts. */
  readonly signal?: AbortSignal;
  /**
   * Answer with the body's text, to be parsed by the caller when it needs it: a bulk lookup keeps a few
   * answers waiting to be written in order, and a string waits at no cost where parsed objects would not.
   */
  readonly text?: true;
}

/** An answer with one of the expected statuses. */
export interface ServiceAnswer {
  readonly status: number;
  /** The parsed JSON body, or `undefined` for an empty one; the text as it came with `text: true`. */
  readonly body: unknown;
}

/** Statuses that mean "not now": throttling, an overloaded or failing store, a gateway that lost its function. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** Backoff without a Retry-After: doubling from here, up to the cap, with jitter. */
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** Redirects followed by GET: 303 always, 301 and 302 only after a GET (307 and 308 would resend a body). */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303]);
const MAX_REDIRECTS = 3;

/** A Retry-After longer than this is not waited for: the command fails and says when to come back. */
const MAX_RETRY_AFTER_MS = 60_000;

/** The local server's host names: a failure to reach them is most likely a server that is not started. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Talks to the hashcheck API: JSON in and out, `x-api-key`, a timeout per attempt, and retries with
 * exponential backoff and jitter on 429, 502, 503, 504 and connection failures, honouring Retry-After.
 * Every failure that outlasts the retries becomes a `ServiceError` with a one-line message saying what
 * failed and what to do; none is ever turned into an answer.
 */
export class ServiceClient {
  private readonly random: () => number;

  constructor(private readonly options: ServiceClientOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Whether the service runs on this machine (a loopback address): no network between, no usage plan. */
  get onThisMachine(): boolean {
    return LOOPBACK.has(this.options.url.hostname);
  }

  /** Sends a request, retrying what is worth retrying, and returns the parsed answer. */
  async request(request: ServiceRequest): Promise<ServiceAnswer> {
    const url = this.resolve(request.target);
    const toService = url.origin === this.options.url.origin;
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (request.json !== undefined) headers['content-type'] = 'application/json';
    if (toService && this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    // On this machine compressing an answer costs the server and this command more than sending it whole:
    // a million-hash lookup is 300 MB of JSON.
    if (LOOPBACK.has(url.hostname) && !('accept-encoding' in headers)) headers['accept-encoding'] = 'identity';
    const json = request.json === undefined ? undefined : JSON.stringify(request.json);
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;

    for (let attempt = 1; ; attempt++) {
      const retriesLeft = attempt <= this.options.retries;
      let response: Response;
      let text: string;
      try {
        const signal = request.signal
          ? AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs);
        const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers, signal };
        if (json !== undefined) init.body = json;
        else if (request.body) {
          init.body = request.body();
          // Streamed bodies must say so; undici refuses them otherwise.
          init.duplex = 'half';
        }
        response = await this.fetchFollowing(url, init, headers.accept!);
        text = await response.text();
      } catch (error) {
        request.signal?.throwIfAborted();
        const failure = describeFailure(error, timeoutMs);
        if (failure.retryable && retriesLeft) {
          await this.pause(request, attempt, failure.reason, this.backoff(attempt));
          continue;
        }
        throw new ServiceError(this.unreachableMessage(url, request, failure, attempt), { cause: error });
      }

      if (request.expect.includes(response.status)) {
        return { status: response.status, body: request.text ? text : parseBody(text, url, request) };
      }

      if (RETRYABLE_STATUSES.has(response.status) && retriesLeft) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        if (retryAfter === undefined || retryAfter <= MAX_RETRY_AFTER_MS) {
          // Jitter even when told when to come back, so parallel requests do not return in one burst.
          const delay = retryAfter === undefined ? this.backoff(attempt) : retryAfter + this.random() * 250;
          await this.pause(request, attempt, describeStatus(response.status, text), delay);
          continue;
        }
      }
      throw new ServiceError(this.statusMessage(url, request, response, text, attempt));
    }
  }

  /**
   * Sends one attempt, following the service's `303 See Other` (an answer too large for a function, stored
   * apart) and other redirects of a GET by hand, so the API key goes to the service's own origin and never to
   * the storage a redirect points at. A 307 or 308 (which would resend the body) is not followed.
   */
  private async fetchFollowing(url: URL, init: RequestInit, accept: string): Promise<Response> {
    let response = await fetch(url, { ...init, redirect: 'manual' });
    let from = url;
    for (let hops = 0; hops < MAX_REDIRECTS && REDIRECTS.has(response.status); hops++) {
      const location = response.headers.get('location');
      if (location === null) break;
      if (response.status !== 303 && init.method !== 'GET') break;
      await response.body?.cancel();
      const next = new URL(location, from);
      const headers: Record<string, string> = { accept };
      if (next.origin === this.options.url.origin && this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
      response = await fetch(next, { method: 'GET', headers, redirect: 'manual', ...(init.signal && { signal: init.signal }) });
      from = next;
    }
    return response;
  }

  /** Where a request to `target` goes: a path under the service URL, or the absolute URL given. */
  resolve(target: string | URL): URL {
    if (target instanceof URL) return target;
    // Keeps a stage path in the service URL (`…/prod`): `new URL('/v1/…', base)` would drop it.
    const base = this.options.url;
    return new URL(base.pathname.replace(/\/+$/, '') + target + base.search, base);
  }

  /** Exponential backoff with equal jitter: half the step for sure, the other half at random. */
  private backoff(attempt: number): number {
    const step = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
    return step / 2 + (this.random() * step) / 2;
  }

  private async pause(request: ServiceRequest, attempt: number, reason: string, delayMs: number): Promise<void> {
    this.options.onRetry?.({ what: request.what, attempt, reason, delayMs });
    await sleep(delayMs, undefined, request.signal ? { signal: request.signal } : undefined);
  }

  private unreachableMessage(url: URL, request: ServiceRequest, failure: Failure, attempts: number): string {
    if (failure.timedOut) {
      const tried = attempts > 1 ? ` (${attempts} attempts)` : '';
      return `${request.what} failed: ${url.origin} did not answer within ${failure.reason}${tried}: raise --timeout, or check the service`;
    }
    const tries = attempts > 1 ? `, ${attempts} attempts` : '';
    const toService = url.origin === this.options.url.origin;
    const where = toService ? this.options.url.href.replace(/\/$/, '') : url.origin;
    const hint = !toService
      ? 'the upload storage could not be reached'
      : LOOPBACK.has(url.hostname)
        ? 'is the service running? start it with npm start'
        : 'check --url (or HASHCHECK_URL) and the network';
    return `cannot reach ${where} (${failure.reason}${tries}) during ${request.what}: ${hint}`;
  }

  private statusMessage(url: URL, request: ServiceRequest, response: Response, text: string, attempts: number): string {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const answered = `${request.method} ${url.pathname} answered ${describeStatus(response.status, text)}${tries}`;
    const status = response.status;
    let hint = '';
    if (status === 401 || status === 403) hint = ': check --api-key (or HASHCHECK_API_KEY)';
    else if (status === 429) hint = ': the service is throttling; try again later or lower --concurrency';
    else if (status === 503 || status === 502 || status === 504) hint = '; nothing was reported as unknown';
    return `${request.what} failed: ${answered}${hint}`;
  }
}

interface Failure {
  readonly reason: string;
  readonly retryable: boolean;
  readonly timedOut: boolean;
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Names a failed attempt in words and says whether another attempt may help. */
function describeFailure(error: unknown, timeoutMs: number): Failure {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return { reason: formatSeconds(timeoutMs), retryable: true, timedOut: true };
  }
  const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code in NETWORK_REASONS) {
    return { reason: NETWORK_REASONS[code]!, retryable: code !== 'ENOTFOUND', timedOut: false };
  }
  // TLS and other failures do not heal by themselves: say what it was and stop.
  const message = cause instanceof Error ? cause.message : String(cause);
  return { reason: oneLine(message, 120), retryable: false, timedOut: false };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `503 upstream_unavailable (The known-bad list could not be read …)`, from any error body shape. */
function describeStatus(status: number, text: string): string {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; message?: unknown };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
    // API Gateway's own answers (missing key, throttling) carry only a message.
    else if (typeof body.message === 'string') message = body.message;
  } catch {
    message = text.trim() === '' ? undefined : text;
  }
  const detail = message === undefined ? '' : ` (${oneLine(message, 200)})`;
  return `${status}${code ? ` ${code}` : ''}${detail}`;
}

/** The JSON of an answer's body, `undefined` for an empty one; a body that is not JSON is a `ServiceError`. */
export function parseBody(text: string, url: URL, request: Pick<ServiceRequest, 'what' | 'method'>): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ServiceError(`${request.what} failed: ${request.method} ${url.pathname} answered with a body that is not JSON`);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
