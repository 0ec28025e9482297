import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import type { Construct, IConstruct } from 'constructs';
import { HashLookupStack, type HashLookupStackProps } from '../../lib/hash-lookup-stack.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';

/** The feature flags of `cdk.json`, so tests synthesize what `cdk synth` does. */
const CDK_CONTEXT = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/**
 * An app with the project's feature flags that skips bundling: assertion tests need no esbuild run.
 * The built-in CloudFormation schema validation is off unless asked for: it takes about ten seconds,
 * and the synthesis tests that mirror `bin/app.ts` run it.
 */
export function testApp(options: { cloudFormationValidation?: boolean } = {}): App {
  return new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: options.cloudFormationValidation ?? false,
  });
}

/** A bare stack in a test app, for testing one construct. */
export function testStack(): Stack {
  return new Stack(testApp(), 'Test');
}

/** A stand-in function with inline code, for constructs that take any function. */
export function inlineFunction(scope: Construct, id: string): LambdaFunction {
  return new LambdaFunction(scope, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
  });
}

const synthesized = new Map<string, { stack: HashLookupStack; template: Template }>();

/**
 * The whole service stack and its template, synthesized once per set of props and shared by every test
 * that asks for the same (the infrastructure tests share their modules, so across files too). Tests only
 * read what they are given: a test that adds to a stack builds its own with {@link testStack}.
 */
export function synthHashLookupStack(props: HashLookupStackProps = {}): { stack: HashLookupStack; template: Template } {
  const key = JSON.stringify(props);
  let found = synthesized.get(key);
  if (!found) {
    const stack = new HashLookupStack(testApp(), 'HashLookup', props);
    found = { stack, template: Template.fromStack(stack) };
    synthesized.set(key, found);
  }
  return found;
}

/** The logical id of a construct's CloudFormation resource (the construct itself or its default child). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

export interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export function resourcesOfType(template: Template, type: string): [string, TemplateResource][] {
  return Object.entries(template.findResources(type)) as [string, TemplateResource][];
}

/** The one resource of a type in the template; fails when there is not exactly one. */
export function onlyResource(template: Template, type: string): TemplateResource {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
  return found[0]![1];
}

export interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every inline policy attached to the role. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatement[] {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties['Roles']).includes(JSON.stringify({ Ref: roleLogicalId })))
    .flatMap(([, policy]) => (policy.Properties['PolicyDocument'] as { Statement: PolicyStatement[] }).Statement);
}

export function actionsOf(statements: readonly PolicyStatement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/**
 * The API's methods keyed `METHOD /path`, with each resource's full path rebuilt from the chain of
 * `AWS::ApiGateway::Resource` parents.
 */
export function methodsByRoute(template: Template): Map<string, Record<string, unknown>> {
  const resources = new Map(resourcesOfType(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const resource = id === undefined ? undefined : resources.get(id);
    if (!resource) return '';
    return `${pathOf(resource.Properties['ParentId'])}/${resource.Properties['PathPart'] as string}`;
  };
  const methods = new Map<string, Record<string, unknown>>();
  for (const [, method] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
    methods.set(`${method.Properties['HttpMethod'] as string} ${pathOf(method.Properties['ResourceId']) || '/'}`, method.Properties);
  }
  return methods;
}
