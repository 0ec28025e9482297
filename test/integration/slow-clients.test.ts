import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';
import { openRaw, parseRawAnswer, sendRaw } from '../support/raw-http.js';

/** Low limits, so that cut-offs come within a second or so; the defaults are 10 s, 30 s and 256. */
const LIMITS = { headersTimeoutMs: 1000, bodyIdleTimeoutMs: 1000, maxConnections: 3 };

let server: Awaited<ReturnType<typeof startTestServer>>;
let host: string;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [] }, LIMITS);
  host = `127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.stop();
});

/** A health check on a connection of its own: `true` once it is answered 200, `undefined` while refused. */
async function served(): Promise<true | undefined> {
  const raw = await sendRaw(server.url, `GET /v1/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { keepOpen: true });
  return parseRawAnswer(raw)?.status === 200 ? true : undefined;
}

function expect408(raw: string, message: RegExp): void {
  const answer = parseRawAnswer(raw);
  expect(answer?.status).toBe(408);
  expect(answer!.headers['connection']).toBe('close');
  const { error } = JSON.parse(answer!.body);
  expect(error.code).toBe('invalid_request');
  expect(error.message).toMatch(message);
  expect(error.requestId).toBe(answer!.headers['x-request-id']);
}

describe('slow and surplus clients', () => {
  it('closes a connection past the cap as it arrives, and frees the slots of clients answered or gone', async () => {
    // Three connections that send nothing fill the cap until the headers timeout answers them.
    const held = [openRaw(server.url), openRaw(server.url), openRaw(server.url)];
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    const surplus = openRaw(server.url);
    // Closed with nothing sent back, while the three held connections are still open.
    expect(await surplus.received).toBe('');
    for (const { received } of held) expect408(await received, /headers within 1 s/);
    // Clients that vanish in the middle of a body, twice as many as the cap, leave nothing behind either.
    for (let i = 0; i < 2 * LIMITS.maxConnections; i++) {
      const { socket, received } = openRaw(server.url);
      socket.write(`POST /v1/files HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
      socket.write(Buffer.alloc(5000, 0x61), () => socket.destroy());
      await received;
    }
    // The slots are free again: nothing leaked.
    expect(await pollUntil(served, 30_000, 'a new connection to be served')).toBe(true);
  });

  it('answers 408 and closes a connection whose headers do not arrive in time', async () => {
    const { socket, received } = openRaw(server.url);
    socket.write(`GET /v1/health HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
    expect408(await received, /headers within 1 s/);
  });

  it('answers 408 and closes a connection whose body stops arriving', async () => {
    const { socket, received } = openRaw(server.url);
    socket.write(
      `POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\naa124a4b4df12b34`,
    );
    expect408(await received, /body stopped arriving: no byte for 1 s/);
  });
});
