import { describe, expect, it } from 'vitest';
import { CORS_ORIGIN_VARIABLE } from '../../lambdas/http/handler.js';
import { FUNCTIONS, ROUTES } from '../../lambdas/http/routes.js';
import { CORS_REQUEST_HEADERS } from '../../lib/api-cors.js';
import { logicalId, methodsByRoute, onlyResource, resourcesOfType, synthHashLookupStack } from './synth.js';

/** The site's origin as CloudFormation writes it: `https://` and the distribution's domain name. */
function siteOrigin(distributionId: string) {
  return { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] };
}

describe('HashLookupStack with the web form', () => {
  const { stack, template } = synthHashLookupStack();
  const site = stack.webForm!;
  const origin = siteOrigin(logicalId(site.distribution));
  const methods = methodsByRoute(template);
  const browserPaths = [...new Set(ROUTES.filter((r) => r.auth !== 'admin').map((r) => r.path))];

  it('deploys the web form and outputs its URL', () => {
    expect(site).toBeDefined();
    template.hasOutput('WebFormUrl', {});
  });

  it("tells the page this API's URL at deploy time", () => {
    const [[, deployment]] = resourcesOfType(template, 'Custom::CDKBucketDeployment') as [[string, any]];
    expect(JSON.stringify(deployment.Properties['SourceMarkers'])).toContain(logicalId(stack.api.restApi));
  });

  it("lets the page call only its own origin, this API's and the region's S3 endpoint", () => {
    const policy = onlyResource(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    const csp = JSON.stringify(
      (policy.Properties['ResponseHeadersPolicyConfig'] as any).SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy,
    );
    expect(csp).toContain("connect-src 'self' https://");
    expect(csp).toContain(logicalId(stack.api.restApi));
    expect(csp).toContain('.execute-api.');
    expect(csp).toContain('https://*.s3.');
  });

  it.each(browserPaths)('answers CORS preflights on %s for the web form origin only, with the key header allowed', (path) => {
    const preflight = methods.get(`OPTIONS ${path}`);
    expect(preflight).toBeDefined();
    expect(preflight!['ApiKeyRequired']).toBe(false);
    const [response] = (preflight!['Integration'] as { IntegrationResponses: { ResponseParameters: Record<string, unknown> }[] }).IntegrationResponses;
    const headers = response!.ResponseParameters;
    expect(headers['method.response.header.Access-Control-Allow-Origin']).toEqual({
      'Fn::Join': ['', ["'https://", { 'Fn::GetAtt': [logicalId(site.distribution), 'DomainName'] }, "'"]],
    });
    expect(headers['method.response.header.Access-Control-Allow-Headers']).toBe(`'${CORS_REQUEST_HEADERS.join(',')}'`);
    const allowed = ROUTES.filter((r) => r.path === path).map((r) => r.method);
    expect(headers['method.response.header.Access-Control-Allow-Methods']).toBe(`'${[...allowed, 'OPTIONS'].join(',')}'`);
  });

  it.each(browserPaths)('answers the preflight on %s with Allow too, the one OPTIONS method of the path', (path) => {
    const [response] = optionsAnswers(methods.get(`OPTIONS ${path}`)!);
    expect(response!.StatusCode).toBe('204');
    expect(response!.ResponseParameters['method.response.header.Allow']).toBe(`'${allowOf(path).join(', ')}'`);
    expect(response!.ResponseParameters['method.response.header.X-Content-Type-Options']).toBe("'nosniff'");
  });

  it('answers no preflight on the admin routes, which browsers cannot sign: OPTIONS there lists the methods only', () => {
    const adminPaths = [...new Set(ROUTES.filter((r) => r.auth === 'admin' && !browserPaths.includes(r.path)).map((r) => r.path))];
    expect(adminPaths.length).toBeGreaterThan(0);
    for (const path of adminPaths) {
      const [response] = optionsAnswers(methods.get(`OPTIONS ${path}`)!);
      expect(response!.ResponseParameters['method.response.header.Allow']).toBe(`'${allowOf(path).join(', ')}'`);
      expect(Object.keys(response!.ResponseParameters).filter((name) => /Access-Control/i.test(name))).toEqual([]);
    }
  });

  it('lets the page read the errors API Gateway answers itself, such as a missing key', () => {
    const responses = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse');
    expect(responses.length).toBeGreaterThan(0);
    for (const [, response] of responses) {
      const headers = response.Properties['ResponseParameters'] as Record<string, unknown>;
      expect(JSON.stringify(headers['gatewayresponse.header.Access-Control-Allow-Origin'])).toContain(
        logicalId(site.distribution),
      );
    }
  });

  it('gives every HTTP function the web form origin for its CORS header, and the event-driven ones none', () => {
    for (const spec of FUNCTIONS) {
      const fn = onlyResourceById(template, logicalId(stack.functions.get(spec.id)!));
      // A function given no variables at all has no Environment block.
      const variables = (fn.Properties['Environment'] as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
      if (spec.trigger === 'http') expect(variables[CORS_ORIGIN_VARIABLE], spec.id).toEqual(origin);
      else expect(variables[CORS_ORIGIN_VARIABLE], spec.id).toBeUndefined();
    }
  });

  it('adds the web form origin to the upload bucket CORS rule, for the presigned POST', () => {
    const bucket = onlyResourceById(template, logicalId(stack.uploads.bucket));
    const rules = (bucket.Properties['CorsConfiguration'] as { CorsRules: { AllowedOrigins: unknown[]; AllowedMethods: string[] }[] }).CorsRules;
    expect(rules).toHaveLength(1);
    expect(rules[0]!.AllowedOrigins).toEqual([origin]);
    expect(rules[0]!.AllowedMethods).toEqual(expect.arrayContaining(['POST']));
  });
});

describe('HashLookupStack without the web form', () => {
  const { stack, template } = synthHashLookupStack({ webForm: false });

  it('has no site, no preflights, no CORS header and no browser origin on the upload bucket', () => {
    expect(stack.webForm).toBeUndefined();
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    // OPTIONS on each route path lists its methods (Allow), and is no CORS preflight.
    const options = [...methodsByRoute(template)].filter(([k]) => k.startsWith('OPTIONS '));
    expect(options.map(([k]) => k).sort()).toEqual([...new Set(ROUTES.map((r) => `OPTIONS ${r.path}`))].sort());
    for (const [key, method] of options) {
      const [response] = optionsAnswers(method);
      expect(response!.ResponseParameters['method.response.header.Allow'], key).toBeDefined();
      expect(Object.keys(response!.ResponseParameters).filter((name) => /Access-Control/i.test(name)), key).toEqual([]);
    }
    expect(JSON.stringify(template.toJSON())).not.toContain(CORS_ORIGIN_VARIABLE);
    expect(JSON.stringify(template.toJSON())).not.toContain('Access-Control-Allow-Origin');
    expect(onlyResourceById(template, logicalId(stack.uploads.bucket)).Properties['CorsConfiguration']).toBeUndefined();
  });
});

/** The integration responses of an OPTIONS method. */
function optionsAnswers(method: Record<string, unknown>) {
  return (method['Integration'] as { IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, unknown> }[] }).IntegrationResponses;
}

/** What `Allow` lists for a path: its methods, HEAD where GET is, and OPTIONS, in the local server's order. */
function allowOf(path: string): string[] {
  const methods = new Set<string>(ROUTES.filter((r) => r.path === path).map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'].filter((m) => methods.has(m));
}

function onlyResourceById(template: ReturnType<typeof synthHashLookupStack>['template'], id: string) {
  const resource = (template.toJSON()['Resources'] as Record<string, { Properties: Record<string, any> }>)[id];
  if (!resource) throw new Error(`No resource ${id}`);
  return resource;
}
