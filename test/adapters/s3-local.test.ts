import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestStream, type FileDigests } from '../../lambdas/core/digest.js';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { decodeS3Key, encodeS3Key } from '../../lambdas/adapters/s3-keys.js';
import { pollUntil } from '../../local/poll.js';
import { startLocalS3, toS3Event, type LocalS3, type S3rverEvent } from '../support/s3-local.js';

const MiB = 1024 * 1024;
const BUCKET = 'uploads';
const NO_LIMIT = { maxBytes: Number.MAX_SAFE_INTEGER };

function referenceDigests(data: Uint8Array): FileDigests {
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { size: data.byteLength, md5: hex('md5'), sha1: hex('sha1'), sha256: hex('sha256') } as FileDigests;
}

async function readObject(client: S3Client, key: string): Promise<Buffer> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

/** A stream of `data` in 64 KiB pieces, so the SDK cannot treat the body as one known buffer. */
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.byteLength; offset += 64 * 1024) yield data.subarray(offset, offset + 64 * 1024);
    })(),
  );
}

describe('local S3 (s3rver) with makeS3Client', () => {
  let dir: string;
  let s3: LocalS3;
  let client: S3Client;
  const events: S3Event[] = [];
  const eventFor = (key: string) => () =>
    events.find((event) => event.Records.some((record) => decodeS3Key(record.s3.object.key) === key));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-s3-'));
    s3 = await startLocalS3({ dir, buckets: [BUCKET], onObjectCreated: (event) => void events.push(event) });
    client = makeS3Client({ endpoint: s3.endpoint });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a streamed PutObject byte for byte (a default client would send it aws-chunked and s3rver would store the framing)', async () => {
    const data = randomBytes(5 * MiB + 3);

    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin', Body: streamOf(data), ContentLength: data.byteLength }),
    );
    const { Body, ContentLength } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin' }));
    const digests = await digestStream(Body as AsyncIterable<Uint8Array>, NO_LIMIT);

    expect(ContentLength).toBe(data.byteLength);
    expect(digests).toEqual(referenceDigests(data));
  });

  it('presigns PUT URLs without a checksum, and a plain fetch upload to one reads back intact', async () => {
    const data = randomBytes(MiB + 17);

    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned.bin' }), { expiresIn: 900 });
    const response = await fetch(url, { method: 'PUT', body: data });

    expect(url).not.toContain('x-amz-checksum-crc32');
    expect(url).not.toContain('x-amz-sdk-checksum-algorithm');
    expect(response.status).toBe(200);
    expect((await readObject(client, 'presigned.bin')).equals(data)).toBe(true);
  });

  it('delivers an ObjectCreated:Put event in S3 shape, with the key URL-encoded and decodable', async () => {
    const key = 'uploads/my file ü.exe';
    const data = randomBytes(1000);

    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    const event = await pollUntil(eventFor(key), 5000, `the event for ${key}`);

    expect(event.Records).toHaveLength(1);
    const [record] = event.Records;
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
        object: { key: 'uploads/my+file+%C3%BC.exe', size: 1000, eTag: createHash('md5').update(data).digest('hex') },
      },
    });
    expect(decodeS3Key(record!.s3.object.key)).toBe(key);
    expect(new Date(record!.eventTime).toISOString()).toBe(record!.eventTime);
  });

  it('names a completed multipart upload ObjectCreated:CompleteMultipartUpload, as S3 does', async () => {
    const key = 'multipart upload.bin';
    const data = randomBytes(MiB);

    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const { ETag } = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: data }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }),
    );
    const event = await pollUntil(eventFor(key), 5000, `the event for ${key}`);

    expect(event.Records[0]).toMatchObject({ eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { object: { size: MiB } } });
    expect((await readObject(client, key)).equals(data)).toBe(true);
  });

  it('names a browser form upload ObjectCreated:Post', async () => {
    const key = 'form upload.txt';
    const { url, fields } = await createPresignedPost(client, { Bucket: BUCKET, Key: key, Expires: 900 });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob(['hello from a form']), 'hello.txt');

    const response = await fetch(url, { method: 'POST', body: form });
    const event = await pollUntil(eventFor(key), 5000, `the event for ${key}`);

    expect(response.ok).toBe(true);
    expect(event.Records[0]).toMatchObject({ eventName: 'ObjectCreated:Post', s3: { object: { key: 'form+upload.txt', size: 17 } } });
  });

  it('delivers no event for a deleted object', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'short-lived.txt', Body: 'x' }));
    await pollUntil(eventFor('short-lived.txt'), 5000, 'the creation event');
    const before = events.length;

    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'short-lived.txt' }));
    // A later creation proves that any event for the delete would have arrived by now.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'marker.txt', Body: 'x' }));
    await pollUntil(eventFor('marker.txt'), 5000, 'the marker event');

    expect(events.slice(before).map((event) => event.Records[0]!.eventName)).toEqual(['ObjectCreated:Put']);
  });

  it('keeps its data on disk under dir', async () => {
    expect(await readdir(dir)).toContain(BUCKET);
  });
});

describe('startLocalS3', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hashcheck-s3-'));
    dirs.push(dir);
    return dir;
  };

  it('reports a failing ObjectCreated handler once and keeps serving', async () => {
    const failures: { error: unknown; event: S3Event }[] = [];
    const s3 = await startLocalS3({
      dir: await tempDir(),
      buckets: [BUCKET],
      onObjectCreated: async (event) => {
        if (decodeS3Key(event.Records[0]!.s3.object.key) === 'bad.bin') throw new Error('scan failed');
      },
      onError: (error, event) => failures.push({ error, event }),
    });
    const client = makeS3Client({ endpoint: s3.endpoint });
    try {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad.bin', Body: 'x' }));
      await pollUntil(() => failures[0], 5000, 'the failure report');
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'good.bin', Body: 'y' }));

      expect((await readObject(client, 'good.bin')).toString()).toBe('y');
      expect(failures).toHaveLength(1);
      expect(failures[0]!.error).toMatchObject({ message: 'scan failed' });
      expect(failures[0]!.event.Records[0]!.s3.object.key).toBe('bad.bin');
    } finally {
      client.destroy();
      await s3.close();
    }
  });

  it('keeps buckets and objects across a restart on the same dir', async () => {
    const dir = await tempDir();
    const first = await startLocalS3({ dir, buckets: [BUCKET], onObjectCreated: () => undefined });
    const firstClient = makeS3Client({ endpoint: first.endpoint });
    await firstClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept.txt', Body: 'still here' }));
    firstClient.destroy();
    await first.close();

    const second = await startLocalS3({ dir, buckets: [BUCKET, 'another'], onObjectCreated: () => undefined });
    const secondClient = makeS3Client({ endpoint: second.endpoint });
    try {
      expect((await readObject(secondClient, 'kept.txt')).toString()).toBe('still here');
      await secondClient.send(new PutObjectCommand({ Bucket: 'another', Key: 'new.txt', Body: 'z' }));
    } finally {
      secondClient.destroy();
      await second.close();
    }
  });

  it('waits for deliveries in progress before it closes', async () => {
    let finished = false;
    let started = false;
    const s3 = await startLocalS3({
      dir: await tempDir(),
      buckets: [BUCKET],
      onObjectCreated: async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished = true;
      },
    });
    const client = makeS3Client({ endpoint: s3.endpoint });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'slow.bin', Body: 'x' }));
    client.destroy();
    await pollUntil(() => (started ? true : undefined), 5000, 'the delivery to start');

    await s3.close();

    expect(finished).toBe(true);
  });
});

/** An event as s3rver 3.7.1 emits it. */
function s3rverEvent(eventName: string, key: string, object: { size?: number; eTag?: string } = {}): S3rverEvent {
  return {
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-03-30T12:00:00.000Z',
        eventName,
        userIdentity: { principalId: 'AWS:1D5B0B1A3E0E8F7C2A6D4' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': '8F2A0C7B1E3D5A69', 'x-amz-id-2': 'c2VjcmV0' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'testConfigId',
          bucket: { name: BUCKET, ownerIdentity: { principalId: '5E0D3C2B1A0F9E' }, arn: `arn:aws:s3: : :${BUCKET}` },
          object: { key, sequencer: '19D3F1A2B4C', ...object },
        },
      },
    ],
  };
}

describe('toS3Event', () => {
  it('turns an s3rver PUT event into the S3 event shape', () => {
    const event = toS3Event(
      s3rverEvent('ObjectCreated:Put', 'in/a b+c (1).exe', { size: 42, eTag: 'd41d8cd98f00b204e9800998ecf8427e' }),
    );

    expect(event).toEqual({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: '2026-03-30T12:00:00.000Z',
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: 'AWS:1D5B0B1A3E0E8F7C2A6D4' },
          requestParameters: { sourceIPAddress: '127.0.0.1' },
          responseElements: { 'x-amz-request-id': '8F2A0C7B1E3D5A69', 'x-amz-id-2': 'c2VjcmV0' },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'testConfigId',
            bucket: { name: BUCKET, ownerIdentity: { principalId: '5E0D3C2B1A0F9E' }, arn: 'arn:aws:s3:::uploads' },
            object: { key: 'in/a+b%2Bc+%281%29.exe', size: 42, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0000019D3F1A2B4C' },
          },
        },
      ],
    });
  });

  it('names the region it is given', () => {
    expect(toS3Event(s3rverEvent('ObjectCreated:Put', 'k'), { region: 'eu-west-1' })?.Records[0]?.awsRegion).toBe('eu-west-1');
  });

  it('tells a completed multipart upload from a browser POST by the request', () => {
    const post = s3rverEvent('ObjectCreated:Post', 'big.iso', { size: 10, eTag: 'e' });
    const name = (request?: { method: string; url: string }) => toS3Event(post, { request })?.Records[0]?.eventName;

    expect(name({ method: 'POST', url: '/uploads/big.iso?uploadId=2f1e' })).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(name({ method: 'POST', url: '/uploads' })).toBe('ObjectCreated:Post');
    expect(name()).toBe('ObjectCreated:Post');
  });

  it('keeps Put and Copy as they are', () => {
    const request = { method: 'PUT', url: '/uploads/k?uploadId=1' };

    expect(toS3Event(s3rverEvent('ObjectCreated:Put', 'k'), { request })?.Records[0]?.eventName).toBe('ObjectCreated:Put');
    expect(toS3Event(s3rverEvent('ObjectCreated:Copy', 'k', { size: 1 }))?.Records[0]).toMatchObject({
      eventName: 'ObjectCreated:Copy',
      s3: { object: { size: 1, eTag: '' } },
    });
  });

  it('gives nothing for a removal', () => {
    expect(toS3Event(s3rverEvent('ObjectRemoved:Delete', 'k'))).toBeUndefined();
  });
});

describe('S3 event keys', () => {
  it('decodes + as a space and %2B as a plus', () => {
    expect(decodeS3Key('my+file+%2B+more.exe')).toBe('my file + more.exe');
  });

  it('encodes keys as S3 events carry them', () => {
    expect(encodeS3Key('red flower.jpg')).toBe('red+flower.jpg');
    expect(encodeS3Key('test/10:47:07.log')).toBe('test/10%3A47%3A07.log');
    expect(encodeS3Key('report (1).pdf')).toBe('report+%281%29.pdf');
  });

  it('gets every key back through encode and decode', () => {
    const keys = ['plain.txt', 'a b', 'a+b', '100%', "it's (1)!.exe", 'ü/ß/日本語.dll', '~*=&?#', ' lead and trail ', '😀.bin'];

    for (const key of keys) expect(decodeS3Key(encodeS3Key(key))).toBe(key);
  });
});
