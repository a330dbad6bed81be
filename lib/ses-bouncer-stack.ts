import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { readContext } from './context';
import { SesBouncer, type SesBouncerProps } from './ses-bouncer-construct';

/** Properties of {@link SesBouncerStack}. */
export interface SesBouncerStackProps extends StackProps {
  /**
   * The bouncer's settings.
   * @default - read from the `ses-bouncer:*` context keys (see lib/context.ts)
   */
  readonly bouncer?: SesBouncerProps;
}

/**
 * The deployable app: one {@link SesBouncer} configured from CDK context, with
 * outputs naming what operators and the CLI need. Environment-agnostic unless
 * `env` is given, so synth needs no credentials and makes no lookups.
 */
export class SesBouncerStack extends Stack {
  public readonly bouncer: SesBouncer;

  constructor(scope: Construct, id: string, props: SesBouncerStackProps = {}) {
    super(scope, id, props);
    this.bouncer = new SesBouncer(this, 'Bouncer', props.bouncer ?? readContext(this.node));

    const b = this.bouncer;
    const outputs: Record<string, [string, string]> = {
      RulesTableName: [b.rulesTable.tableName, 'DynamoDB table holding the bounce rules'],
      StateTableName: [b.stateTable.tableName, 'DynamoDB table holding claims, audit items, budgets and the rate gate'],
      MailBucketName: [b.mailBucket.bucketName, `S3 bucket with the raw mail under ${b.mailPrefix}`],
      ReceiveFunctionName: [b.receiveFunction.functionName, 'Lambda function SES invokes'],
      SendFunctionName: [b.sendFunction.functionName, 'Lambda function that calls SendBounce'],
      BounceQueueUrl: [b.bounceQueue.queueUrl, 'SQS queue of bounce jobs'],
      BounceQueueName: [b.bounceQueue.queueName, 'SQS queue of bounce jobs'],
      DeadLetterQueueUrl: [b.deadLetterQueue.queueUrl, 'dead-letter queue of jobs and failed receive invocations'],
      DeadLetterQueueName: [b.deadLetterQueue.queueName, 'dead-letter queue of jobs and failed receive invocations'],
      ReceiptRuleSetName: [b.ruleSetName, 'SES receipt rule set holding the bouncer rule'],
      ReceiptRuleName: [b.ruleName, 'SES receipt rule of the bouncer'],
      AlarmTopicArn: [b.alarmTopic.topicArn, 'SNS topic the alarms notify'],
      DashboardName: [b.dashboard.dashboardName, 'CloudWatch dashboard of the bouncer'],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, name, { value, description });
    }
  }
}
