import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CONTEXT_KEYS, CONTEXT_PREFIX, readContext } from './context';
import { defaultName } from './props';
import { SesBouncer, type SesBouncerProps } from './ses-bouncer-construct';
import { PropError } from './validation';

/** Context key of each prop whose name differs from its key. */
const CONTEXT_KEY_OF_PROP: Readonly<Record<string, string>> = { receiveMemorySize: 'receiveMemoryMb' };

/** Properties of {@link SesBouncerStack}. */
export interface SesBouncerStackProps extends StackProps {
  /**
   * The bouncer's settings.
   * @default - read from the `ses-bouncer:*` context keys (see lib/context.ts);
   * rule set and rule named `<stack>-rule-set` and `<stack>-bouncer`
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
    this.bouncer = props.bouncer ? new SesBouncer(this, 'Bouncer', props.bouncer) : this.bouncerFromContext();

    const b = this.bouncer;
    const outputs: Record<string, [string, string]> = {
      RulesTableName: [b.rulesTable.tableName, 'DynamoDB table holding the bounce rules'],
      StateTableName: [b.stateTable.tableName, 'DynamoDB table holding claims, audit items, budgets and the rate gate'],
      MailBucketName: [b.mailBucket.bucketName, `S3 bucket with the raw mail under ${b.mailPrefix}`],
      ReceiveFunctionName: [b.receiveFunction.functionName, 'Lambda function SES invokes'],
      SendFunctionName: [b.sendFunction.functionName, 'Lambda function that calls SendBounce'],
      CompileFunctionName: [b.compileFunction.functionName, 'Lambda function that compiles the rules table into a snapshot'],
      RulesSnapshotBucketName: [b.rulesSnapshotBucket.bucketName, 'S3 bucket with the compiled rule snapshots'],
      CompileDeadLetterQueueUrl: [b.compileDeadLetterQueue.queueUrl, 'dead-letter queue of rules compiles that failed after their retries'],
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

  /**
   * The bouncer from the `ses-bouncer:*` context keys. The names default to
   * the stack's (as before construct defaults became unique per instance, so
   * a deployed stack keeps its rule set and rule), and a prop error names the
   * context key the user typed, not the prop.
   */
  private bouncerFromContext(): SesBouncer {
    const fromContext = readContext(this.node);
    const props: SesBouncerProps = {
      ...fromContext,
      ruleSetName: fromContext.ruleSetName ?? (fromContext.useExistingRuleSet ? undefined : defaultName(this.stackName, 'rule-set')),
      ruleName: fromContext.ruleName ?? defaultName(this.stackName, 'bouncer'),
    };
    try {
      return new SesBouncer(this, 'Bouncer', props);
    } catch (err) {
      const key = err instanceof PropError ? (CONTEXT_KEY_OF_PROP[err.prop] ?? err.prop) : undefined;
      if (err instanceof PropError && key !== undefined && key in CONTEXT_KEYS) throw err.renamed(`context ${CONTEXT_PREFIX}${key}`);
      throw err;
    }
  }
}
