import { CfnParameter, Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { webFormContentSecurityPolicy } from '../../lib/web-form-assets.js';
import { WebFormSite, type WebFormSiteProps } from '../../lib/web-form-site.js';
import { logicalId, onlyResource, resourcesOfType, testStack } from './synth.js';

const API_ORIGIN = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const UPLOAD_ORIGIN = 'https://*.s3.eu-west-1.amazonaws.com';

function site(props: Partial<WebFormSiteProps> = {}) {
  const stack = testStack();
  const apiUrl = new CfnParameter(stack, 'ApiUrl').valueAsString;
  const web = new WebFormSite(stack, 'Web', { apiUrl, connectOrigins: [API_ORIGIN, UPLOAD_ORIGIN], ...props });
  return { stack, web, template: Template.fromStack(stack) };
}

function certificate(stack: Stack) {
  return Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:123456789012:certificate/abc');
}

function headersConfig(template: Template) {
  return onlyResource(template, 'AWS::CloudFront::ResponseHeadersPolicy').Properties['ResponseHeadersPolicyConfig'] as {
    SecurityHeadersConfig: Record<string, Record<string, unknown>>;
    CustomHeadersConfig: { Items: { Header: string; Value: string }[] };
  };
}

function distributionConfig(template: Template) {
  return onlyResource(template, 'AWS::CloudFront::Distribution').Properties['DistributionConfig'] as Record<string, any>;
}

/** Every acknowledged AwsSolutions finding id in the tree, without its details. */
function acknowledgedRules(root: IConstruct): string[] {
  const ids = root.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.keys(m.data as Record<string, string>))
    .map((id) => id.replace(/^annotation::/i, '').replace(/\[.*\]$/, ''))
    .filter((id) => id.startsWith('AwsSolutions-'));
  return [...new Set(ids)].sort();
}

describe('WebFormSite', () => {
  describe('page bucket', () => {
    const { template, web } = site();

    it('blocks all public access to both buckets', () => {
      const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
      expect(buckets).toHaveLength(2);
      for (const [, bucket] of buckets) {
        expect(bucket.Properties['PublicAccessBlockConfiguration']).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
      }
    });

    it('encrypts both buckets and refuses requests without TLS 1.2', () => {
      for (const [, bucket] of resourcesOfType(template, 'AWS::S3::Bucket')) {
        expect(JSON.stringify(bucket.Properties['BucketEncryption'])).toContain('AES256');
      }
      for (const [, policy] of resourcesOfType(template, 'AWS::S3::BucketPolicy')) {
        const statements = (policy.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement;
        expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
        expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }));
      }
    });

    it('lets only this distribution read the page, through origin access control and not a legacy OAI', () => {
      template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      });
      template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
      const [origin] = distributionConfig(template)['Origins'] as Record<string, any>[];
      expect(origin!['OriginAccessControlId']).toBeDefined();
      expect(origin!['S3OriginConfig']).toEqual({ OriginAccessIdentity: '' });

      const pagePolicy = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(
        ([, p]) => JSON.stringify(p.Properties['Bucket']) === JSON.stringify({ Ref: logicalId(web.bucket) }),
      )!;
      const allows = (pagePolicy[1].Properties['PolicyDocument'] as { Statement: Record<string, any>[] }).Statement.filter((s) => s['Effect'] === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]).toMatchObject({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } });
      expect(JSON.stringify(allows[0]!['Condition'])).toContain(logicalId(web.distribution));
    });

    it('grants nothing to everyone in any bucket policy', () => {
      for (const [, policy] of resourcesOfType(template, 'AWS::S3::BucketPolicy')) {
        for (const statement of (policy.Properties['PolicyDocument'] as { Statement: Record<string, any>[] }).Statement) {
          if (statement['Effect'] === 'Allow') expect(JSON.stringify(statement['Principal'])).not.toContain('"*"');
        }
      }
    });

    it('logs the page bucket into the log bucket', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(web.logBucket) }, LogFilePrefix: 'page-bucket/' },
      });
    });
  });

  describe('security headers', () => {
    const { template } = site();
    const config = headersConfig(template);

    it('sends the strict CSP of the page, calling only its origin, the API and the upload storage', () => {
      const csp = config.SecurityHeadersConfig['ContentSecurityPolicy']!;
      expect(csp).toEqual({ ContentSecurityPolicy: webFormContentSecurityPolicy([API_ORIGIN, UPLOAD_ORIGIN]), Override: true });
      expect(csp['ContentSecurityPolicy']).toContain(`connect-src 'self' ${API_ORIGIN} ${UPLOAD_ORIGIN}`);
      expect(csp['ContentSecurityPolicy']).toContain("frame-ancestors 'none'");
      expect(csp['ContentSecurityPolicy']).not.toContain('unsafe');
    });

    it('sends HSTS for a year with subdomains', () => {
      expect(config.SecurityHeadersConfig['StrictTransportSecurity']).toEqual({ AccessControlMaxAgeSec: 31536000, IncludeSubdomains: true, Override: true });
    });

    it('forbids sniffing and framing, and sends no referrer', () => {
      expect(config.SecurityHeadersConfig['ContentTypeOptions']).toEqual({ Override: true });
      expect(config.SecurityHeadersConfig['FrameOptions']).toEqual({ FrameOption: 'DENY', Override: true });
      expect(config.SecurityHeadersConfig['ReferrerPolicy']).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    });

    it('isolates the browsing context and switches off device APIs', () => {
      expect(config.CustomHeadersConfig.Items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Header: 'cross-origin-opener-policy', Value: 'same-origin' }),
          expect.objectContaining({ Header: 'permissions-policy', Value: expect.stringContaining('camera=()') }),
        ]),
      );
    });
  });

  describe('distribution', () => {
    it('serves index.html over HTTPS only, GET and HEAD only, with the security headers', () => {
      const { template } = site();
      const config = distributionConfig(template);
      expect(config['DefaultRootObject']).toBe('index.html');
      expect(config['DefaultCacheBehavior']).toMatchObject({
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        ResponseHeadersPolicyId: expect.anything(),
      });
    });

    it('writes standard logs into the log bucket', () => {
      const { template, web } = site();
      expect(distributionConfig(template)['Logging']).toEqual({
        Bucket: { 'Fn::GetAtt': [logicalId(web.logBucket), 'RegionalDomainName'] },
        Prefix: 'cloudfront/',
      });
      template.hasResourceProperties('AWS::S3::Bucket', { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });
    });

    it("uses CloudFront's default certificate by default, whose TLS policy cannot be set", () => {
      const config = distributionConfig(site().template);
      expect(config['ViewerCertificate']).toBeUndefined();
      expect(config['Aliases']).toBeUndefined();
    });

    it('requires TLS 1.2 or later for its own domain names and certificate', () => {
      const stack = testStack();
      const web = new WebFormSite(stack, 'Web', {
        apiUrl: 'https://api.example.com/prod/',
        connectOrigins: [API_ORIGIN],
        domainNames: ['hashcheck.example.com'],
        certificate: certificate(stack),
      });
      const config = distributionConfig(Template.fromStack(stack));
      expect(config['Aliases']).toEqual(['hashcheck.example.com']);
      expect(config['ViewerCertificate']).toMatchObject({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
      expect(web.origin).toBe('https://hashcheck.example.com');
    });

    it('refuses domain names without a certificate', () => {
      expect(() => site({ domainNames: ['hashcheck.example.com'] })).toThrow('domainNames need a certificate');
    });

    it('attaches no web ACL by default, and the one it is given', () => {
      expect(distributionConfig(site().template)['WebACLId']).toBeUndefined();
      const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/hashcheck/abc';
      expect(distributionConfig(site({ webAclId: arn }).template)['WebACLId']).toBe(arn);
    });

    it('serves from North America and Europe by default, and from where priceClass says', () => {
      expect(distributionConfig(site().template)['PriceClass']).toBe('PriceClass_100');
      expect(distributionConfig(site({ priceClass: PriceClass.PRICE_CLASS_ALL }).template)['PriceClass']).toBe('PriceClass_All');
    });

    it('keeps files one minute at the edge, so deployments show without invalidations', () => {
      site().template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
        CachePolicyConfig: Match.objectLike({ DefaultTTL: 60, MaxTTL: 60, MinTTL: 0 }),
      });
    });

    it('names its origin and URL after the distribution', () => {
      const { web, stack } = site();
      const resolved = JSON.stringify(stack.resolve(web.origin));
      expect(resolved).toContain('https://');
      expect(resolved).toContain(logicalId(web.distribution));
      expect(JSON.stringify(stack.resolve(web.url))).toContain('/');
    });
  });

  describe('deployment of the page', () => {
    it('copies the page and a config.json naming the API into the page bucket', () => {
      const { template, web } = site();
      const [[, deployment]] = resourcesOfType(template, 'Custom::CDKBucketDeployment') as [[string, any]];
      expect(deployment.Properties['DestinationBucketName']).toEqual({ Ref: logicalId(web.bucket) });
      expect(deployment.Properties['SourceObjectKeys']).toHaveLength(2);
      // The API's URL is a deploy-time value, filled into config.json by the deployment.
      expect(JSON.stringify(deployment.Properties['SourceMarkers'])).toContain('{"Ref":"ApiUrl"}');
      expect(deployment.Properties['Prune']).toBe(true);
      expect(deployment.Properties['SystemMetadata']).toEqual({ 'cache-control': 'max-age=60' });
    });

    it('gives the deployment no CloudFront permission and no wildcard resource', () => {
      const { template, web } = site();
      const statements = resourcesOfType(template, 'AWS::IAM::Policy').flatMap(
        ([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
      );
      expect(JSON.stringify(statements)).not.toContain('cloudfront:');
      expect(statements.filter((s) => JSON.stringify(s.Resource) === '"*"')).toEqual([]);
      expect(web.deployment.handlerRole).toBeDefined();
    });

    it('keeps the deployment function logs one month by default', () => {
      site().template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });
  });

  describe('retention', () => {
    it('retains both buckets by default and keeps logs 90 days', () => {
      const { template } = site();
      for (const [, bucket] of resourcesOfType(template, 'AWS::S3::Bucket')) expect(bucket.DeletionPolicy).toBe('Retain');
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })] },
      });
    });

    it('takes the removal policy and log retention it is given', () => {
      const { template } = site({ removalPolicy: RemovalPolicy.DESTROY, accessLogRetention: Duration.days(7) });
      for (const [, bucket] of resourcesOfType(template, 'AWS::S3::Bucket')) expect(bucket.DeletionPolicy).toBe('Delete');
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7 })] },
      });
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('finds nothing unacknowledged, and acknowledges only what a default site accepts', () => {
      const { stack } = site();
      const report = new AwsSolutionsChecks(stack).validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(acknowledgedRules(stack)).toEqual([
        'AwsSolutions-CFR1',
        'AwsSolutions-CFR2',
        'AwsSolutions-CFR4',
        'AwsSolutions-IAM5',
        'AwsSolutions-L1',
        'AwsSolutions-S1',
      ]);
    });

    it('needs no WAF or TLS acknowledgement once given a web ACL and a certificate', () => {
      const stack = testStack();
      new WebFormSite(stack, 'Web', {
        apiUrl: 'https://api.example.com/prod/',
        connectOrigins: [API_ORIGIN],
        domainNames: ['hashcheck.example.com'],
        certificate: certificate(stack),
        webAclId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/hashcheck/abc',
      });
      expect(new AwsSolutionsChecks(stack).validateScope(stack).violations).toEqual([]);
      expect(acknowledgedRules(stack)).not.toContain('AwsSolutions-CFR2');
      expect(acknowledgedRules(stack)).not.toContain('AwsSolutions-CFR4');
    });
  });
});
