import { Duration } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { API_KEY_LOCATIONS, type KeyedAuth } from '../lambdas/http/routes.js';

export type { KeyedAuth } from '../lambdas/http/routes.js';

/** Where each kind of keyed route carries its key (`API_KEY_LOCATIONS`), as an API Gateway identity source. */
export const KEY_IDENTITY_SOURCES: Readonly<Record<KeyedAuth, string>> = {
  apiKey: identitySource('apiKey'),
  queryApiKey: identitySource('queryApiKey'),
  headerApiKey: identitySource('headerApiKey'),
};

function identitySource(auth: KeyedAuth): string {
  const { in: where, name } = API_KEY_LOCATIONS[auth];
  return where === 'header' ? IdentitySource.header(name) : IdentitySource.queryString(name);
}

export interface ApiKeyAuthorizersProps {
  /** The function that hands API Gateway the key of a request (`api-key-authorizer` in the route table). */
  readonly handler: IFunction;
  /**
   * How long API Gateway keeps an authorizer's answer for one key. The answer only names the key, so
   * caching it never lets a revoked key through: API Gateway still checks the key against the usage plans.
   * @default Duration.minutes(5)
   */
  readonly resultsCacheTtl?: Duration;
}

/**
 * The REQUEST authorizers of the keyed routes, one per place a key travels: the `x-api-key` header, the
 * `apikey` query parameter (rspamd's VirusTotal client, map fetchers) and the `apikey` header (rspamd's
 * MetaDefender client). All share one function. With the API's key source set to `AUTHORIZER`, the key
 * each one returns is the one API Gateway checks against the usage plans and throttles by.
 *
 * Creates, on first use for a kind: a `RequestAuthorizer` with that identity source (a request without
 * it is answered 401 without invoking the function), and the permission for API Gateway to invoke the
 * function.
 */
export class ApiKeyAuthorizers extends Construct {
  private readonly created = new Map<KeyedAuth, RequestAuthorizer>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ApiKeyAuthorizersProps,
  ) {
    super(scope, id);
  }

  /** The authorizer for routes of this auth kind; created when first asked for, since an unused one fails synthesis. */
  authorizerFor(auth: KeyedAuth): RequestAuthorizer {
    let authorizer = this.created.get(auth);
    if (!authorizer) {
      authorizer = new RequestAuthorizer(this, auth.charAt(0).toUpperCase() + auth.slice(1), {
        handler: this.props.handler,
        identitySources: [KEY_IDENTITY_SOURCES[auth]],
        resultsCacheTtl: this.props.resultsCacheTtl ?? Duration.minutes(5),
      });
      this.created.set(auth, authorizer);
    }
    return authorizer;
  }

  /** The authorizers created so far, by the auth kind they serve. */
  get authorizers(): ReadonlyMap<KeyedAuth, RequestAuthorizer> {
    return this.created;
  }
}
