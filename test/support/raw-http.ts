import { connect, type Socket } from 'node:net';

/** An answer read off a raw socket: the status line, the headers (names in lower case) and the body. */
export interface RawAnswer {
  readonly statusLine: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Everything the server sent, as received. */
  readonly raw: string;
}

/** Parses the first answer in what a server sent; `undefined` when nothing (or no head) arrived. */
export function parseRawAnswer(raw: string): RawAnswer | undefined {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = raw.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { statusLine, status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(headEnd + 4), raw };
}

/** A connection to `url`'s host and port, with a promise of everything received once the server closes it. */
export function openRaw(url: string): { socket: Socket; received: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  // A reset after the answer (the server closing with unread bytes) still leaves what was received.
  socket.on('error', () => undefined);
  return { socket, received: new Promise((resolve) => socket.once('close', () => resolve(received))) };
}

/**
 * Writes `bytes` on a fresh connection, then half-closes it (`end`) or keeps it open (`keepOpen`), and
 * resolves with what the server sent by the time it closed the connection. Node's server drops a request
 * still being answered when the client half-closes, so a request that reaches a function needs
 * `keepOpen` and `Connection: close`.
 */
export async function sendRaw(url: string, bytes: string | Buffer, options: { keepOpen?: boolean } = {}): Promise<string> {
  const { socket, received } = openRaw(url);
  if (options.keepOpen) socket.write(bytes);
  else socket.end(bytes);
  return received;
}
