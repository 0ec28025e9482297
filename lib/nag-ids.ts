import { Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The logical id cdk-nag names a resource by in its finding ids, such as
 * `AwsSolutions-IAM5[Resource::<LogicalId.Arn>/uploads/*]`, for a construct or its default child.
 */
export function logicalIdToken(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}
