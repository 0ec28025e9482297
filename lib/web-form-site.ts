import { AssetHashType, DefaultStackSynthesizer, DockerImage, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source, type ISource } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket.js';
import { logicalIdToken } from './nag-ids.js';
import { WEB_FORM_HEADERS, WEB_FORM_SOURCE, webFormContentSecurityPolicy, writeWebForm, type WebFormConfig } from './web-form-assets.js';

export interface WebFormSiteProps {
  /**
   * The API's base URL (the stage URL, ending in `/`), given to the page at deploy time in `config.json`.
   */
  readonly apiUrl: string;
  /**
   * Origins the page calls besides its own, for the CSP's `connect-src`: the API's
   * (`https://<id>.execute-api.<region>.amazonaws.com`) and the upload storage's, where large files go.
   */
  readonly connectOrigins: readonly string[];
  /**
   * The page's files.
   * @default - the web form under `web/`, bundled with esbuild at synthesis (locally; no Docker)
   */
  readonly page?: ISource;
  /**
   * Custom domain names of the distribution; needs `certificate`.
   * @default - the distribution's own `*.cloudfront.net` name
   */
  readonly domainNames?: readonly string[];
  /**
   * An ACM certificate in us-east-1 for `domainNames`. With it, viewers must use TLS 1.2 or later.
   * @default - CloudFront's default certificate
   */
  readonly certificate?: ICertificate;
  /**
   * A WAFv2 web ACL (scope CLOUDFRONT, in us-east-1) for the distribution: its ARN.
   * @default - none
   */
  readonly webAclId?: string;
  /**
   * Where the distribution serves from.
   * @default PriceClass.PRICE_CLASS_100 (North America and Europe)
   */
  readonly priceClass?: PriceClass;
  /**
   * How long CloudFront and S3 access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /**
   * How long the deployment function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the page bucket and the log bucket when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What a stack lets its user choose about the site; the API's URL and origins come from the stack. */
export type WebFormOptions = Omit<WebFormSiteProps, 'apiUrl' | 'connectOrigins'>;

/** How long the edge and browsers may keep a file of the page before asking again. */
const PAGE_MAX_AGE = Duration.minutes(1);

/** HSTS for a year, subdomains included: the page is only ever served over HTTPS. */
const HSTS_MAX_AGE = Duration.days(365);

/**
 * The web form as a static site: a private bucket behind CloudFront, served with strict security headers,
 * the page told at deploy time where the API is.
 *
 * Creates:
 * - the page bucket: all public access blocked, TLS 1.2 or later only, S3-managed encryption, readable
 *   only by this distribution through origin access control (OAC, not the legacy OAI), server access logs
 *   into the log bucket;
 * - the log bucket for CloudFront standard logs and the page bucket's access logs (ACLs enabled, as
 *   CloudFront's log delivery requires; public access blocked), logs expiring after `accessLogRetention`;
 * - a response headers policy: the CSP (own scripts and styles only; `connect-src` for the page's
 *   origin and `connectOrigins`; `frame-ancestors 'none'`), HSTS, `X-Content-Type-Options`,
 *   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, and the headers of `WEB_FORM_HEADERS`;
 * - a cache policy keeping files one minute at the edge (and in browsers), compressed;
 * - the distribution: HTTPS only (HTTP redirects), GET and HEAD only, HTTP/2 and 3, `index.html` at `/`,
 *   standard logging;
 * - a BucketDeployment (a CDK custom resource with its own role and log group) that copies the built
 *   page and a `config.json` with `apiUrl` into the bucket; with one-minute lifetimes no invalidation is
 *   needed, so the deployment has no CloudFront permission at all.
 *
 * The site's origin, for the API's and the upload bucket's CORS rules, is {@link WebFormSite.origin}.
 */
export class WebFormSite extends Construct {
  /** The bucket holding the page. */
  public readonly bucket: Bucket;
  /** CloudFront standard logs (`cloudfront/`) and the page bucket's access logs (`page-bucket/`). */
  public readonly logBucket: Bucket;
  /** How long CloudFront and browsers keep the page's files. */
  public readonly cachePolicy: CachePolicy;
  /** The security headers every answer carries. */
  public readonly responseHeadersPolicy: ResponseHeadersPolicy;
  /** The distribution serving the page. */
  public readonly distribution: Distribution;
  /** Copies the page and its configuration into the bucket. */
  public readonly deployment: BucketDeployment;
  /** `https://` and the site's host name: the one origin the API and the upload bucket allow. */
  public readonly origin: string;
  /** The page's address. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: WebFormSiteProps) {
    super(scope, id);
    if ((props.domainNames?.length ?? 0) > 0 && !props.certificate) {
      throw new Error('WebFormSite: domainNames need a certificate (an ACM certificate in us-east-1) for those names.');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.logBucket = new AccessLogBucket(this, 'Logs', {
      logsOf: 'the web form (CloudFront and page-bucket access logs)',
      retention: props.accessLogRetention,
      removalPolicy,
      cloudFrontLogs: true,
    });

    this.bucket = new Bucket(this, 'Page', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'page-bucket/',
      removalPolicy,
    });

    const csp = webFormContentSecurityPolicy(props.connectOrigins);
    const custom = Object.entries(WEB_FORM_HEADERS).filter(([name]) => !MANAGED_BY_SECURITY_BEHAVIOR.has(name));
    this.responseHeadersPolicy = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'hashcheck web form: CSP, HSTS and the other security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: { accessControlMaxAge: HSTS_MAX_AGE, includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: { customHeaders: custom.map(([header, value]) => ({ header, value, override: true })) },
    });

    // Short lifetimes instead of invalidations: a deployment reaches every user within two minutes, and the
    // deployment needs no cloudfront:CreateInvalidation, which BucketDeployment would grant on every
    // distribution of the account. The page is four small files; caching them longer saves nothing.
    this.cachePolicy = new CachePolicy(this, 'Cache', {
      comment: 'hashcheck web form: short lifetimes, so deployments show without invalidations',
      minTtl: Duration.seconds(0),
      defaultTtl: PAGE_MAX_AGE,
      maxTtl: PAGE_MAX_AGE,
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'hashcheck web form',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: this.cachePolicy,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      domainNames: props.domainNames ? [...props.domainNames] : undefined,
      certificate: props.certificate,
      // Only a custom certificate lets the viewer TLS policy be chosen; the default one is fixed by CloudFront.
      minimumProtocolVersion: props.certificate ? SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      webAclId: props.webAclId,
    });
    const host = props.domainNames?.[0] ?? this.distribution.distributionDomainName;
    this.origin = `https://${host}`;
    this.url = `${this.origin}/`;
    this.acknowledgeDistributionFindings(props);

    const deploymentRole = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the web form into its bucket and invalidates the distribution, at deploy time',
    });
    const deploymentLogs = new LogGroup(this, 'DeploymentLogs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    deploymentLogs.grantWrite(deploymentRole);
    const config: WebFormConfig = { apiUrl: props.apiUrl };
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [props.page ?? webFormSource(), Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      cacheControl: [CacheControl.maxAge(PAGE_MAX_AGE)],
      prune: true,
      role: deploymentRole,
      logGroup: deploymentLogs,
      memoryLimit: 256,
    });
    this.acknowledgeDeploymentFindings(deploymentRole);
  }

  private acknowledgeDistributionFindings(props: WebFormSiteProps): void {
    const acks = [
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'No geo restriction: staff check files from wherever they work, and the page itself holds no data; the API it calls needs an API key.',
      },
    ];
    if (!props.webAclId) {
      acks.push({
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL by default: the site serves four static files with GET and HEAD only; a CloudFront web ACL must live in us-east-1, so pass webAclId to attach one made there.',
      });
    }
    if (!props.certificate) {
      acks.push({
        id: 'AwsSolutions-CFR4',
        reason:
          "With CloudFront's default *.cloudfront.net certificate the viewer TLS policy cannot be set; HSTS keeps browsers on HTTPS. Pass domainNames and a certificate to enforce TLS 1.2 or later.",
      });
    }
    Validations.of(this.distribution).acknowledge(...acks);
  }

  private acknowledgeDeploymentFindings(role: Role): void {
    const stack = Stack.of(this);
    const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const why =
      'The grants BucketDeployment gives its handler, which runs only during deployments: read the page asset from the CDK assets bucket, then write and prune the objects of the page bucket.';
    Validations.of(role).acknowledge(
      ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${why} ${action} is how the CDK's grantRead/grantReadWrite name these read, list and prune actions.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-${account}-${region}/*]`,
        reason: `${why} Asset object keys are content hashes decided at synthesis, so the read grant covers the assets bucket's objects.`,
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalIdToken(this.bucket)}.Arn>/*]`,
        reason: `${why} The page's files are replaced and pruned as a whole, so the grant covers every object of the page bucket, and only that bucket.`,
      },
    );
    // The deployment's handler is a singleton function at stack level, shared by every BucketDeployment.
    const handlers = Stack.of(this).node.children.filter((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const handler of handlers) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "The runtime of the CDK's BucketDeployment handler is chosen by aws-cdk-lib and moves with it; it runs only during deployments to copy the page, never on a request.",
      });
    }
  }
}

/** Headers the security-headers behaviour sets; the rest of `WEB_FORM_HEADERS` go in as custom headers. */
const MANAGED_BY_SECURITY_BEHAVIOR = new Set(['x-content-type-options', 'x-frame-options', 'referrer-policy', 'strict-transport-security']);

/**
 * The web form bundled at synthesis by esbuild in this process: no Docker, no network. The Docker image
 * is only a fallback the CDK requires to be named; local bundling always succeeds or throws.
 */
function webFormSource(): ISource {
  return Source.asset(WEB_FORM_SOURCE, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine'),
      local: {
        tryBundle(outputDir: string): boolean {
          writeWebForm(outputDir);
          return true;
        },
      },
    },
  });
}
