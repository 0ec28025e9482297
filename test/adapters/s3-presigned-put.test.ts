import { createHash, createHmac } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store.js';
import { uploadKey } from '../../lambdas/core/uploads.js';

// Presigning makes no request: the endpoint is never contacted. Its client signs with the emulator's keys.
const client = makeS3Client({ endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' });
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const store = new S3ObjectStore(client, { bucket: 'uploads-test' });
const key = uploadKey('0b6f7c1e-2d7a-4c4e-9a51-3f7b2d9e8c10');

/** SHA-256 in the shape the signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** The query parameters the signer adds itself; everything else in the URL is part of what it signs. */
const AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Content-Sha256', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

/**
 * What S3 does with a presigned PUT it receives: recomputes the signature over the request as sent (its
 * URL and the values of the headers the URL names as signed) and compares it with the URL's.
 */
async function verifies(url: string, sentHeaders: Record<string, string>): Promise<boolean> {
  const target = new URL(url);
  const params = target.searchParams;
  const signedHeaders = params.get('X-Amz-SignedHeaders')!.split(';');
  const request = new HttpRequest({
    method: 'PUT',
    protocol: target.protocol,
    hostname: target.hostname,
    path: decodeURIComponent(target.pathname),
    query: Object.fromEntries([...params].filter(([name]) => !AUTH_PARAMS.includes(name))),
    // The payload hash the URL names (UNSIGNED-PAYLOAD) is the one the signature covers.
    headers: { host: target.host, 'X-Amz-Content-Sha256': params.get('X-Amz-Content-Sha256')!, ...sentHeaders },
  });
  const amzDate = params.get('X-Amz-Date')!;
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const [, , region] = params.get('X-Amz-Credential')!.split('/');
  const signer = new SignatureV4({ service: 's3', region: region!, credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const recomputed = await signer.presign(request, {
    signingDate,
    expiresIn: Number(params.get('X-Amz-Expires')),
    // Exactly the headers the URL names, with the values the request carries.
    signableHeaders: new Set(signedHeaders),
    unsignableHeaders: new Set(Object.keys(sentHeaders).filter((name) => !signedHeaders.includes(name))),
  });
  const query = recomputed.query ?? {};
  expect(query['X-Amz-SignedHeaders']).toBe(params.get('X-Amz-SignedHeaders'));
  return query['X-Amz-Signature'] === params.get('X-Amz-Signature');
}

describe('the presigned PUT of an upload', () => {
  it('signs the content length, and tells the client to send it', async () => {
    const presigned = await store.presignUpload(key, 10, 900);
    const signedHeaders = new URL(presigned.put.url).searchParams.get('X-Amz-SignedHeaders')!.split(';');
    expect(signedHeaders).toEqual(expect.arrayContaining(['content-length', 'host']));
    expect(presigned.put.headers).toEqual({ 'content-length': '10' });
  });

  it('verifies for a request of the declared size and not for one of any other size', async () => {
    const { put } = await store.presignUpload(key, 10, 900);
    expect(await verifies(put.url, put.headers)).toBe(true);
    expect(await verifies(put.url, { 'content-length': String(5 * 1024 ** 3) })).toBe(false);
    expect(await verifies(put.url, { 'content-length': '9' })).toBe(false);
  });

  it('binds an empty upload to zero bytes', async () => {
    const { put } = await store.presignUpload(key, 0, 900);
    expect(put.headers).toEqual({ 'content-length': '0' });
    expect(await verifies(put.url, put.headers)).toBe(true);
    expect(await verifies(put.url, { 'content-length': '1' })).toBe(false);
  });

  it('carries no checksum of an empty body, which S3 would hold every upload to', async () => {
    const { put } = await store.presignUpload(key, 10, 900);
    expect(put.url).not.toMatch(/x-amz-checksum/i);
  });
});
