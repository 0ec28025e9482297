import { randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { UpstreamUnavailableError } from '../core/errors.js';
import { LARGE_ANSWER_URL_SECONDS } from '../core/limits.js';
import type { LargeAnswerStore } from '../http/handler.js';
import { readConfig } from './config.js';
import { NodeSha256 } from './node-sha256.js';

/** Every stored answer's object key starts with this; the functions' grants are limited to it. */
export const ANSWER_KEY_PREFIX = 'answers/';

const NOT_STORED = 'The answer is too large to send directly and could not be stored; try again shortly, or send fewer hashes.';

/** AWS credentials as Lambda gives them to a function (its role's, in the environment). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Options of {@link S3AnswerStore}. */
export interface S3AnswerStoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** Read before each answer is stored: Lambda may hand a new execution environment new ones. */
  readonly credentials: () => AwsCredentials;
  /**
   * An S3-compatible endpoint reached path-style (`http://127.0.0.1:4569`), the emulator in tests.
   * @default - the bucket's virtual-hosted endpoint in `region`
   */
  readonly endpoint?: string;
  /** @default LARGE_ANSWER_URL_SECONDS */
  readonly expiresInSeconds?: number;
  /** @default new Date() */
  readonly now?: () => Date;
}

/**
 * Stores answers too large for a function's result in the answers bucket, under `answers/` with a random
 * name, and hands out a presigned GET of each. One signed PUT and one presigned URL, signed with
 * `@smithy/signature-v4` (which the DynamoDB client bundles already) and sent with `fetch`: the S3 client
 * would add hundreds of KB to functions that must start fast. The bucket's lifecycle removes the objects.
 * A failure to store is `UpstreamUnavailableError` (503): the answer exists but cannot be handed over.
 */
export class S3AnswerStore implements LargeAnswerStore {
  private readonly expiresIn: number;
  private readonly now: () => Date;

  constructor(private readonly options: S3AnswerStoreOptions) {
    this.expiresIn = options.expiresInSeconds ?? LARGE_ANSWER_URL_SECONDS;
    this.now = options.now ?? (() => new Date());
  }

  async put(body: string, contentType: string): Promise<{ location: string }> {
    const url = this.objectUrl(`${ANSWER_KEY_PREFIX}${randomUUID()}.json`);
    const bytes = Buffer.from(body, 'utf8');
    const request = {
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' && { port: Number(url.port) }),
      path: url.pathname,
      headers: {
        host: url.host,
        'content-type': contentType,
        'content-length': String(bytes.length),
        // The answer is read once, soon; nothing on the way may keep it.
        'cache-control': 'no-store',
      },
      body: bytes,
    };
    let signer: SignatureV4;
    let response: Response;
    try {
      signer = this.signer();
      const signed = await signer.sign(request, { signingDate: this.now() });
      const { host: _host, ...headers } = signed.headers;
      response = await fetch(url, { method: 'PUT', headers, body: bytes, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
    } catch (error) {
      throw new UpstreamUnavailableError(NOT_STORED, { cause: error });
    }
    if (!response.ok) throw new UpstreamUnavailableError(NOT_STORED, { cause: new Error(`S3 PutObject answered HTTP ${response.status}`) });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port !== '' && { port: Number(url.port) }),
        path: url.pathname,
        // S3 checks a presigned URL against an unsigned payload: the client's GET has no body to digest.
        headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: this.expiresIn, signingDate: this.now() },
    );
    const location = new URL(url);
    location.search = Object.entries(presigned.query ?? {})
      .map(([name, value]) => `${encodeQueryComponent(name)}=${encodeQueryComponent(String(value))}`)
      .join('&');
    return { location: location.toString() };
  }

  private objectUrl(key: string): URL {
    if (this.options.endpoint) return new URL(`${this.options.endpoint.replace(/\/$/, '')}/${this.options.bucket}/${key}`);
    return new URL(`https://${this.options.bucket}.s3.${this.options.region}.amazonaws.com/${key}`);
  }

  private signer(): SignatureV4 {
    return new SignatureV4({
      service: 's3',
      region: this.options.region,
      credentials: { ...this.options.credentials() },
      sha256: NodeSha256,
      // S3 signs the path as it is sent, not encoded a second time.
      uriEscapePath: false,
      // S3 wants the payload's digest as x-amz-content-sha256.
      applyChecksum: true,
    });
  }
}

/** RFC 3986 encoding of a query component, as SigV4 canonicalises it (a space is `%20`, never `+`). */
function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Credentials the local S3 emulator accepts (it checks the key, not the signature); never used against AWS. */
const LOCAL_S3_CREDENTIALS: AwsCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The answers bucket (`ANSWER_BUCKET`) as a function with large answers stores them, signing with the
 * function role's credentials from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`) in `AWS_REGION`; with `HASHCHECK_S3_ENDPOINT`, the local emulator.
 * @throws Error naming the variable that is missing
 */
export function answerStoreFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): S3AnswerStore {
  const config = readConfig(['answerBucket'], env);
  const endpoint = config.s3Endpoint;
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || (endpoint ? 'us-east-1' : undefined);
  if (!region) throw new Error('Environment variable AWS_REGION is not set');
  const credentials = (): AwsCredentials => {
    if (endpoint) return LOCAL_S3_CREDENTIALS;
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey) throw new Error('Environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
    return { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] && { sessionToken: env['AWS_SESSION_TOKEN'] }) };
  };
  return new S3AnswerStore({ bucket: config.answerBucket, region, credentials, ...(endpoint && { endpoint }) });
}
