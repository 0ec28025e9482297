import { describe, expect, it } from 'vitest';
import { chooseAdminAuth, type AdminAuthInput } from '../../cli/admin-auth.js';
import { encodeQueryComponent, executeApiRegion, signAwsRequest } from '../../cli/aws-sigv4.js';
import { UsageError } from '../../cli/errors.js';
import { referenceSignature } from './sigv4-reference.js';

/** The credentials and time of AWS's published SigV4 test suite. */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: new Date('2015-08-30T12:36:00Z'),
};
const STAGE = new URL('https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod');

describe('signAwsRequest', () => {
  it('gives the signature of the published get-vanilla test vector', async () => {
    const headers = await signAwsRequest(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
      { ...SUITE, region: 'us-east-1', service: 'service' },
    );

    expect(headers).toEqual({
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    });
  });

  it('signs an import for execute-api: the body, the query, the content type and the session token', async () => {
    const url = new URL('https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/v1/admin/imports?format=plain&campaign=Incident%2042');
    const body = `${'a'.repeat(64)}\n`;

    const headers = await signAwsRequest(
      { method: 'POST', url, headers: { 'content-type': 'text/plain' }, body },
      { ...SUITE, credentials: { ...SUITE.credentials, sessionToken: 'session-token' }, region: 'eu-west-1' },
    );

    expect(Object.keys(headers).sort()).toEqual(['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token']);
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers['x-amz-security-token']).toBe('session-token');
    const match = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=(\S+), Signature=([0-9a-f]{64})$/.exec(
      headers['authorization']!,
    );
    expect(match?.[1]).toBe('content-type;host;x-amz-date;x-amz-security-token');
    const received = { method: 'POST', url: `${url.pathname}${url.search}`, headers: { ...headers, host: url.host }, body };
    expect(match?.[2]).toBe(referenceSignature(received, match![1]!.split(';'), { region: 'eu-west-1', secret: SUITE.credentials.secretAccessKey }));
  });

  it('asks a credential provider only when it signs', async () => {
    let asked = 0;
    const credentials = async () => {
      asked++;
      return SUITE.credentials;
    };

    await signAwsRequest({ method: 'POST', url: STAGE, headers: {}, body: '' }, { credentials, region: 'eu-west-1', date: SUITE.date });

    expect(asked).toBe(1);
  });
});

describe('encodeQueryComponent', () => {
  it('encodes everything but the RFC 3986 unreserved characters, as SigV4 canonicalises a query', () => {
    expect(encodeQueryComponent("Incident 42 (O'Brien)! *a+b/c~d_e.f-g")).toBe('Incident%2042%20%28O%27Brien%29%21%20%2Aa%2Bb%2Fc~d_e.f-g');
    expect(encodeQueryComponent('Größe')).toBe('Gr%C3%B6%C3%9Fe');
  });
});

describe('executeApiRegion', () => {
  it.each([
    ['https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod', 'eu-west-1'],
    ['https://abc123defg.execute-api.us-gov-west-1.amazonaws.com/prod', 'us-gov-west-1'],
    ['https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/prod', 'cn-north-1'],
    ['https://abc123defg-vpce-0123456789abcdef0.execute-api.ap-southeast-2.vpce.amazonaws.com/prod', 'ap-southeast-2'],
    ['https://hashcheck.example.org/', undefined],
    ['http://127.0.0.1:3000', undefined],
    ['https://execute-api.eu-west-1.amazonaws.com.evil.example/prod', undefined],
  ])('finds the region of %s: %s', (url, region) => {
    expect(executeApiRegion(new URL(url))).toBe(region);
  });
});

describe('chooseAdminAuth', () => {
  const input = (overrides: Partial<AdminAuthInput>): AdminAuthInput => ({ url: new URL('http://127.0.0.1:3000'), sigv4: false, env: {}, ...overrides });

  it('sends the admin key from --admin-key, else from HASHCHECK_ADMIN_KEY', () => {
    expect(chooseAdminAuth(input({ adminKey: 'flag', env: { HASHCHECK_ADMIN_KEY: 'env' } }))).toEqual({ kind: 'key', key: 'flag' });
    expect(chooseAdminAuth(input({ env: { HASHCHECK_ADMIN_KEY: 'env' } }))).toEqual({ kind: 'key', key: 'env' });
  });

  it('signs with SigV4 without being told when there is no key and the URL is an execute-api host, in its region', () => {
    expect(chooseAdminAuth(input({ url: STAGE, env: { AWS_REGION: 'us-east-1' } }))).toEqual({ kind: 'sigv4', region: 'eu-west-1' });
  });

  it('prefers the key to SigV4 for an execute-api host when a key is given', () => {
    expect(chooseAdminAuth(input({ url: STAGE, env: { HASHCHECK_ADMIN_KEY: 'env' } }))).toEqual({ kind: 'key', key: 'env' });
  });

  it('signs with --aws-sigv4 for a custom domain, in --region, else AWS_REGION, else AWS_DEFAULT_REGION', () => {
    const url = new URL('https://hashcheck.example.org/');
    expect(chooseAdminAuth(input({ url, sigv4: true, region: 'eu-central-1', env: { AWS_REGION: 'us-east-1' } }))).toEqual({ kind: 'sigv4', region: 'eu-central-1' });
    expect(chooseAdminAuth(input({ url, sigv4: true, env: { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-west-2' } }))).toEqual({ kind: 'sigv4', region: 'us-east-1' });
    expect(chooseAdminAuth(input({ url, sigv4: true, env: { AWS_DEFAULT_REGION: 'us-west-2' } }))).toEqual({ kind: 'sigv4', region: 'us-west-2' });
  });

  it('--aws-sigv4 wins over HASHCHECK_ADMIN_KEY in the environment', () => {
    expect(chooseAdminAuth(input({ url: STAGE, sigv4: true, env: { HASHCHECK_ADMIN_KEY: 'env' } }))).toEqual({ kind: 'sigv4', region: 'eu-west-1' });
  });

  it.each<[string, Partial<AdminAuthInput>, RegExp]>([
    ['no key for a local server', {}, /^no admin credentials for http:\/\/127\.0\.0\.1:3000: give --admin-key or set HASHCHECK_ADMIN_KEY/],
    ['--aws-sigv4 with --admin-key', { sigv4: true, adminKey: 'k' }, /contradict/],
    ['an empty --admin-key', { adminKey: ' ' }, /--admin-key is empty/],
    ['--aws-sigv4 without any region', { url: new URL('https://hashcheck.example.org/'), sigv4: true }, /give --region or set AWS_REGION/],
    ['a --region other than the host name says', { url: STAGE, region: 'us-east-1' }, /--region us-east-1 does not match the region of .* \(eu-west-1\)/],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => chooseAdminAuth(input(overrides))).toThrow(UsageError);
    expect(() => chooseAdminAuth(input(overrides))).toThrow(message);
  });
});
