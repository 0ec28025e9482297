import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HashLookupStack } from '../lib/hash-lookup-stack.js';

const app = new App();
new HashLookupStack(app, 'HashLookup', {
  description: 'hashcheck: known-bad file-hash lookup service (API Gateway, Lambda, DynamoDB, S3, SQS)',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
