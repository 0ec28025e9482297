import { ApiKey, Period, UsagePlan, type QuotaSettings, type RestApi, type ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';

/** The kinds of caller the API meters separately. */
export type UsageTierName = 'gateway' | 'script';

/** How one kind of caller is throttled and limited. */
export interface UsageTierSettings {
  /** Requests per second per key, and the burst above it. */
  readonly throttle: ThrottleSettings;
  /** Requests per key per period. */
  readonly quota: QuotaSettings;
}

/**
 * The default tiers. Quotas count requests, whatever each carries:
 * - `gateway`, for mail gateways and web-form users: one attachment or one hash per request, many at
 *   once when mail arrives in bursts, so a high rate (50/s, bursts of 100) and a daily quota of 500,000
 *   requests, which is 500,000 attachments or hashes;
 * - `script`, for EDR/SIEM scripts and the CLI: bulk lists of up to 10,000 hashes per request, so a low
 *   rate (5/s, bursts of 10) and 20,000 requests a day, which is up to 200 million hashes.
 */
export const DEFAULT_USAGE_TIERS: Readonly<Record<UsageTierName, UsageTierSettings>> = {
  gateway: { throttle: { rateLimit: 50, burstLimit: 100 }, quota: { limit: 500_000, period: Period.DAY } },
  script: { throttle: { rateLimit: 5, burstLimit: 10 }, quota: { limit: 20_000, period: Period.DAY } },
};

const DESCRIPTIONS: Readonly<Record<UsageTierName, string>> = {
  gateway: 'hashcheck gateway tier: mail gateways and the web form, one file or hash per request at a high rate',
  script: 'hashcheck script tier: EDR/SIEM scripts and the CLI, bulk lists of up to 10,000 hashes per request',
};

export interface UsageTiersProps {
  /** The API whose deployment stage the plans meter. */
  readonly restApi: RestApi;
  /**
   * The gateway tier's throttle and quota.
   * @default DEFAULT_USAGE_TIERS.gateway: 50 requests/s, bursts of 100, 500,000 requests a day
   */
  readonly gateway?: UsageTierSettings;
  /**
   * The script tier's throttle and quota.
   * @default DEFAULT_USAGE_TIERS.script: 5 requests/s, bursts of 10, 20,000 requests a day
   */
  readonly script?: UsageTierSettings;
}

/** One tier as deployed. */
export interface UsageTier {
  readonly plan: UsagePlan;
  /** The tier's first API key. Read its value with `aws apigateway get-api-key --api-key <id> --include-value`. */
  readonly apiKey: ApiKey;
}

/**
 * Usage plans by kind of caller, each throttling and limiting every key it holds on its own.
 *
 * Creates, for each of `gateway` and `script`: a usage plan on the API's deployment stage with the tier's
 * throttle and quota, and an API key in it. More keys are added to a tier's plan with `plan.addApiKey`.
 */
export class UsageTiers extends Construct {
  /** The tiers by name. */
  public readonly tiers: Readonly<Record<UsageTierName, UsageTier>>;

  constructor(scope: Construct, id: string, props: UsageTiersProps) {
    super(scope, id);
    const settings: Record<UsageTierName, UsageTierSettings> = {
      gateway: props.gateway ?? DEFAULT_USAGE_TIERS.gateway,
      script: props.script ?? DEFAULT_USAGE_TIERS.script,
    };
    const make = (name: UsageTierName): UsageTier => {
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      const plan = new UsagePlan(this, `${title}Plan`, {
        description: DESCRIPTIONS[name],
        throttle: settings[name].throttle,
        quota: settings[name].quota,
        apiStages: [{ api: props.restApi, stage: props.restApi.deploymentStage }],
      });
      const apiKey = new ApiKey(this, `${title}Key`, { description: `API key of the ${DESCRIPTIONS[name]}` });
      plan.addApiKey(apiKey);
      return { plan, apiKey };
    };
    this.tiers = { gateway: make('gateway'), script: make('script') };
  }
}
