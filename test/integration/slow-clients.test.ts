import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_UPLOAD_DEADLINE, uploadDeadlineMs } from '../../local/uploads.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
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

/**
 * Sends `body` a byte at a time, one every `everyMs`, as a slow link does, until it is all sent or the
 * server closes the connection; resolves with the bytes sent. The pace only makes the body slow: no
 * assertion depends on how long anything takes.
 */
function trickle(socket: Socket, body: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const done = () => {
      clearInterval(timer);
      resolve(sent);
    };
    const timer = setInterval(() => {
      if (socket.destroyed || sent === body.length) return done();
      socket.write(body[sent++]!);
    }, everyMs);
    socket.once('close', done);
  });
}

describe('body deadlines', () => {
  /** A body of the API may take 1 s in all; an upload 1 s plus its size at 2 bytes/s; no gap cuts either off. */
  const DEADLINES = { bodyDeadlineMs: 1000, bodyIdleTimeoutMs: 20_000, uploadDeadline: { baseMs: 1000, bytesPerSecond: 2, maxMs: 60_000 } };
  let timed: Awaited<ReturnType<typeof startTestServer>>;
  let timedHost: string;

  beforeAll(async () => {
    timed = await startTestServer({ apiKeys: [] }, DEADLINES);
    timedHost = `127.0.0.1:${timed.port}`;
  });

  afterAll(async () => {
    await timed.stop();
  });

  /** An upload URL of the timed server for `size` bytes, as a path and query to write by hand. */
  async function uploadPath(size: number): Promise<{ uploadId: string; path: string }> {
    const created = await fetchJson(`${timed.url}/v1/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'slow.bin', size }),
    });
    expect(created.status).toBe(201);
    const url = new URL(created.body.put.url);
    return { uploadId: created.body.uploadId, path: url.pathname + url.search };
  }

  it('gives an upload 60 s plus its size at 1 MiB/s, at most 2 h, so 5 GiB is not cut off at Node\'s 300 s', () => {
    expect(uploadDeadlineMs(0)).toBe(60_000);
    expect(uploadDeadlineMs(5 * 1024 ** 3)).toBe(60_000 + 5120_000);
    expect(uploadDeadlineMs(100 * 1024 ** 3)).toBe(DEFAULT_UPLOAD_DEADLINE.maxMs);
    expect(DEFAULT_UPLOAD_DEADLINE.maxMs).toBe(2 * 60 * 60 * 1000);
  });

  it('answers 408 and closes a connection whose API body keeps trickling in past its deadline', async () => {
    const { socket, received } = openRaw(timed.url);
    socket.write(`POST /v1/hashes/lookup HTTP/1.1\r\nHost: ${timedHost}\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n`);
    // 200 bytes at one every 50 ms would take 10 s: never a gap near the idle limit, but past the deadline.
    void trickle(socket, 'a'.repeat(200), 50);
    expect408(await received, /^The request body did not arrive within 1 s\.$/);
  });

  it('closes a connection whose unwanted body trickles on after its answer', async () => {
    const { socket, received } = openRaw(timed.url);
    // OPTIONS is answered at once and the connection kept open for the next request, once this body ends.
    socket.write(`OPTIONS /v1/health HTTP/1.1\r\nHost: ${timedHost}\r\nContent-Length: 200\r\n\r\n`);
    const sent = await trickle(socket, 'a'.repeat(200), 50);
    expect(parseRawAnswer(await received)?.status).toBe(204);
    // The server closed the connection while the body was still coming: a trickle holds no slot for long.
    expect(sent).toBeLessThan(200);
  });

  it('lets an upload take the time its size gives it, past the API\'s deadline, and cuts off one that overstays its own', async () => {
    // 20 bytes may take 1 s + 10 s: sent over about 2 s, twice the API's deadline, the upload goes through.
    const large = await uploadPath(20);
    const slow = openRaw(timed.url);
    slow.socket.write(`PUT ${large.path} HTTP/1.1\r\nHost: ${timedHost}\r\nConnection: close\r\nContent-Length: 20\r\n\r\n`);
    await trickle(slow.socket, '0123456789abcdefghij', 100);
    expect(parseRawAnswer(await slow.received)?.status).toBe(200);

    // 2 bytes may take 1 s + 1 s: one byte, then nothing (the idle limit is 20 s), is cut off at 2 s.
    const small = await uploadPath(2);
    const stalled = openRaw(timed.url);
    stalled.socket.write(`PUT ${small.path} HTTP/1.1\r\nHost: ${timedHost}\r\nContent-Length: 2\r\n\r\n0`);
    expect408(await stalled.received, /^The upload did not arrive in time: 2 bytes may take 2 s\.$/);
    const status = await pollUntil(async () => {
      const { body } = await fetchJson(`${timed.url}/v1/uploads/${small.uploadId}`);
      return body.status === 'pending' ? body : undefined;
    }, 10_000, 'the cut-off upload to stay waiting for its file');
    expect(status.status).toBe('pending');
  });
});
