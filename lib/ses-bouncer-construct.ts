import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createFunctions } from './parts/functions';
import { bouncerMetric, createMonitoring } from './parts/monitoring';
import { createReceiptRule } from './parts/receipt-rule';
import { createStorage } from './parts/storage';
import { resolveProps, type SesBouncerProps } from './props';

// The parts, and the props, are where a reader looks for them:
//   lib/props.ts               props, defaults and their validation
//   lib/parts/storage.ts       mail bucket, rules and state tables, queues
//   lib/parts/functions.ts     the receive and send functions, roles, grants
//   lib/parts/receipt-rule.ts  rule set, receipt rule, invoke permission, activation
//   lib/parts/monitoring.ts    alarm topic, alarms, dashboard
//   lib/assets.ts              the pre-built function code (npm run build)
export { SERVICE_NAME } from './parts/functions';
export { SENDER_AUTH_POLICIES, type InvocationType, type SesBouncerProps } from './props';

/**
 * The bouncer: an SES receipt rule storing mail in S3 and invoking the
 * receiving function, DynamoDB rules and state tables, the bounce-job queue and
 * the rate-limited sending function, with alarms and a dashboard.
 *
 * The receipt rule gets an explicit name, so its ARN is known up front and
 * scopes both the bucket policy and the invoke permission without a cycle.
 * Every part is created directly in this construct (not in a child), so the
 * logical ids of deployed resources do not change with the file layout.
 */
export class SesBouncer extends Construct {
  /** Raw messages, written by SES under {@link mailPrefix}. */
  public readonly mailBucket: s3.Bucket;
  /** Key prefix of the raw messages, e.g. `mail/`. */
  public readonly mailPrefix: string;
  /** One item per rule, keyed by `ruleId`. */
  public readonly rulesTable: dynamodb.Table;
  /** Claims, audit items, sender budgets and the rate gate, keyed by `pk`, TTL `expiresAt`. */
  public readonly stateTable: dynamodb.Table;
  /** Bounce jobs from the receiving to the sending function. */
  public readonly bounceQueue: sqs.Queue;
  /** Jobs that failed five times and receive invocations that failed after two retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function SES invokes. */
  public readonly receiveFunction: lambda.Function;
  /** The function that calls SendBounce, fed by {@link bounceQueue}. */
  public readonly sendFunction: lambda.Function;
  /** The created rule set, or the imported one when `useExistingRuleSet`. */
  public readonly ruleSet: ses.IReceiptRuleSet;
  /** Name of {@link ruleSet}. */
  public readonly ruleSetName: string;
  /** The bouncer's receipt rule. */
  public readonly receiptRule: ses.ReceiptRule;
  /** Name of {@link receiptRule}. */
  public readonly ruleName: string;
  /** `arn:<partition>:ses:<region>:<account>:receipt-rule-set/<set>:receipt-rule/<rule>` */
  public readonly receiptRuleArn: string;
  /** Present only when `activateRuleSet`. */
  public readonly ruleSetActivation?: cr.AwsCustomResource;
  /** Topic the alarms notify. */
  public readonly alarmTopic: sns.Topic;
  /** Encrypts the alarm topic; CloudWatch may use it to publish. */
  public readonly alarmTopicKey: kms.Key;
  /** Function errors, dead letters, old jobs, expired or unknown bounces, invalid rules, unreadable mail. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The bouncer's CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SesBouncerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settings = resolveProps(props, stack.stackName);
    this.mailPrefix = settings.mailPrefix;
    this.ruleSetName = settings.ruleSetName;
    this.ruleName = settings.ruleName;
    this.receiptRuleArn = stack.formatArn({
      service: 'ses',
      resource: 'receipt-rule-set',
      resourceName: `${this.ruleSetName}:receipt-rule/${this.ruleName}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    const storage = createStorage(this, settings, this.receiptRuleArn);
    ({
      mailBucket: this.mailBucket,
      rulesTable: this.rulesTable,
      stateTable: this.stateTable,
      bounceQueue: this.bounceQueue,
      deadLetterQueue: this.deadLetterQueue,
    } = storage);

    ({ receiveFunction: this.receiveFunction, sendFunction: this.sendFunction } = createFunctions(this, settings, storage));

    ({
      ruleSet: this.ruleSet,
      receiptRule: this.receiptRule,
      ruleSetActivation: this.ruleSetActivation,
    } = createReceiptRule(this, settings, {
      mailBucket: this.mailBucket,
      receiveFunction: this.receiveFunction,
      receiptRuleArn: this.receiptRuleArn,
    }));

    ({
      alarmTopic: this.alarmTopic,
      alarmTopicKey: this.alarmTopicKey,
      alarms: this.alarms,
      dashboard: this.dashboard,
    } = createMonitoring(this, settings, this));
  }

  /** A bouncer metric as the functions emit it (EMF, dimension `service`). */
  public metric(name: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return bouncerMetric(name, options);
  }
}
