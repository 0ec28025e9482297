import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request as a server received it: the raw request target (path and query) and the header values. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders | Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

/**
 * The SigV4 signature of a request as a server received it, computed from the specification (canonical
 * request, string to sign, derived key) with nothing shared with the command line's signer. The path and
 * query are taken as received: the test then also proves the client sent them in canonical form (RFC 3986
 * encoding; parameters sorted, here as whole strings, which is the same for the names the tests use).
 */
export function referenceSignature(
  request: ReceivedRequest,
  signedHeaders: string[],
  scope: { region: string; secret: string; service?: string },
): string {
  const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const [path, query = ''] = request.url.split('?');
  const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(request.headers[name]).trim()}\n`).join('');
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), hex(request.body)].join('\n');
  const amzDate = String(request.headers['x-amz-date']);
  const day = amzDate.slice(0, 8);
  const service = scope.service ?? 'execute-api';
  const credentialScope = `${day}/${scope.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${scope.secret}`, day), scope.region), service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}
