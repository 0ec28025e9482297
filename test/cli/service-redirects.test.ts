import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../cli/service-client.js';

/** A server on a port of its own: a different origin from the service, as a storage bucket is. */
function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const ANSWER = { results: [], summary: { total: 0, malicious: 0, unknown: 0, invalid: 0 } };
let storage: { server: Server; url: string };
let service: { server: Server; url: string };
const seenByStorage: IncomingHttpHeaders[] = [];
const seenByService: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  storage = await listen((req, res) => {
    seenByStorage.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ANSWER));
  });
  service = await listen((req, res) => {
    seenByService.push({ method: req.method!, path: req.url!, headers: req.headers });
    req.resume();
    if (req.url === '/v1/hashes/lookup') {
      // An answer too large for a function: stored apart, and the client sent to it.
      res.writeHead(303, { location: `${storage.url}/answers/1?X-Amz-Signature=abc`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ answer: `${storage.url}/answers/1`, bytes: 9_000_000 }));
    } else if (req.url === '/v1/moved') {
      res.writeHead(303, { location: '/v1/here' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ here: true }));
    }
  });
});

afterAll(async () => {
  await new Promise((resolve) => storage?.server.close(resolve));
  await new Promise((resolve) => service?.server.close(resolve));
});

describe('the command line’s service client', () => {
  it('follows a 303 to stored answers with a GET and never sends the API key to that other origin', async () => {
    const client = new ServiceClient({ url: new URL(service.url), apiKey: 'secret-key', timeoutMs: 30_000, retries: 0 });

    const answer = await client.request({ method: 'POST', target: '/v1/hashes/lookup', json: { hashes: ['a'.repeat(64)] }, expect: [200], what: 'the lookup' });

    expect(answer).toEqual({ status: 200, body: ANSWER });
    expect(seenByStorage).toHaveLength(1);
    expect(seenByStorage[0]!['x-api-key']).toBeUndefined();
    expect(seenByService.find((r) => r.path === '/v1/hashes/lookup')!.headers['x-api-key']).toBe('secret-key');
  });

  it('keeps the API key for a redirect within the service’s own origin', async () => {
    const client = new ServiceClient({ url: new URL(service.url), apiKey: 'secret-key', timeoutMs: 30_000, retries: 0 });

    const answer = await client.request({ method: 'GET', target: '/v1/moved', expect: [200], what: 'the request' });

    expect(answer.body).toEqual({ here: true });
    const followed = seenByService.filter((r) => r.path === '/v1/here');
    expect(followed.map((r) => [r.method, r.headers['x-api-key']])).toEqual([['GET', 'secret-key']]);
  });
});
