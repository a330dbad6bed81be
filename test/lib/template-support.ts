import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SesBouncerStack } from '../../lib/ses-bouncer-stack';

/** The context the tests start from (same shape as cdk.json's). */
export const BASE_CONTEXT: Record<string, unknown> = {
  'ses-bouncer:recipients': ['example.com', 'info@example.org'],
  'ses-bouncer:bounceSender': 'mailer-daemon@example.com',
  'ses-bouncer:reportingMta': 'mx.example.com',
};

/**
 * Builds a stack from context. The functions' code is the pre-built
 * dist/functions (npm test's pretest builds it), so nothing is bundled here.
 */
export function buildStack(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...BASE_CONTEXT, ...context } });
  const stack = new SesBouncerStack(app, 'Test');
  return { app, stack, template: Template.fromStack(stack) };
}

/** One statement of an AWS::IAM::Policy, with the roles it is attached to. */
export interface IamStatement {
  readonly policy: string;
  readonly roles: readonly string[];
  readonly effect: string;
  readonly actions: readonly string[];
  /** Resources rendered as text: `${Logical.Arn}`, `${AWS::Region}` for intrinsics. */
  readonly resources: readonly string[];
}

/** Renders a CloudFormation value with intrinsics as readable text. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `\${${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  return JSON.stringify(value);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement of every AWS::IAM::Policy in the template. */
export function iamStatements(template: Template): IamStatement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries(policies).flatMap(([policy, resource]) => {
    const props = resource.Properties as {
      PolicyDocument: { Statement: Record<string, unknown>[] };
      Roles?: { Ref: string }[];
    };
    const roles = (props.Roles ?? []).map((r) => r.Ref);
    return props.PolicyDocument.Statement.map((s) => ({
      policy,
      roles,
      effect: String(s.Effect),
      actions: asList(s.Action as string | string[]),
      resources: asList(s.Resource).map(render),
    }));
  });
}

/** The logical id of the resource whose id starts with `prefix` (exactly one must). */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with "${prefix}", found ${JSON.stringify(ids)}`);
  return ids[0];
}

/** The statements attached to the role of the function whose logical id starts with `prefix`. */
export function functionStatements(template: Template, prefix: string): IamStatement[] {
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', prefix)];
  const role = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return iamStatements(template).filter((s) => s.roles.includes(role));
}
