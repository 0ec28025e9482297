import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../lambdas/http/routes.js';
import { synthHashLookupStack } from './synth.js';

const { template } = synthHashLookupStack();
const adminRoutes = ROUTES.filter((r) => r.auth === 'admin');

describe('admin routes of the deployed API', () => {
  it('has admin routes in the route table to deploy', () => {
    expect(adminRoutes.length).toBeGreaterThan(0);
  });

  it.each(adminRoutes.map((r) => [r.method, r.path] as const))('authorizes %s %s with IAM and no API key', (method) => {
    const methods = template.findResources('AWS::ApiGateway::Method', {
      Properties: { HttpMethod: method, AuthorizationType: 'AWS_IAM' },
    });
    expect(Object.keys(methods).length).toBeGreaterThan(0);
  });

  it('leaves no method that reaches the admin function without IAM', () => {
    const methods = template.findResources('AWS::ApiGateway::Method', {
      Properties: { Integration: { Type: 'AWS_PROXY', Uri: Match.anyValue() } },
    });
    const adminFunction = Object.entries(template.findResources('AWS::Lambda::Function')).find(([, r]) =>
      JSON.stringify(r).includes('known-bad records and imports feeds'),
    );
    expect(adminFunction).toBeDefined();
    const [adminId] = adminFunction!;
    const reaching = Object.values(methods).filter((m) => JSON.stringify(m.Properties.Integration.Uri).includes(adminId));
    expect(reaching.length).toBe(adminRoutes.length);
    for (const method of reaching) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });
});
