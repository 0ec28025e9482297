import { Template } from 'aws-cdk-lib/assertions';
import { Period, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { describe, expect, it } from 'vitest';
import { ROUTES, requiresApiKey, routeKey } from '../../lambdas/http/routes.js';
import { DEFAULT_USAGE_TIERS, UsageTiers } from '../../lib/usage-tiers.js';
import { logicalId, methodsByRoute, resourcesOfType, synthHashLookupStack, testStack, type TemplateResource } from './synth.js';

/** The usage plans of a template by description prefix (`hashcheck gateway tier`, ...). */
function plansOf(template: Template): Map<string, [string, TemplateResource]> {
  const plans = new Map<string, [string, TemplateResource]>();
  for (const [id, plan] of resourcesOfType(template, 'AWS::ApiGateway::UsagePlan')) {
    plans.set(String(plan.Properties['Description']).split(':')[0]!, [id, plan]);
  }
  return plans;
}

/** The logical ids of the API keys in a usage plan. */
function keysOf(template: Template, planId: string): string[] {
  return resourcesOfType(template, 'AWS::ApiGateway::UsagePlanKey')
    .filter(([, k]) => JSON.stringify(k.Properties['UsagePlanId']) === JSON.stringify({ Ref: planId }))
    .map(([, k]) => (k.Properties['KeyId'] as { Ref: string }).Ref);
}

describe('HashLookupStack usage tiers', () => {
  const { stack, template } = synthHashLookupStack();
  const plans = plansOf(template);
  const restApiId = logicalId(stack.api.restApi);

  it('deploys exactly two usage plans, gateway and script, and no standard plan', () => {
    expect([...plans.keys()].sort()).toEqual(['hashcheck gateway tier', 'hashcheck script tier']);
  });

  it('gives the gateway tier a high rate and a daily quota of 500,000 requests by default', () => {
    const [, plan] = plans.get('hashcheck gateway tier')!;
    expect(plan.Properties['Throttle']).toEqual({ RateLimit: 50, BurstLimit: 100 });
    expect(plan.Properties['Quota']).toEqual({ Limit: 500_000, Period: 'DAY' });
  });

  it('gives the script tier a low rate for bulk requests and a daily quota of 20,000 requests by default', () => {
    const [, plan] = plans.get('hashcheck script tier')!;
    expect(plan.Properties['Throttle']).toEqual({ RateLimit: 5, BurstLimit: 10 });
    expect(plan.Properties['Quota']).toEqual({ Limit: 20_000, Period: 'DAY' });
  });

  it.each(['hashcheck gateway tier', 'hashcheck script tier'])('puts one API key of its own in the %s plan, on the API stage', (name) => {
    const [planId, plan] = plans.get(name)!;
    expect(JSON.stringify(plan.Properties['ApiStages'])).toContain(`"${restApiId}"`);
    const keys = keysOf(template, planId);
    expect(keys).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGateway::ApiKey', { Enabled: true, Description: `API key of the ${String(plan.Properties['Description'])}` });
  });

  it('gives the tiers different keys, and outputs the gateway tier key as ApiKeyId', () => {
    const gateway = keysOf(template, plans.get('hashcheck gateway tier')![0]);
    const script = keysOf(template, plans.get('hashcheck script tier')![0]);
    expect(gateway[0]).not.toBe(script[0]);
    expect(logicalId(stack.api.apiKey)).toBe(gateway[0]);
    template.hasOutput('ApiKeyId', { Value: { Ref: gateway[0] } });
    expect(logicalId(stack.api.usageTiers!.tiers.script.apiKey)).toBe(script[0]);
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))('requires a usage-plan key on %s exactly when its auth takes a key', (key, route) => {
    const method = methodsByRoute(template).get(key)!;
    expect(method['ApiKeyRequired']).toBe(requiresApiKey(route.auth));
    if (route.auth === 'apiKey') expect(method['ApiKeyRequired']).toBe(true);
    if (route.auth === 'admin') expect(method['AuthorizationType']).toBe('AWS_IAM');
  });
});

describe('HashLookupStack usageTiers prop', () => {
  it('throttles and limits each tier as usageTiers says', () => {
    const { template } = synthHashLookupStack({
      usageTiers: {
        gateway: { throttle: { rateLimit: 200, burstLimit: 400 }, quota: { limit: 2_000_000, period: Period.DAY } },
        script: { throttle: { rateLimit: 2, burstLimit: 4 }, quota: { limit: 50_000, period: Period.WEEK } },
      },
    });
    const plans = plansOf(template);
    expect(plans.get('hashcheck gateway tier')![1].Properties).toMatchObject({
      Throttle: { RateLimit: 200, BurstLimit: 400 },
      Quota: { Limit: 2_000_000, Period: 'DAY' },
    });
    expect(plans.get('hashcheck script tier')![1].Properties).toMatchObject({
      Throttle: { RateLimit: 2, BurstLimit: 4 },
      Quota: { Limit: 50_000, Period: 'WEEK' },
    });
  });

  it('deploys one standard plan with keyThrottle and keyQuota when usageTiers is false', () => {
    const { stack, template } = synthHashLookupStack({ usageTiers: false, keyThrottle: { rateLimit: 7, burstLimit: 9 }, keyQuota: { limit: 123 } });
    const plans = resourcesOfType(template, 'AWS::ApiGateway::UsagePlan');
    expect(plans).toHaveLength(1);
    expect(plans[0]![1].Properties).toMatchObject({ Throttle: { RateLimit: 7, BurstLimit: 9 }, Quota: { Limit: 123 } });
    expect(stack.api.usageTiers).toBeUndefined();
  });
});

describe('UsageTiers', () => {
  function tiersStack(props: Partial<ConstructorParameters<typeof UsageTiers>[2]> = {}) {
    const stack = testStack();
    const restApi = new RestApi(stack, 'Api');
    restApi.root.addMethod('GET');
    const tiers = new UsageTiers(stack, 'Tiers', { restApi, ...props });
    return { tiers, template: Template.fromStack(stack) };
  }

  it('uses DEFAULT_USAGE_TIERS when given no settings', () => {
    const plans = plansOf(tiersStack().template);
    for (const name of ['gateway', 'script'] as const) {
      const defaults = DEFAULT_USAGE_TIERS[name];
      expect(plans.get(`hashcheck ${name} tier`)![1].Properties).toMatchObject({
        Throttle: { RateLimit: defaults.throttle.rateLimit, BurstLimit: defaults.throttle.burstLimit },
        Quota: { Limit: defaults.quota.limit, Period: 'DAY' },
      });
    }
  });

  it('sets one tier and leaves the other at its default', () => {
    const plans = plansOf(tiersStack({ script: { throttle: { rateLimit: 1, burstLimit: 1 }, quota: { limit: 10, period: Period.DAY } } }).template);
    expect(plans.get('hashcheck script tier')![1].Properties).toMatchObject({ Throttle: { RateLimit: 1, BurstLimit: 1 }, Quota: { Limit: 10 } });
    expect(plans.get('hashcheck gateway tier')![1].Properties).toMatchObject({ Throttle: { RateLimit: 50, BurstLimit: 100 } });
  });

  it('keeps the script tier slower per key and the gateway tier smaller per request by default', () => {
    expect(DEFAULT_USAGE_TIERS.script.throttle.rateLimit!).toBeLessThan(DEFAULT_USAGE_TIERS.gateway.throttle.rateLimit!);
    // A script request carries up to 10,000 hashes: its quota covers more hashes a day than the gateway's.
    expect(DEFAULT_USAGE_TIERS.script.quota.limit! * 10_000).toBeGreaterThan(DEFAULT_USAGE_TIERS.gateway.quota.limit!);
  });
});
