import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the proxy misbehaves:
 * - `pass`: forwards everything unchanged;
 * - `drop`: accepts the request and destroys the connection without an answer, as a store that stops
 *   mid-request does;
 * - `error500`: every call answers 500 InternalServerError, which the SDK retries and then gives up on;
 * - `unprocessed`: BatchGetItem/BatchWriteItem answer 200 with every key or item left unprocessed, as DynamoDB does
 *   under pressure;
 * - `throttle`: every call answers 400 ProvisionedThroughputExceededException;
 * - `slow`: every call is held for `delayMs` before it is forwarded.
 */
export type FaultMode = 'pass' | 'unprocessed' | 'throttle' | 'slow' | 'drop' | 'error500';

export interface FaultyDynamoDb {
  readonly endpoint: string;
  mode: FaultMode;
  delayMs: number;
  /** Calls seen, by DynamoDB operation name. */
  readonly calls: Map<string, number>;
  /**
   * Called with each request's operation and its count so far, before the mode is applied, so a test can
   * change the mode in the middle of a lookup (the tenth BatchGetItem of a bulk, say).
   */
  onRequest?: (operation: string, count: number) => void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real DynamoDB emulator that injects the faults DynamoDB produces in
 * production, so the service's real SDK clients meet them over the wire. `port` lets it take the address
 * of an emulator that a running service already points at.
 */
export async function startFaultyDynamoDb(upstream: string, options: { port?: number } = {}): Promise<FaultyDynamoDb> {
  const target = new URL(upstream);
  // Held requests of `slow` mode, released at close so no timer outlives the proxy.
  const held = new Set<NodeJS.Timeout>();
  const state: FaultyDynamoDb = {
    endpoint: '',
    mode: 'pass',
    delayMs: 0,
    calls: new Map(),
    close: async () => {
      for (const timer of held) clearTimeout(timer);
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, rewrite?: (json: string) => string) => {
    const upstreamReq = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (c: Buffer) => chunks.push(c));
        upstreamRes.on('end', () => {
          let payload = Buffer.concat(chunks);
          const headers = { ...upstreamRes.headers };
          if (rewrite && upstreamRes.statusCode === 200) {
            payload = Buffer.from(rewrite(payload.toString('utf8')));
            delete headers['x-amz-crc32'];
            headers['content-length'] = String(payload.length);
          }
          res.writeHead(upstreamRes.statusCode ?? 502, headers);
          res.end(payload);
        });
      },
    );
    upstreamReq.on('error', () => res.destroy());
    upstreamReq.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      state.calls.set(operation, (state.calls.get(operation) ?? 0) + 1);
      state.onRequest?.(operation, state.calls.get(operation)!);
      switch (state.mode) {
        case 'drop':
          req.socket.destroy();
          return;
        case 'error500': {
          const payload = JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
            message: 'Internal server error',
          });
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload) });
          res.end(payload);
          return;
        }
        case 'throttle': {
          const payload = JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: 'The level of configured provisioned throughput for the table was exceeded.',
          });
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload) });
          res.end(payload);
          return;
        }
        case 'slow': {
          const timer = setTimeout(() => {
            held.delete(timer);
            // The client may have given up meanwhile; then there is no one to answer.
            if (!res.destroyed) forward(req, body, res);
          }, state.delayMs);
          held.add(timer);
          return;
        }
        case 'unprocessed':
          if (operation === 'BatchGetItem') {
            const requested = JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown> };
            forward(req, body, res, () => JSON.stringify({ Responses: {}, UnprocessedKeys: requested.RequestItems }));
            return;
          }
          if (operation === 'BatchWriteItem') {
            const requested = JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown> };
            // Nothing is written: the request never reaches the emulator.
            const payload = JSON.stringify({ UnprocessedItems: requested.RequestItems });
            res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload) });
            res.end(payload);
            return;
          }
          forward(req, body, res);
          return;
        default:
          forward(req, body, res);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  (state as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
