import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { PutBucketCorsCommand, type CORSConfiguration } from '@aws-sdk/client-s3';
import S3rver, { type S3rverEvent } from 's3rver';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { decodeS3Key, encodeS3Key } from '../../lambdas/adapters/s3-keys.js';

export type { S3rverEvent };

/** Options of {@link startLocalS3}. */
export interface LocalS3Options {
  /** Where s3rver keeps buckets and objects; kept across restarts. */
  readonly dir: string;
  /** Buckets created at start unless they exist. */
  readonly buckets: readonly string[];
  /**
   * Called with an S3 event in the shape AWS delivers to Lambda, once per object created (PUT, browser
   * POST, completed multipart upload, copy), after the object is stored. Runs detached from the upload
   * request, as S3 notifications do; what it throws or rejects with goes to `onError`.
   */
  readonly onObjectCreated: (event: S3Event) => void | Promise<void>;
  /** @default 0, a free port */
  readonly port?: number;
  /** The region the event records name. @default 'us-east-1' */
  readonly region?: string;
  /** Receives each failure of `onObjectCreated` once. @default one report on stderr */
  readonly onError?: (error: unknown, event: S3Event) => void;
}

/** A running s3rver, the test double of S3 for the adapter and handler tests: its HTTP API on loopback, with its data on disk. */
export interface LocalS3 {
  readonly endpoint: string;
  /**
   * Lets pages from `origins` send files to `bucket` with a presigned form POST (or PUT), as the upload
   * bucket's CORS rule does in AWS for the web form. Replaces the bucket's CORS configuration.
   */
  allowBrowserUploads(bucket: string, origins: readonly string[]): Promise<void>;
  /** Stops event delivery, waits for the deliveries in progress, then stops the server. */
  close(): Promise<void>;
}

/** What {@link toS3Event} needs besides the s3rver event. */
export interface S3EventContext {
  /**
   * The request that created the object. s3rver reports a completed multipart upload as
   * `ObjectCreated:Post`, like a browser form upload; only the request (a POST with `uploadId`) tells them apart.
   */
  readonly request?: { readonly method: string; readonly url: string };
  /** @default the region of the s3rver event */
  readonly region?: string;
}

interface RequestLine {
  readonly method: string;
  readonly url: string;
}

/**
 * Starts s3rver on a free loopback port, silent, with `buckets` created, and feeds each object-created
 * event, normalised by {@link toS3Event}, to `onObjectCreated`, as the bucket notification does in AWS.
 * Clients must be made with `makeS3Client({ endpoint })`: s3rver only accepts its own access key and
 * stores a default client's checksum framing as data.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const { dir, buckets, onObjectCreated, region = 'us-east-1' } = options;
  const onError = options.onError ?? reportToStderr;
  await mkdir(dir, { recursive: true });
  const s3rver = new S3rver({
    directory: dir,
    silent: true,
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets();

  // The event s3rver emits does not say which request caused it; the request's async context does.
  const requests = new AsyncLocalStorage<RequestLine>();
  const deliveries = new Set<Promise<void>>();
  let delivering = true;
  s3rver.on('event', (raw) => {
    if (!delivering) return;
    const event = toS3Event(raw, { request: requests.getStore(), region });
    if (!event) return;
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => onObjectCreated(event))
      .catch((error: unknown) => {
        try {
          onError(error, event);
        } catch {
          // A failing error reporter must not become an unhandled rejection either.
        }
      })
      .finally(() => deliveries.delete(delivery));
    deliveries.add(delivery);
  });

  const handle = s3rver.callback();
  const server = createServer((req, res) => {
    requests.run({ method: req.method ?? 'GET', url: req.url ?? '/' }, () => handle(req, res));
  });
  await listen(server, options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    allowBrowserUploads: async (bucket, origins) => {
      const client = makeS3Client({ endpoint });
      try {
        await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: browserUploadCors(origins) }));
      } finally {
        client.destroy();
      }
    },
    close: async () => {
      delivering = false;
      // A delivery may still be reading its object from this server: let it finish first.
      await Promise.allSettled([...deliveries]);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * The CORS rule a browser upload needs: the form POST (or PUT) from the page's origins, with the headers
 * XMLHttpRequest sends; the ETag exposed so a page can confirm what was stored.
 */
export function browserUploadCors(origins: readonly string[]): CORSConfiguration {
  return {
    CORSRules: [
      {
        AllowedOrigins: [...origins],
        AllowedMethods: ['POST', 'PUT'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      },
    ],
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function reportToStderr(error: unknown, event: S3Event): void {
  const record = event.Records[0];
  const where = record ? `s3://${record.s3.bucket.name}/${decodeS3Key(record.s3.object.key)}` : 'an object';
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`local S3: the ObjectCreated handler failed for ${where}: ${detail}\n`);
}

/**
 * Turns an s3rver notification into the event S3 delivers to Lambda, so handlers meet locally what they
 * meet in AWS: event version 2.1, the key URL-encoded with `+` for spaces, a bucket ARN without the
 * spaces s3rver puts in, a completed multipart upload named `ObjectCreated:CompleteMultipartUpload`, and
 * a fixed-width sequencer that sorts as S3's does. Pure: everything but the record comes from `context`.
 *
 * @returns the event, or `undefined` when it holds no object-created record (removals: the upload bucket
 * notifies only creations).
 */
export function toS3Event(s3rverEvent: S3rverEvent, context: S3EventContext = {}): S3Event | undefined {
  const records = s3rverEvent.Records.filter((record) => record.eventName.startsWith('ObjectCreated:')).map(
    (record): S3EventRecord => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: context.region ?? record.awsRegion,
      eventTime: record.eventTime,
      eventName: createdEventName(record.eventName, context.request),
      userIdentity: { principalId: record.userIdentity.principalId },
      requestParameters: { sourceIPAddress: record.requestParameters.sourceIPAddress },
      responseElements: {
        'x-amz-request-id': record.responseElements['x-amz-request-id'],
        'x-amz-id-2': record.responseElements['x-amz-id-2'],
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: record.s3.configurationId,
        bucket: {
          name: record.s3.bucket.name,
          ownerIdentity: { principalId: record.s3.bucket.ownerIdentity.principalId },
          arn: `arn:aws:s3:::${record.s3.bucket.name}`,
        },
        object: {
          key: encodeS3Key(record.s3.object.key),
          size: record.s3.object.size ?? 0,
          // s3rver leaves the ETag out of copy events; S3 always sends one, so handlers may rely on the field.
          eTag: record.s3.object.eTag ?? '',
          // s3rver's sequencer is the time in hex; padded, later events still sort later, as S3 promises per key.
          sequencer: record.s3.object.sequencer.padStart(16, '0'),
        },
      },
    }),
  );
  return records.length > 0 ? { Records: records } : undefined;
}

function createdEventName(eventName: string, request: S3EventContext['request']): string {
  if (eventName !== 'ObjectCreated:Post' || !request) return eventName;
  const isCompletion = request.method.toUpperCase() === 'POST' && new URL(request.url, 'http://s3.local').searchParams.has('uploadId');
  return isCompletion ? 'ObjectCreated:CompleteMultipartUpload' : eventName;
}
