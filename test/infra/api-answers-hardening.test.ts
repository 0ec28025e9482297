import { describe, expect, it } from 'vitest';
import { resourcesOfType, synthHashLookupStack } from './synth.js';

/** Every value in `node` under a key matching `key`, at any depth. */
function valuesUnder(node: unknown, key: RegExp): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => valuesUnder(n, key));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => [...(key.test(k) ? [v] : []), ...valuesUnder(v, key)]);
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': "'nosniff'",
  'Cache-Control': "'no-store'",
  'Strict-Transport-Security': "'max-age=31536000; includeSubDomains'",
};

describe('browser origins of the deployed stack', () => {
  it.each([
    ['by default, with the web form', {}],
    ['with upload origins of its own', { uploadAllowedOrigins: ['https://files.example.com'] }],
  ])('allows no wildcard origin anywhere, %s', (_what, props) => {
    const json = synthHashLookupStack(props).template.toJSON();
    const origins = [
      ...valuesUnder(json, /Access-Control-Allow-Origin$/i),
      ...valuesUnder(json, /^AllowedOrigins$/).flat(),
      ...valuesUnder(json, /^AccessControlAllowOrigins$/),
    ];
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) expect(JSON.stringify(origin)).not.toMatch(/\*/);
  });

  it('answers no preflight and names no browser origin with the web form left out', () => {
    const { template } = synthHashLookupStack({ webForm: false });
    // OPTIONS still answers Allow on each route path, but as no CORS preflight.
    const options = resourcesOfType(template, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties['HttpMethod'] === 'OPTIONS');
    expect(options.filter(([, m]) => JSON.stringify(m.Properties).includes('Access-Control'))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/Access-Control-Allow-Origin|AllowedOrigins|HASHCHECK_CORS_ORIGIN/);
  });
});

describe('answers API Gateway makes itself', () => {
  const { template } = synthHashLookupStack();

  it('carry nosniff, no-store and HSTS on every gateway response', () => {
    const responses = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse');
    expect(responses.length).toBeGreaterThan(10);
    for (const [id, response] of responses) {
      const headers = response.Properties['ResponseParameters'] as Record<string, string>;
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(headers[`gatewayresponse.header.${name}`], `${id} ${name}`).toBe(value);
    }
  });

  it('carry nosniff, no-store and HSTS on every 405 of a wrong method', () => {
    const anyMethods = resourcesOfType(template, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties['HttpMethod'] === 'ANY');
    expect(anyMethods.length).toBeGreaterThan(0);
    for (const [id, method] of anyMethods) {
      const [answer] = (method.Properties['Integration'] as { IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, string> }[] })
        .IntegrationResponses;
      expect(answer!.StatusCode).toBe('405');
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(answer!.ResponseParameters[`method.response.header.${name}`], `${id} ${name}`).toBe(value);
    }
  });
});
