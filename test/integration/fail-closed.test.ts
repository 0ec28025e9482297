import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putStoreBehindProxy, type StoreBehindProxy } from '../support/fault-proxy-server.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';

/**
 * The largest lookup meeting a store that fails part-way. The other store faults, with a short lookup
 * deadline, are in store-faults.test.ts; this server keeps the 3 s default, since a whole 10,000-hash
 * answer can take a busy machine more than a second.
 */
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let server: Awaited<ReturnType<typeof startTestServer>>;
let faults: StoreBehindProxy;

beforeAll(async () => {
  server = await startTestServer();
  faults = await putStoreBehindProxy(server, server.dataDir);
});

afterAll(async () => {
  await faults.close();
  await server.stop();
});

describe('the local server when its store fails in the middle of a lookup', () => {
  it('answers 503 when the store stops answering during a 10,000-hash lookup, and whole answers once it is back', async () => {
    const hashes = [MSI_MD5, ...Array.from({ length: 9_999 }, () => randomBytes(20).toString('hex'))];
    const ask = (lines: readonly string[]) =>
      fetchJson(`${server.url}/v1/hashes/lookup`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: lines.join('\n'),
      });
    // From the tenth of its 100 batch reads on, every connection to the store is cut without an answer.
    faults.proxy.calls.clear();
    faults.proxy.onRequest = (operation, count) => {
      if (operation === 'BatchGetItem' && count === 10) faults.proxy.mode = 'drop';
    };
    const during = await ask(hashes);
    expect(faults.proxy.calls.get('BatchGetItem')).toBeGreaterThanOrEqual(10);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('upstream_unavailable');
    expect(JSON.stringify(during.body)).not.toContain('"unknown"');
    expect((await fetchJson(`${server.url}/v1/hashes/${MSI_MD5}`)).status).toBe(503);

    faults.proxy.onRequest = undefined;
    faults.proxy.mode = 'pass';
    // A busy machine may need more than the deadline for 10,000 hashes: the first whole answer counts.
    const after = await pollUntil(
      async () => {
        const answer = await ask(hashes);
        if (answer.status === 503) return undefined;
        return answer;
      },
      60_000,
      'a whole answer to the 10,000 hashes',
    );
    expect(after.status).toBe(200);
    expect(after.body.summary).toEqual({ total: 10_000, malicious: 1, unknown: 9_999, invalid: 0 });
  });
});
