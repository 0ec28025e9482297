import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { EICAR } from './reference.js';
import { multipartBody } from './multipart.js';

/** One request of a load run, and what a correct answer looks like. */
export interface LoadRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** Whether the answer is the right one for this request; a wrong answer is counted, not thrown. */
  readonly check: (status: number, body: string) => boolean;
}

/** What a load run measured. */
export interface LoadReport {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers by status code. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Requests whose answer was not the right one, by kind, with one example each. */
  readonly wrong: ReadonlyMap<string, { count: number; example: string }>;
  /** Requests that got no answer at all (connection errors), by message. */
  readonly failed: ReadonlyMap<string, number>;
  /** Each answer's status with the time it came, in ms since the start, for runs that change faults midway. */
  readonly timeline: readonly { at: number; status: number; kind: string }[];
}

const MSI = {
  sha256: 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868',
  sha1: 'bea77d1e59cf18dce22ad9a2fad52948fd7a9efa',
  md5: 'f3d4144860ca10ba60f7ef4d176cc736',
};
const KNOWN = Object.values(MSI);
const verdictOf = (body: string) => (JSON.parse(body) as { verdict?: string }).verdict;
const codeOf = (body: string) => (JSON.parse(body) as { error?: { code?: string } }).error?.code;
const hexOf = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * The mix of requests a busy deployment sees, the i-th of a run: lookups of known, unknown and invalid
 * hashes, small bulk lists, health checks, the EICAR file inline (raw and multipart), and wrong paths and
 * methods. Each carries the check of its right answer.
 */
export function mixedRequest(i: number): LoadRequest {
  const slot = i % 20;
  if (slot < 5) {
    const hash = KNOWN[i % KNOWN.length]!;
    return { kind: 'known', method: 'GET', path: `/v1/hashes/${i % 2 ? hash.toUpperCase() : hash}`, check: (s, b) => s === 200 && verdictOf(b) === 'malicious' };
  }
  if (slot < 9) {
    return { kind: 'unknown', method: 'GET', path: `/v1/hashes/${hexOf([16, 20, 32][i % 3]!)}`, check: (s, b) => s === 200 && verdictOf(b) === 'unknown' };
  }
  if (slot < 11) {
    return { kind: 'invalid', method: 'GET', path: `/v1/hashes/${hexOf(15)}`, check: (s, b) => s === 400 && codeOf(b) === 'invalid_hash' };
  }
  if (slot < 13) {
    const lines = [MSI.md5, ...Array.from({ length: 8 + (i % 24) }, () => hexOf(32)), 'not-a-hash'];
    const json = i % 2 === 0;
    return {
      kind: 'bulk',
      method: 'POST',
      path: '/v1/hashes/lookup',
      headers: { 'content-type': json ? 'application/json' : 'text/plain' },
      body: Buffer.from(json ? JSON.stringify({ hashes: lines }) : lines.join('\r\n')),
      check: (s, b) => {
        if (s !== 200) return false;
        const summary = (JSON.parse(b) as { summary: Record<string, number> }).summary;
        return summary['total'] === lines.length && summary['malicious'] === 1 && summary['invalid'] === 1;
      },
    };
  }
  if (slot < 15) {
    return { kind: 'health', method: 'GET', path: '/v1/health', check: (s) => s === 200 };
  }
  if (slot < 17) {
    const multipart = slot === 16;
    const { body, contentType } = multipart
      ? multipartBody([{ field: 'file', fileName: 'eicar.com', content: EICAR }])
      : { body: Buffer.from(EICAR), contentType: 'application/octet-stream' };
    return {
      kind: multipart ? 'file-multipart' : 'file-raw',
      method: 'POST',
      path: '/v1/files',
      headers: { 'content-type': contentType },
      body,
      check: (s, b) => s === 200 && (JSON.parse(b) as { files: { verdict: string }[] }).files[0]?.verdict === 'malicious',
    };
  }
  if (slot < 18) {
    return { kind: 'not-found', method: 'GET', path: `/v1/nothing-${i}`, check: (s, b) => s === 404 && codeOf(b) === 'not_found' };
  }
  return {
    kind: 'wrong-method',
    method: i % 2 ? 'DELETE' : 'PUT',
    path: `/v1/hashes/${MSI.sha1}`,
    check: (s, b) => s === 405 && codeOf(b) === 'method_not_allowed',
  };
}

function send(agent: Agent, base: URL, r: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(r.body);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Sends `requests` requests from `clients` concurrent clients over keep-alive connections, each taking
 * the next request of `make(i)` until all are sent. Stops by itself; never throws for a wrong answer.
 */
export async function runLoad(options: {
  url: string;
  clients: number;
  requests: number;
  make?: (i: number) => LoadRequest;
  /** Called after each answer with the number answered so far, e.g. to inject a fault midway. */
  onProgress?: (answered: number) => void | Promise<void>;
}): Promise<LoadReport> {
  const base = new URL(options.url);
  const make = options.make ?? mixedRequest;
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const wrong = new Map<string, { count: number; example: string }>();
  const failed = new Map<string, number>();
  const timeline: { at: number; status: number; kind: string }[] = [];
  let next = 0;
  let answered = 0;
  const started = performance.now();
  const client = async () => {
    while (next < options.requests) {
      const r = make(next++);
      const sent = performance.now();
      try {
        const { status, body } = await send(agent, base, r);
        const now = performance.now();
        latencies.push(now - sent);
        timeline.push({ at: now - started, status, kind: r.kind });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        let right = false;
        try {
          right = r.check(status, body);
        } catch {
          right = false;
        }
        if (!right) {
          const entry = wrong.get(r.kind) ?? { count: 0, example: `${r.method} ${r.path} -> ${status} ${body.slice(0, 200)}` };
          entry.count += 1;
          wrong.set(r.kind, entry);
        }
      } catch (error) {
        const message = (error as Error).message;
        failed.set(message, (failed.get(message) ?? 0) + 1);
      }
      answered += 1;
      await options.onProgress?.(answered);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, client));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: options.requests,
    seconds,
    perSecond: options.requests / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    statuses,
    wrong,
    failed,
    timeline,
  };
}

/** A one-line summary of a run, for the load benchmark's progress. */
export function describeLoad(label: string, report: LoadReport): string {
  const statuses = [...report.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
  return (
    `${label}: ${report.requests} requests in ${report.seconds.toFixed(1)} s = ${report.perSecond.toFixed(0)} req/s, ` +
    `p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(0)} ms; statuses ${statuses}`
  );
}
