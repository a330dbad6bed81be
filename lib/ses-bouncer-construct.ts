import { Annotations, ArnFormat, Names, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createFunctions } from './parts/functions';
import { bouncerMetric, createMonitoring } from './parts/monitoring';
import { createReceiptRule } from './parts/receipt-rule';
import { createStorage } from './parts/storage';
import { resolveProps, type SesBouncerProps } from './props';
import { PropError } from './validation';

// The parts, and the props, are where a reader looks for them:
//   lib/props.ts               props, defaults and their validation
//   lib/parts/storage.ts       mail bucket, rules and state tables, queues, snapshot bucket
//   lib/parts/functions.ts     the receive, send, sweep and compile functions, roles, grants
//   lib/parts/receipt-rule.ts  rule set, receipt rule, invoke permission, activation
//   lib/parts/monitoring.ts    alarm topic, alarms, dashboard
//   lib/assets.ts              the pre-built function code (npm run build)
export { SERVICE_NAME } from './parts/functions';
export { RulePosition, SENDER_AUTH_POLICIES, type InvocationType, type SesBouncerProps } from './props';

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
  /** Raw messages, written by SES under {@link mailPrefix}: the created bucket or `existingBucket`. */
  public readonly mailBucket: s3.IBucket;
  /** Key prefix of the raw messages, e.g. `mail/`. */
  public readonly mailPrefix: string;
  /** One item per rule, keyed by `ruleId`. */
  public readonly rulesTable: dynamodb.Table;
  /**
   * Claims, audit items, sender budgets and the rate gate, keyed by `pk`, TTL
   * `expiresAt`: the created table or `existingStateTable`. Pass it as another
   * bouncer's `existingStateTable` to share the SendBounce rate gate.
   */
  public readonly stateTable: dynamodb.ITable;
  /** Key of the SendBounce rate gate in {@link stateTable}. */
  public readonly rateGateKey: string;
  /** Bounce jobs from the receiving to the sending function. */
  public readonly bounceQueue: sqs.Queue;
  /** Jobs that failed five times and receive invocations that failed after two retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function SES invokes. */
  public readonly receiveFunction: lambda.Function;
  /** The function that calls SendBounce, fed by {@link bounceQueue}. */
  public readonly sendFunction: lambda.Function;
  /** Scheduled sweep of stuck claims (stale PENDING, dead SENDING). */
  public readonly sweepFunction: lambda.Function;
  /**
   * Compiles the rules table into a snapshot when it changes (fed by the
   * table's stream, and on a schedule) and publishes the snapshot's pointer
   * in {@link stateTable}; receive reads the pointer instead of scanning.
   */
  public readonly compileFunction: lambda.Function;
  /** The compiled rule snapshots, `rules/<version>.json.gz`; always the bouncer's own bucket. */
  public readonly rulesSnapshotBucket: s3.Bucket;
  /** Stream batches the compile function failed on after its retries. */
  public readonly compileDeadLetterQueue: sqs.Queue;
  /** The created rule set, or the existing one (`existingRuleSet`, `useExistingRuleSet`). */
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
  /** Function errors, dead letters, old jobs, expired or unknown bounces, invalid rules, failed compiles, unreadable mail. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The bouncer's CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SesBouncerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Unique per construct path (stack, ids, hash): two bouncers never share a default name.
    const uniqueName = Names.uniqueResourceName(this, { maxLength: 50, separator: '-' });
    const settings = resolveProps(props, uniqueName, (name) => ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', name));
    this.mailPrefix = settings.mailPrefix;
    this.ruleSetName = settings.ruleSetName;
    this.ruleName = settings.ruleName;
    this.rateGateKey = settings.rateGateKey;
    this.createsRuleSet = settings.existingRuleSet === undefined;
    this.receiptRuleArn = stack.formatArn({
      service: 'ses',
      resource: 'receipt-rule-set',
      resourceName: `${this.ruleSetName}:receipt-rule/${this.ruleName}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    this.checkAgainstOtherBouncers();

    const storage = createStorage(this, settings, this.receiptRuleArn);
    ({
      mailBucket: this.mailBucket,
      rulesTable: this.rulesTable,
      stateTable: this.stateTable,
      bounceQueue: this.bounceQueue,
      deadLetterQueue: this.deadLetterQueue,
      rulesSnapshotBucket: this.rulesSnapshotBucket,
      compileDeadLetterQueue: this.compileDeadLetterQueue,
    } = storage);

    ({
      receiveFunction: this.receiveFunction,
      sendFunction: this.sendFunction,
      sweepFunction: this.sweepFunction,
      compileFunction: this.compileFunction,
    } = createFunctions(this, settings, storage));

    ({
      ruleSet: this.ruleSet,
      receiptRule: this.receiptRule,
      ruleSetActivation: this.ruleSetActivation,
    } = createReceiptRule(this, settings, {
      mailBucket: this.mailBucket,
      sesWriteAccess: storage.sesWriteAccess,
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

  /** Whether this bouncer creates its rule set (false: it adds its rule to an existing one). */
  private readonly createsRuleSet: boolean;

  /**
   * Refuses names another bouncer of the app already uses (a second rule set
   * of the same name, or a second rule of the same name in one set: SES
   * would refuse the deploy) and warns when two bouncers would not share the
   * SendBounce rate gate. Runs in the constructor, so the message names this
   * bouncer's props.
   */
  private checkAgainstOtherBouncers(): void {
    const others = this.node.root.node.findAll().filter((c): c is SesBouncer => c instanceof SesBouncer && c !== this && c.ruleName !== undefined);
    const literal = (value: string) => !Token.isUnresolved(value);
    for (const other of others) {
      const sameSet = literal(this.ruleSetName) && this.ruleSetName === other.ruleSetName;
      if (sameSet && this.createsRuleSet && other.createsRuleSet) {
        throw new PropError('ruleSetName', 'ruleSetName', `"${this.ruleSetName}" is already the rule set of the bouncer ${other.node.path}; give each bouncer its own ruleSetName or add this one to that set with existingRuleSet`);
      }
      if (sameSet && literal(this.ruleName) && this.ruleName === other.ruleName) {
        throw new PropError('ruleName', 'ruleName', `"${this.ruleName}" is already the rule of the bouncer ${other.node.path} in the rule set "${this.ruleSetName}"; give each bouncer its own ruleName`);
      }
    }
    // Props not yet resolved into the other bouncers' tables: compare after construction.
    this.node.addValidation({
      validate: () => {
        const unshared = others.filter((o) => Stack.of(o).account === Stack.of(this).account && Stack.of(o).region === Stack.of(this).region && (o.stateTable !== this.stateTable || o.rateGateKey !== this.rateGateKey));
        for (const other of unshared) {
          Annotations.of(this).addWarningV2(
            'ses-bouncer:unsharedRateGate',
            `this bouncer and ${other.node.path} keep separate SendBounce rate gates, so together they may exceed SES's 1 call/s per account and Region; pass existingStateTable: <other>.stateTable (and the same rateGateKey)`,
          );
        }
        return [];
      },
    });
  }

  /** A bouncer metric as the functions emit it (EMF, dimension `service`). */
  public metric(name: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return bouncerMetric(name, options);
  }
}
