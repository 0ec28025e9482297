import { NodeSha256 } from '../lambdas/adapters/node-sha256.js';
import { CliError, oneLine } from './errors.js';

/** AWS credentials, as the default chain resolves them or a test fixes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A request about to be sent, as SigV4 needs to see it. */
export interface RequestToSign {
  readonly method: string;
  /** The exact URL that will be sent, query included. */
  readonly url: URL;
  /** Headers to sign and send; names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string;
}

/** How to sign. */
export interface SigningOptions {
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default 'execute-api', the signing name of API Gateway */
  readonly service?: string;
  /** @default now; tests fix it */
  readonly date?: Date;
}

/**
 * Signs a request with AWS Signature Version 4 (for API Gateway: service `execute-api`, as IAM-authorized
 * routes demand) and returns the headers to send: those given, plus `x-amz-date`, `authorization` and, with
 * temporary credentials, `x-amz-security-token`. `host` is signed but not returned: the HTTP client sets it
 * from the URL, to the same value.
 *
 * The body's digest is part of the signature but not sent as a header: API Gateway does not need
 * `x-amz-content-sha256`, and leaving it out keeps the signature the one AWS's published test vectors give.
 */
export async function signAwsRequest(request: RequestToSign, options: SigningOptions): Promise<Record<string, string>> {
  // Loaded when a request is signed, so lookups and scans do not pay for the AWS SDK at start-up.
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: typeof options.credentials === 'function' ? options.credentials : { ...options.credentials },
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const { url } = request;
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const earlier = query[name];
    query[name] = earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' && { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers: { ...request.headers, host: url.host },
      body: request.body,
    },
    options.date ? { signingDate: options.date } : {},
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = String(value);
  }
  return headers;
}

/**
 * Encodes a query component the way SigV4 canonicalises it (RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay as
 * they are). A URL built with it is signed over exactly what is sent; `URLSearchParams` would send a space
 * as `+`, which the canonical form spells `%20`.
 */
export function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The AWS region in an API Gateway host name (`abc123.execute-api.eu-west-1.amazonaws.com`, a VPC
 * endpoint's `…execute-api.eu-west-1.vpce.amazonaws.com`, or China's `.amazonaws.com.cn`), or `undefined`
 * for any other host, such as a custom domain.
 */
export function executeApiRegion(url: URL): string | undefined {
  return /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/i.exec(url.hostname)?.[1]?.toLowerCase();
}

/**
 * The default AWS credential chain (environment, SSO, web identity, shared files, container and instance
 * metadata), resolved once and translated into a one-line error that says how to provide credentials.
 */
export function defaultAwsCredentials(): () => Promise<AwsCredentials> {
  let provider: (() => Promise<AwsCredentials>) | undefined;
  return async () => {
    try {
      provider ??= (await import('@aws-sdk/credential-provider-node')).defaultProvider();
      return await provider();
    } catch (error) {
      throw new CliError(
        `no AWS credentials to sign the request with (${oneLine((error as Error).message, 200)}): set AWS_PROFILE, or ` +
          'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with aws sso login',
        { cause: error },
      );
    }
  };
}
