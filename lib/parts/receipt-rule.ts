/**
 * Where mail enters: the receipt rule set (created, or the user's), the
 * bouncer's rule in it (store the message, then invoke "receive"), the invoke
 * permission scoped to that rule, and the optional activation of the set.
 */
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { ResolvedProps } from '../props';

/** What {@link createReceiptRule} creates. */
export interface ReceiptRuleParts {
  readonly ruleSet: ses.IReceiptRuleSet;
  readonly receiptRule: ses.ReceiptRule;
  /** Present only when `activateRuleSet`. */
  readonly ruleSetActivation?: cr.AwsCustomResource;
}

/** Inputs of {@link createReceiptRule} besides the props. */
export interface ReceiptRuleInputs {
  readonly mailBucket: s3.Bucket;
  readonly receiveFunction: lambda.IFunction;
  /** ARN of the rule, known before the rule exists (it scopes the bucket policy too). */
  readonly receiptRuleArn: string;
}

/** Creates (or imports) the rule set and adds the bouncer's rule to it. */
export function createReceiptRule(scope: Construct, s: ResolvedProps, inputs: ReceiptRuleInputs): ReceiptRuleParts {
  const { mailBucket, receiveFunction, receiptRuleArn } = inputs;
  const ruleSet = s.useExistingRuleSet
    ? ses.ReceiptRuleSet.fromReceiptRuleSetName(scope, 'RuleSet', s.ruleSetName)
    : new ses.ReceiptRuleSet(scope, 'RuleSet', { receiptRuleSetName: s.ruleSetName });
  // CDK's Lambda action would add a permission scoped by account only: this
  // one adds the rule's ARN, so no other rule (or account's rule) can invoke.
  const invokePermission = new lambda.CfnPermission(scope, 'AllowSesInvoke', {
    action: 'lambda:InvokeFunction',
    functionName: receiveFunction.functionArn,
    principal: 'ses.amazonaws.com',
    sourceAccount: Aws.ACCOUNT_ID,
    sourceArn: receiptRuleArn,
  });
  const receiptRule = new ses.ReceiptRule(scope, 'ReceiptRule', {
    ruleSet,
    receiptRuleName: s.ruleName,
    recipients: [...s.recipients],
    // The guard needs SES's spam and virus verdicts; they are DISABLED without scanning.
    scanEnabled: true,
    tlsPolicy: s.tlsPolicy,
    enabled: true,
    // Order matters: SES runs actions in order, so the message is stored before the function reads it.
    actions: [
      {
        bind: () => ({
          s3Action: { bucketName: mailBucket.bucketName, objectKeyPrefix: s.mailPrefix },
        }),
      },
      {
        bind: () => ({
          lambdaAction: { functionArn: receiveFunction.functionArn, invocationType: s.invocationType },
        }),
      },
    ],
  });
  // SES checks both permissions when the rule is created.
  receiptRule.node.addDependency(invokePermission, mailBucket.policy!);

  const ruleSetActivation = s.activateRuleSet ? activate(scope, s.ruleSetName, receiptRule) : undefined;
  return { ruleSet, receiptRule, ruleSetActivation };
}

/** Construct id of the singleton provider function that every AwsCustomResource in a stack shares. */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * Activates the rule set on create and update. Nothing happens on delete:
 * deactivating would stop all receiving in the account and Region, and SES
 * refuses to delete the active set, so removing the stack first needs a human
 * to activate another set (or none).
 */
function activate(scope: Construct, ruleSetName: string, receiptRule: ses.ReceiptRule): cr.AwsCustomResource {
  const call: cr.AwsSdkCall = {
    service: 'SES',
    action: 'setActiveReceiptRuleSet',
    parameters: { RuleSetName: ruleSetName },
    physicalResourceId: cr.PhysicalResourceId.of(`active-receipt-rule-set-${ruleSetName}`),
  };
  const activation = new cr.AwsCustomResource(scope, 'ActivateRuleSet', {
    onCreate: call,
    onUpdate: call,
    installLatestAwsSdk: false,
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['ses:SetActiveReceiptRuleSet'],
        // SES offers no resource-level permission for this action.
        resources: ['*'],
      }),
    ]),
  });
  activation.node.addDependency(receiptRule);
  Validations.of(activation).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ses:SetActiveReceiptRuleSet supports no resource-level permissions',
  });
  // The provider function is a stack-wide singleton created by AwsCustomResource.
  const provider = Stack.of(scope).node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
  if (provider) {
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "the CDK AwsCustomResource provider's role; the managed policy only lets it write its own logs",
    });
  }
  return activation;
}
