import { executeApiRegion, signAwsRequest, type AwsCredentials, type RequestToSign } from './aws-sigv4.js';
import { UsageError } from './errors.js';

/**
 * How a request to an admin route proves its right to change the list: the local server's admin key in
 * `x-api-key`, or, deployed, where admin routes are IAM-authorized, a SigV4 signature.
 */
export type AdminAuth =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'sigv4'; readonly region: string };

/** What the command line was given to choose the admin auth from. */
export interface AdminAuthInput {
  readonly url: URL;
  /** `--admin-key`. */
  readonly adminKey?: string;
  /** `--aws-sigv4`. */
  readonly sigv4: boolean;
  /** `--region`. */
  readonly region?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Chooses the admin auth. An admin key (`--admin-key`, else `HASHCHECK_ADMIN_KEY`) is sent as `x-api-key`.
 * Requests are signed with SigV4 when `--aws-sigv4` says so, or when no key is given and the URL is an API
 * Gateway host (`*.execute-api.<region>.amazonaws.com`), which only IAM lets through. The signing region
 * is the one in that host name (a signature for any other is refused), else `--region`, `AWS_REGION` or
 * `AWS_DEFAULT_REGION`.
 * @throws UsageError when the options contradict each other or nothing says how to authenticate.
 */
export function chooseAdminAuth(input: AdminAuthInput): AdminAuth {
  const { url, env } = input;
  if (input.sigv4 && input.adminKey !== undefined) {
    throw new UsageError('--aws-sigv4 and --admin-key contradict each other: the admin key is for the local server, SigV4 for a deployed API');
  }
  const key = input.sigv4 ? undefined : (input.adminKey ?? (env['HASHCHECK_ADMIN_KEY']?.trim() || undefined));
  if (key !== undefined) {
    if (key.trim() === '') throw new UsageError('--admin-key is empty: give the key the service was started with');
    return { kind: 'key', key };
  }
  const hostRegion = executeApiRegion(url);
  if (!input.sigv4 && hostRegion === undefined) {
    throw new UsageError(
      `no admin credentials for ${url.origin}: give --admin-key or set HASHCHECK_ADMIN_KEY (the key the local server was ` +
        'started with); for a deployed API, --aws-sigv4 signs with your AWS credentials',
    );
  }
  const given = input.region?.trim() || undefined;
  if (hostRegion !== undefined && given !== undefined && given !== hostRegion) {
    throw new UsageError(`--region ${given} does not match the region of ${url.host} (${hostRegion}); leave --region out`);
  }
  const region = hostRegion ?? given ?? (env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim() || undefined);
  if (region === undefined) {
    throw new UsageError(`cannot tell which AWS region ${url.host} is in, to sign for it: give --region or set AWS_REGION`);
  }
  return { kind: 'sigv4', region };
}

/**
 * The headers that authenticate a request: the admin key, or a SigV4 signature over the method, URL,
 * the given headers and the body.
 */
export async function authenticate(
  auth: AdminAuth,
  request: RequestToSign,
  credentials: () => Promise<AwsCredentials>,
): Promise<Record<string, string>> {
  if (auth.kind === 'key') return { ...request.headers, 'x-api-key': auth.key };
  return signAwsRequest(request, { region: auth.region, credentials });
}

/** What to check when the service refuses the admin credentials, in the words of the setting behind them. */
export function authHint(auth: AdminAuth): string {
  return auth.kind === 'key'
    ? 'check --admin-key (or HASHCHECK_ADMIN_KEY): it must be the HASHCHECK_ADMIN_KEY the service was started with'
    : `check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and region (${auth.region}): the signer needs ` +
        'execute-api:Invoke on the admin routes';
}
