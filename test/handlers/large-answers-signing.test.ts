import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3AnswerStore, answerStoreFromEnv } from '../../lambdas/adapters/s3-answer-store.js';
import { referenceSignature } from '../cli/sigv4-reference.js';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+=' };
const SIGNED_AT = new Date('2026-03-02T10:00:00.000Z');

/** The request S3 would check: as received by a stand-in that stores nothing. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The SigV4 query signature of a presigned GET, from the specification, as S3 checks it. */
function referencePresignedSignature(url: URL, host: string, secret: string, region: string): string {
  const hex = (data: string) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const raw = url.search.slice(1).split('&').filter((p) => !p.startsWith('X-Amz-Signature='));
  const canonicalQuery = raw.sort().join('&');
  const canonicalRequest = ['GET', url.pathname, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date')!;
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('S3AnswerStore signing', () => {
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('puts the answer under answers/ with a SigV4 signature S3 accepts, the session token and the body digest signed', async () => {
    const store = new S3AnswerStore({ bucket: 'answers-bucket', region: 'eu-west-1', endpoint, credentials: () => CREDENTIALS, now: () => SIGNED_AT });
    const body = '{"results":["é"]}';

    await store.put(body, 'application/json; charset=utf-8');

    const put = received.at(-1)!;
    expect(put.method).toBe('PUT');
    expect(put.url).toMatch(/^\/answers-bucket\/answers\/[0-9a-f-]{36}\.json$/);
    expect(put.body.toString('utf8')).toBe(body);
    expect(put.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(put.headers['cache-control']).toBe('no-store');
    expect(put.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(put.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    const authorization = String(put.headers['authorization']);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
    expect(signedHeaders).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']));
    expect(authorization).toContain(`Credential=${CREDENTIALS.accessKeyId}/20260302/eu-west-1/s3/aws4_request`);
    const expected = referenceSignature(put, signedHeaders, { region: 'eu-west-1', secret: CREDENTIALS.secretAccessKey, service: 's3' });
    expect(/Signature=([0-9a-f]{64})/.exec(authorization)![1]).toBe(expected);
  });

  it('links to the object with a presigned GET valid 15 minutes, carrying the session token, signed as S3 checks it', async () => {
    const store = new S3AnswerStore({ bucket: 'answers-bucket', region: 'eu-west-1', endpoint, credentials: () => CREDENTIALS, now: () => SIGNED_AT });

    const { location } = await store.put('{}', 'application/json; charset=utf-8');

    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${endpoint}${received.at(-1)!.url}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(CREDENTIALS.sessionToken);
    expect(url.searchParams.get('X-Amz-Date')).toBe('20260302T100000Z');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(referencePresignedSignature(url, url.host, CREDENTIALS.secretAccessKey, 'eu-west-1'));
  });

  it('is bound in AWS to the bucket in its region, virtual-hosted over HTTPS, with the role credentials of the environment', () => {
    expect(() => answerStoreFromEnv({ AWS_REGION: 'eu-west-1' })).toThrow('Environment variable ANSWER_BUCKET is not set');
    const store = answerStoreFromEnv({
      ANSWER_BUCKET: 'answers-bucket',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    });
    const options = (store as unknown as { options: { bucket: string; region: string; endpoint?: string; credentials: () => unknown } }).options;
    expect(options).toMatchObject({ bucket: 'answers-bucket', region: 'eu-west-1' });
    expect(options.endpoint).toBeUndefined();
    expect(options.credentials()).toEqual(CREDENTIALS);
    expect((store as unknown as { objectUrl: (key: string) => URL }).objectUrl('answers/a.json').href).toBe(
      'https://answers-bucket.s3.eu-west-1.amazonaws.com/answers/a.json',
    );
  });
});
