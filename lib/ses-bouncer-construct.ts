import * as path from 'node:path';
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ConfigError } from '../lambda/commons/errors';
import { METRICS_NAMESPACE, MetricName } from '../lambda/commons/metrics';
import type { ConfigEnv } from '../lambda/config/config';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY, STATE_TTL_ATTRIBUTE } from '../lambda/config/tables';
import type { SenderAuthPolicy } from '../lambda/domain/model';
import {
  ADDRESS,
  HOST_NAME,
  IDENTITY_ARN,
  RATE_GATE_KEY,
  RECIPIENT,
  SES_NAME,
  checkInt,
  checkOneOf,
  checkPattern,
} from './validation';

/** How SES invokes the receiving function. */
export type InvocationType = 'Event' | 'RequestResponse';

/** Service name of the functions' logs and the `service` dimension of their EMF metrics. */
export const SERVICE_NAME = 'ses-bouncer';

/** Sender-auth policies the functions accept (`SENDER_AUTH_POLICY`). */
export const SENDER_AUTH_POLICIES: readonly SenderAuthPolicy[] = ['spf-pass', 'spf-or-dmarc-pass', 'none'];

/**
 * esbuild options of both functions' bundles. Exported so that the
 * benchmarks (bench/) build byte-for-byte the bundles the stack deploys;
 * {@link functionBundling} adds what differs per function.
 */
export const FUNCTION_BUNDLING: Readonly<nodejs.BundlingOptions> = Object.freeze({
  // esbuild is a dev dependency: bundle locally, never in Docker.
  forceDockerBundling: false,
  minify: true,
  sourceMap: true,
  target: 'node22',
  // Bundle the AWS SDK instead of using the runtime's copy: the versions
  // pinned in package-lock.json are the ones the tests ran against.
  externalModules: [],
});

/** The two functions of the stack. */
export type FunctionName = 'receive' | 'send';

/**
 * Packages a function reaches only through a dynamic `import()`, for the few
 * messages that need them (mailparser: attachment rules). They are left out of
 * the function's bundle and shipped pre-bundled beside it in
 * `node_modules/<name>/index.js`, where `require` finds them: V8 then never
 * parses their code at a cold start (in the single bundle it did, ~1 MB, even
 * though it was not evaluated).
 */
export const LAZY_PACKAGES: Readonly<Record<FunctionName, readonly string[]>> = Object.freeze({
  receive: Object.freeze(['mailparser']),
  send: Object.freeze([]),
});

/** Where the project's dev dependencies (esbuild, the lazy packages) are at synth time. */
const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * Shell commands (run by CDK's local bundling with `bash -c`, after the main
 * bundle is written) that pre-bundle each lazy package with the project's own
 * esbuild into `<outputDir>/node_modules/<name>/index.js`. Nothing is
 * downloaded: the package's installed copy is the entry.
 */
export function lazyPackageCommands(outputDir: string, packages: readonly string[], target = FUNCTION_BUNDLING.target ?? 'node22'): string[] {
  const esbuild = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild');
  return packages.map((pkg) => {
    const entry = require.resolve(pkg, { paths: [PROJECT_ROOT] });
    const outfile = path.join(outputDir, 'node_modules', pkg, 'index.js');
    return `"${esbuild}" "${entry}" --bundle --platform=node --format=cjs --target=${target} --minify --log-level=warning --outfile="${outfile}"`;
  });
}

/**
 * Bundling options of one function: {@link FUNCTION_BUNDLING}, plus, when the
 * function has {@link LAZY_PACKAGES}, those packages external and shipped
 * pre-bundled beside the bundle. `import()` is compiled to `require()` so
 * that the lazy package loads through the CommonJS loader, which sees the
 * pre-bundle's `module.exports` whatever its shape (Node's ESM loader would
 * only see the names its lexer can find). The stack and the benchmarks both
 * build from this, so they cannot drift.
 */
export function functionBundling(fn: FunctionName): nodejs.BundlingOptions {
  const lazy = LAZY_PACKAGES[fn];
  const base: nodejs.BundlingOptions = { ...FUNCTION_BUNDLING, externalModules: [...(FUNCTION_BUNDLING.externalModules ?? [])] };
  if (lazy.length === 0) return base;
  return {
    ...base,
    externalModules: [...(base.externalModules ?? []), ...lazy],
    esbuildArgs: { '--supported:dynamic-import': 'false' },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) => lazyPackageCommands(outputDir, lazy, base.target),
    },
  };
}

/** Properties of {@link SesBouncer}. */
export interface SesBouncerProps {
  /**
   * Receipt-rule recipient conditions: addresses (`info@example.com`), domains
   * (`example.com`) or subdomain wildcards (`.example.com`). Mail to these goes
   * through the bouncer.
   */
  readonly recipients: readonly string[];

  /** Verified SES identity that sends the bounces, e.g. `mailer-daemon@example.com`. */
  readonly bounceSender: string;

  /**
   * Identity ARN for sending authorization, when the bounce sender's identity
   * belongs to another account.
   * @default - none; the bounce sender's own identities in this account
   */
  readonly bounceSenderArn?: string;

  /**
   * Host name reported as `Reporting-MTA: dns; <name>` in the DSN.
   * @default - the bounce sender's domain
   */
  readonly reportingMta?: string;

  /**
   * Name of the receipt rule set. A new set is created with this name unless
   * `useExistingRuleSet` is true.
   * @default - `<stack name>-rule-set`
   */
  readonly ruleSetName?: string;

  /**
   * Add the rule to the existing set named `ruleSetName` instead of creating one.
   * @default false
   */
  readonly useExistingRuleSet?: boolean;

  /**
   * Name of the receipt rule; it is part of the rule's ARN, which scopes the
   * bucket policy and the invoke permission.
   * @default - `<stack name>-bouncer`
   */
  readonly ruleName?: string;

  /**
   * Make the rule set the account's active one (per Region) on deploy, through a
   * custom resource calling SES `SetActiveReceiptRuleSet`. Deleting the stack
   * deactivates nothing: switching the account's receiving off is left to a human.
   * @default false
   */
  readonly activateRuleSet?: boolean;

  /**
   * Require TLS from sending servers for mail this rule matches.
   * @default ses.TlsPolicy.OPTIONAL
   */
  readonly tlsPolicy?: ses.TlsPolicy;

  /**
   * Key prefix of the stored raw messages; must end with `/`.
   * @default 'mail/'
   */
  readonly mailPrefix?: string;

  /**
   * Days raw messages stay in the bucket and audit items stay in the state table.
   * @default 30
   */
  readonly retentionDays?: number;

  /**
   * How SES invokes the receiving function. `RequestResponse` makes SES wait
   * (30 s at most) and retry on failure itself; `Event` is asynchronous and
   * failed invocations land in the dead-letter queue after two retries.
   * @default 'Event'
   */
  readonly invocationType?: InvocationType;

  /**
   * Address subscribed to the alarm topic (the recipient must confirm).
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Key of the SendBounce rate gate; stacks sharing one SES account and Region
   * must share one key so that together they stay at one call per second.
   * @default 'ses-sendbounce'
   */
  readonly rateGateKey?: string;

  /**
   * Sender authentication required before a bounce is sent.
   * @default 'spf-pass'
   */
  readonly senderAuthPolicy?: SenderAuthPolicy;

  /**
   * Bounces per envelope-sender address per window.
   * @default 5
   */
  readonly senderBudgetPerAddress?: number;

  /**
   * Bounces per envelope-sender domain per window.
   * @default 50
   */
  readonly senderBudgetPerDomain?: number;

  /**
   * Seconds the functions cache the compiled rules.
   * @default 60
   */
  readonly rulesCacheSeconds?: number;

  /**
   * Log addresses in clear instead of masked.
   * @default false
   */
  readonly logAddresses?: boolean;

  /**
   * Reserved concurrency of the sending function; `null` reserves none
   * (accounts whose concurrency quota is 10 cannot reserve any). The event
   * source caps concurrency at 2 either way.
   * @default 2
   */
  readonly sendReservedConcurrency?: number | null;

  /**
   * Memory of the receiving function, which may stream large attachments.
   * @default 1024
   */
  readonly receiveMemorySize?: number;

  /**
   * Removal policy of the rules table.
   * @default RemovalPolicy.RETAIN
   */
  readonly rulesTableRemovalPolicy?: RemovalPolicy;

  /**
   * Removal policy of the state table (claims, budgets, audit) and the mail bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;

  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Timeouts: SES waits 30 s for a RequestResponse answer. The sender starts a
 * job only while `sendReserveMs` (75 s with the default 20 s slot wait) of its
 * invocation remains, so its timeout must be well above that.
 */
const RECEIVE_TIMEOUT = Duration.seconds(25);
const SEND_TIMEOUT = Duration.seconds(120);
/** The event source of the sending function never runs more than this many at once. */
const SEND_MAX_CONCURRENCY = 2;
const HANDLERS = path.join(__dirname, '..', 'lambda', 'handlers');

/**
 * The bouncer: an SES receipt rule storing mail in S3 and invoking the
 * receiving function, DynamoDB rules and state tables, the bounce-job queue and
 * the rate-limited sending function, with alarms and a dashboard.
 *
 * The receipt rule gets an explicit name, so its ARN is known up front and
 * scopes both the bucket policy and the invoke permission without a cycle.
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
  public readonly receiveFunction: nodejs.NodejsFunction;
  public readonly sendFunction: nodejs.NodejsFunction;
  /** The created rule set, or the imported one when `useExistingRuleSet`. */
  public readonly ruleSet: ses.IReceiptRuleSet;
  public readonly ruleSetName: string;
  public readonly receiptRule: ses.ReceiptRule;
  public readonly ruleName: string;
  /** `arn:<partition>:ses:<region>:<account>:receipt-rule-set/<set>:receipt-rule/<rule>` */
  public readonly receiptRuleArn: string;
  /** Present only when `activateRuleSet`. */
  public readonly ruleSetActivation?: cr.AwsCustomResource;
  public readonly alarmTopic: sns.Topic;
  /** Encrypts the alarm topic; CloudWatch may use it to publish. */
  public readonly alarmTopicKey: kms.Key;
  public readonly alarms: readonly cloudwatch.Alarm[];
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

    // ---- storage ----------------------------------------------------------
    this.mailBucket = new s3.Bucket(this, 'MailBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Versioning stays off: SES writes each message id once and the lifecycle
      // expiry must really delete the mail (it holds personal data).
      versioned: false,
      removalPolicy: settings.dataRemovalPolicy,
      lifecycleRules: [
        { id: 'expire-mail', prefix: this.mailPrefix, expiration: Duration.days(settings.retentionDays) },
        { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    // SES may write only under the prefix, only for this account and this rule.
    this.mailBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesPutMail',
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.mailBucket.arnForObjects(`${this.mailPrefix}*`)],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': this.receiptRuleArn },
        },
      }),
    );
    Validations.of(this.mailBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'only SES writes (under the mail prefix, scoped by the bucket policy) and only the receive function reads; ' +
        'objects expire after the retention period. Enable CloudTrail S3 data events if object access must be audited.',
    });

    const tableDefaults = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
    };
    this.rulesTable = new dynamodb.Table(this, 'RulesTable', {
      ...tableDefaults,
      partitionKey: { name: RULES_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      removalPolicy: settings.rulesTableRemovalPolicy,
    });
    this.stateTable = new dynamodb.Table(this, 'StateTable', {
      ...tableDefaults,
      partitionKey: { name: STATE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: STATE_TTL_ATTRIBUTE,
      removalPolicy: settings.dataRemovalPolicy,
    });

    // ---- queues -----------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.bounceQueue = new sqs.Queue(this, 'BounceQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS advises at least six times the consumer's timeout for SQS event sources.
      visibilityTimeout: Duration.seconds(SEND_TIMEOUT.toSeconds() * 6),
      // SendBounce refuses mail older than 24 h: older jobs are useless.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    // ---- functions --------------------------------------------------------
    const environment: Record<string, string> = {
      ...this.functionEnvironment(settings),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
    this.receiveFunction = this.nodeFunction('Receive', {
      entry: path.join(HANDLERS, 'receive.ts'),
      bundling: functionBundling('receive'),
      description: 'ses-bouncer: evaluates bounce rules for mail received by SES and queues bounce jobs',
      timeout: RECEIVE_TIMEOUT,
      memorySize: settings.receiveMemorySize,
      environment,
      logRetention: settings.logRetention,
      // Async invocations (invocationType Event) retry twice, then land in the DLQ
      // with the request and the error (a destination record carries both).
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.sendFunction = this.nodeFunction('Send', {
      entry: path.join(HANDLERS, 'send.ts'),
      bundling: functionBundling('send'),
      description: 'ses-bouncer: sends queued bounces through SES SendBounce, one per second',
      timeout: SEND_TIMEOUT,
      memorySize: 256,
      environment,
      logRetention: settings.logRetention,
      reservedConcurrentExecutions: settings.sendReservedConcurrency,
    });
    this.sendFunction.addEventSource(
      new eventSources.SqsEventSource(this.bounceQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: SEND_MAX_CONCURRENCY,
      }),
    );

    this.grantReceive(this.receiveFunction.role as iam.Role);
    this.grantSend(this.sendFunction.role as iam.Role, settings);

    // ---- receipt rule -----------------------------------------------------
    if (settings.useExistingRuleSet) {
      this.ruleSet = ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', this.ruleSetName);
    } else {
      this.ruleSet = new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: this.ruleSetName });
    }
    // CDK's Lambda action would add a permission scoped by account only: this
    // one adds the rule's ARN, so no other rule (or account's rule) can invoke.
    const invokePermission = new lambda.CfnPermission(this, 'AllowSesInvoke', {
      action: 'lambda:InvokeFunction',
      functionName: this.receiveFunction.functionArn,
      principal: 'ses.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: this.receiptRuleArn,
    });
    this.receiptRule = new ses.ReceiptRule(this, 'ReceiptRule', {
      ruleSet: this.ruleSet,
      receiptRuleName: this.ruleName,
      recipients: [...settings.recipients],
      // The guard needs SES's spam and virus verdicts; they are DISABLED without scanning.
      scanEnabled: true,
      tlsPolicy: settings.tlsPolicy,
      enabled: true,
      // Order matters: SES runs actions in order, so the message is stored before the function reads it.
      actions: [
        {
          bind: () => ({
            s3Action: { bucketName: this.mailBucket.bucketName, objectKeyPrefix: this.mailPrefix },
          }),
        },
        {
          bind: () => ({
            lambdaAction: { functionArn: this.receiveFunction.functionArn, invocationType: settings.invocationType },
          }),
        },
      ],
    });
    // SES checks both permissions when the rule is created.
    this.receiptRule.node.addDependency(invokePermission, this.mailBucket.policy!);

    if (settings.activateRuleSet) {
      this.ruleSetActivation = this.activate();
    }

    // ---- observability ----------------------------------------------------
    // A customer-managed key, not alias/aws/sns: the AWS-managed key's policy
    // cannot be changed to let CloudWatch alarms publish, so alarms would fail silently.
    this.alarmTopicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'ses-bouncer alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.alarmTopicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'ses-bouncer alarms',
      masterKey: this.alarmTopicKey,
      enforceSSL: true,
    });
    if (settings.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }
    this.alarms = this.createAlarms();
    this.dashboard = this.createDashboard();
  }

  /** The settings the functions read (names from lambda/config/config.ts). */
  private functionEnvironment(s: ResolvedProps): Record<string, string> {
    const env: Required<Pick<ConfigEnv, EnvName>> & Pick<ConfigEnv, 'BOUNCE_SENDER_ARN'> = {
      BOUNCE_SENDER: s.bounceSender,
      REPORTING_MTA: s.reportingMta,
      RULES_TABLE: this.rulesTable.tableName,
      STATE_TABLE: this.stateTable.tableName,
      BOUNCE_QUEUE_URL: this.bounceQueue.queueUrl,
      MAIL_BUCKET: this.mailBucket.bucketName,
      MAIL_PREFIX: this.mailPrefix,
      RULES_CACHE_SECONDS: String(s.rulesCacheSeconds),
      SENDER_AUTH_POLICY: s.senderAuthPolicy,
      SENDER_BUDGET_PER_ADDRESS: String(s.senderBudgetPerAddress),
      SENDER_BUDGET_PER_DOMAIN: String(s.senderBudgetPerDomain),
      AUDIT_TTL_DAYS: String(s.retentionDays),
      RATE_GATE_KEY: s.rateGateKey,
      LOG_ADDRESSES: String(s.logAddresses),
    };
    if (s.bounceSenderArn) env.BOUNCE_SENDER_ARN = s.bounceSenderArn;
    return env;
  }

  private nodeFunction(
    id: string,
    options: Omit<nodejs.NodejsFunctionProps, 'role' | 'logGroup' | 'logRetention'> & {
      readonly logRetention: logs.RetentionDays;
    },
  ): nodejs.NodejsFunction {
    const { logRetention, ...functionProps } = options;
    const logGroup = new logs.LogGroup(this, `${id}LogGroup`, {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of the AWSLambdaBasicExecutionRole managed policy: logs
    // may go to this function's log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `ses-bouncer ${id.toLowerCase()} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, `${id}Function`, {
      ...functionProps,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup,
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'pinned to nodejs22.x, the Node.js LTS the bundle targets; moved deliberately, not by the CDK default',
    });
    return fn;
  }

  /**
   * Statements go to each role's default policy, which CDK makes the function
   * (and its event source) depend on: nothing runs before its permissions exist.
   */
  private grantReceive(role: iam.Role): void {
    for (const statement of [
      new iam.PolicyStatement({
        sid: 'ReadRules',
        actions: ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:GetItem'],
        resources: [this.rulesTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'ClaimAndBudget',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [this.stateTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadMail',
        actions: ['s3:GetObject'],
        resources: [this.mailBucket.arnForObjects(`${this.mailPrefix}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'QueueJobs',
        actions: ['sqs:SendMessage'],
        resources: [this.bounceQueue.queueArn],
      }),
    ]) {
      role.addToPrincipalPolicy(statement);
    }
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.logicalId(this.mailBucket)}.Arn>/${this.mailPrefix}*]`,
      reason: `s3:GetObject is limited to the raw messages under "${this.mailPrefix}"; their keys are SES message ids`,
    });
  }

  private grantSend(role: iam.Role, s: ResolvedProps): void {
    for (const statement of [
      new iam.PolicyStatement({
        sid: 'LedgerAndRateGate',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [this.stateTable.tableArn],
      }),
      // A job whose rate slot is far away goes back to the queue with a delay.
      new iam.PolicyStatement({
        sid: 'RequeueJobs',
        actions: ['sqs:SendMessage'],
        resources: [this.bounceQueue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'SendBounce',
        actions: ['ses:SendBounce'],
        resources: bounceIdentityArns(s),
      }),
    ]) {
      role.addToPrincipalPolicy(statement);
    }
  }

  /**
   * Activates the rule set on create and update. Nothing happens on delete:
   * deactivating would stop all receiving in the account and Region, and SES
   * refuses to delete the active set, so removing the stack first needs a human
   * to activate another set (or none).
   */
  private activate(): cr.AwsCustomResource {
    const call: cr.AwsSdkCall = {
      service: 'SES',
      action: 'setActiveReceiptRuleSet',
      parameters: { RuleSetName: this.ruleSetName },
      physicalResourceId: cr.PhysicalResourceId.of(`active-receipt-rule-set-${this.ruleSetName}`),
    };
    const activation = new cr.AwsCustomResource(this, 'ActivateRuleSet', {
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
    activation.node.addDependency(this.receiptRule);
    Validations.of(activation).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ses:SetActiveReceiptRuleSet supports no resource-level permissions',
    });
    // The provider function is a stack-wide singleton created by AwsCustomResource.
    const provider = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
    if (provider) {
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "the CDK AwsCustomResource provider's role; the managed policy only lets it write its own logs",
      });
    }
    return activation;
  }

  private createAlarms(): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const action = new cwActions.SnsAction(this.alarmTopic);
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      return a;
    };
    return [
      alarm('ReceiveErrorsAlarm', 'the receive function failed', this.receiveFunction.metricErrors({ period }), 0),
      alarm('SendErrorsAlarm', 'the send function failed', this.sendFunction.metricErrors({ period }), 0),
      alarm(
        'DeadLetterAlarm',
        'bounce jobs or receive invocations are in the dead-letter queue',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        0,
      ),
      alarm(
        'QueueAgeAlarm',
        'bounce jobs wait over an hour; SendBounce refuses mail older than 24 h',
        this.bounceQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        3600,
      ),
      alarm('BouncesExpiredAlarm', 'bounces were dropped because the mail was over 24 h old', this.metric(MetricName.BouncesExpired), 0),
      alarm(
        'InvalidRulesAlarm',
        'rule items failed validation: until fixed, no recipient they could cover is bounced (unreadable recipients hold every bounce); see the log line "invalid rule skipped"',
        this.metric(MetricName.InvalidRules),
        0,
      ),
      alarm('BouncesUnknownAlarm', 'a sender died during SendBounce; the bounce may or may not have gone out', this.metric(MetricName.BouncesUnknown), 0),
      alarm('MailReadFailedAlarm', 'stored mail that rules needed could not be read from S3', this.metric(MetricName.MailReadFailed), 0),
    ];
  }

  /** A bouncer metric as the functions emit it (EMF, dimension `service`). */
  public metric(name: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...options,
    });
  }

  private createDashboard(): cloudwatch.Dashboard {
    const sum = (name: string) => this.metric(name, { label: name });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Mail and bounces',
        width: 12,
        left: [
          sum(MetricName.MessagesReceived),
          sum(MetricName.RecipientsBounced),
          sum(MetricName.BouncesQueued),
          sum(MetricName.BouncesSent),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Bounces skipped by reason',
        width: 12,
        // One line per GuardReason value the functions emitted, without listing them here.
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},reason,service} MetricName="${MetricName.BouncesSkipped}" service="${SERVICE_NAME}"', 'Sum', 300)`,
            label: '',
            period: Duration.minutes(5),
          }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Failures',
        width: 12,
        left: [
          sum(MetricName.BouncesFailed),
          sum(MetricName.BouncesExpired),
          sum(MetricName.BouncesUnknown),
          sum(MetricName.SesThrottled),
          sum(MetricName.InvalidRules),
          sum(MetricName.MailReadFailed),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Receipt to SendBounce (ms)',
        width: 12,
        left: ['p50', 'p99', 'Maximum'].map((statistic) =>
          this.metric(MetricName.QueueAgeAtSendMs, { statistic, label: `${MetricName.QueueAgeAtSendMs} ${statistic}` }),
        ),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Functions',
        width: 12,
        left: [this.receiveFunction.metricErrors(), this.sendFunction.metricErrors()],
        right: [this.receiveFunction.metricDuration({ statistic: 'p99' }), this.sendFunction.metricDuration({ statistic: 'p99' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Queues',
        width: 12,
        left: [
          this.bounceQueue.metricApproximateNumberOfMessagesVisible(),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        ],
        right: [this.bounceQueue.metricApproximateAgeOfOldestMessage()],
      }),
    );
    return dashboard;
  }

  private logicalId(construct: Construct): string {
    return Stack.of(this).getLogicalId(construct.node.defaultChild as import('aws-cdk-lib').CfnElement);
  }
}

/** Construct id of the singleton provider function that every AwsCustomResource in a stack shares. */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

type EnvName =
  | 'BOUNCE_SENDER'
  | 'REPORTING_MTA'
  | 'RULES_TABLE'
  | 'STATE_TABLE'
  | 'BOUNCE_QUEUE_URL'
  | 'MAIL_BUCKET'
  | 'MAIL_PREFIX'
  | 'RULES_CACHE_SECONDS'
  | 'SENDER_AUTH_POLICY'
  | 'SENDER_BUDGET_PER_ADDRESS'
  | 'SENDER_BUDGET_PER_DOMAIN'
  | 'AUDIT_TTL_DAYS'
  | 'RATE_GATE_KEY'
  | 'LOG_ADDRESSES';

/** Props with defaults applied. */
interface ResolvedProps {
  readonly recipients: readonly string[];
  readonly bounceSender: string;
  readonly bounceSenderArn?: string;
  readonly reportingMta: string;
  readonly ruleSetName: string;
  readonly useExistingRuleSet: boolean;
  readonly ruleName: string;
  readonly activateRuleSet: boolean;
  readonly tlsPolicy: ses.TlsPolicy;
  readonly mailPrefix: string;
  readonly retentionDays: number;
  readonly invocationType: InvocationType;
  readonly alarmEmail?: string;
  readonly rateGateKey: string;
  readonly senderAuthPolicy: SenderAuthPolicy;
  readonly senderBudgetPerAddress: number;
  readonly senderBudgetPerDomain: number;
  readonly rulesCacheSeconds: number;
  readonly logAddresses: boolean;
  readonly sendReservedConcurrency?: number;
  readonly receiveMemorySize: number;
  readonly rulesTableRemovalPolicy: RemovalPolicy;
  readonly dataRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
}

/** SES names have fewer than 64 characters; stack names may be longer. */
function defaultName(stackName: string, suffix: string): string {
  const base = stackName.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 62 - suffix.length).replace(/[._-]+$/, '');
  return `${base}-${suffix}`;
}

/** Validates the props (first thing the constructor does) and applies the defaults. */
function resolveProps(props: SesBouncerProps, stackName: string): ResolvedProps {
  if (!Array.isArray(props.recipients) || props.recipients.length === 0) {
    throw new ConfigError(`recipients must list at least one address or domain (got ${JSON.stringify(props.recipients)})`);
  }
  if (props.recipients.length > 100) {
    throw new ConfigError(`recipients may list at most 100 entries, the SES limit per rule (got ${props.recipients.length})`);
  }
  for (const recipient of props.recipients) {
    checkPattern('recipients entry', recipient, RECIPIENT, 'an address, a domain or a .domain');
  }
  checkPattern('bounceSender', props.bounceSender, ADDRESS, 'an address like mailer-daemon@example.com');
  if (props.bounceSenderArn !== undefined) {
    checkPattern('bounceSenderArn', props.bounceSenderArn, IDENTITY_ARN, 'an SES identity ARN');
  }
  const reportingMta = props.reportingMta ?? props.bounceSender.slice(props.bounceSender.lastIndexOf('@') + 1);
  checkPattern('reportingMta', reportingMta, HOST_NAME, 'a host name like mx.example.com');
  if (props.useExistingRuleSet && props.ruleSetName === undefined) {
    throw new ConfigError('useExistingRuleSet needs ruleSetName, the name of the existing rule set (got undefined)');
  }
  const ruleSetName = props.ruleSetName ?? defaultName(stackName, 'rule-set');
  checkPattern('ruleSetName', ruleSetName, SES_NAME, 'at most 63 letters, digits, ".", "_" or "-", starting and ending alphanumeric');
  const ruleName = props.ruleName ?? defaultName(stackName, 'bouncer');
  checkPattern('ruleName', ruleName, SES_NAME, 'at most 63 letters, digits, ".", "_" or "-", starting and ending alphanumeric');
  const mailPrefix = props.mailPrefix ?? 'mail/';
  checkPattern('mailPrefix', mailPrefix, /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/, 'a key prefix ending with "/", like mail/');
  const retentionDays = props.retentionDays ?? 30;
  checkInt('retentionDays', retentionDays, 1, 3650);
  const invocationType = props.invocationType ?? 'Event';
  checkOneOf('invocationType', invocationType, ['Event', 'RequestResponse'] as const);
  if (props.alarmEmail !== undefined) {
    checkPattern('alarmEmail', props.alarmEmail, ADDRESS, 'an address like ops@example.com');
  }
  const rateGateKey = props.rateGateKey ?? 'ses-sendbounce';
  checkPattern('rateGateKey', rateGateKey, RATE_GATE_KEY, '1-100 letters, digits or . _ : -');
  const senderAuthPolicy = props.senderAuthPolicy ?? 'spf-pass';
  checkOneOf('senderAuthPolicy', senderAuthPolicy, SENDER_AUTH_POLICIES);
  const senderBudgetPerAddress = props.senderBudgetPerAddress ?? 5;
  checkInt('senderBudgetPerAddress', senderBudgetPerAddress, 0, 1_000_000);
  const senderBudgetPerDomain = props.senderBudgetPerDomain ?? 50;
  checkInt('senderBudgetPerDomain', senderBudgetPerDomain, 0, 1_000_000);
  const rulesCacheSeconds = props.rulesCacheSeconds ?? 60;
  checkInt('rulesCacheSeconds', rulesCacheSeconds, 0, 86400);
  const sendReservedConcurrency = props.sendReservedConcurrency === null ? undefined : (props.sendReservedConcurrency ?? 2);
  if (sendReservedConcurrency !== undefined) checkInt('sendReservedConcurrency', sendReservedConcurrency, 1, 10);
  const receiveMemorySize = props.receiveMemorySize ?? 1024;
  checkInt('receiveMemorySize', receiveMemorySize, 128, 10240);
  return {
    recipients: props.recipients,
    bounceSender: props.bounceSender,
    bounceSenderArn: props.bounceSenderArn,
    reportingMta,
    ruleSetName,
    useExistingRuleSet: props.useExistingRuleSet ?? false,
    ruleName,
    activateRuleSet: props.activateRuleSet ?? false,
    tlsPolicy: props.tlsPolicy ?? ses.TlsPolicy.OPTIONAL,
    mailPrefix,
    retentionDays,
    invocationType,
    alarmEmail: props.alarmEmail,
    rateGateKey,
    senderAuthPolicy,
    senderBudgetPerAddress,
    senderBudgetPerDomain,
    rulesCacheSeconds,
    logAddresses: props.logAddresses ?? false,
    sendReservedConcurrency,
    receiveMemorySize,
    rulesTableRemovalPolicy: props.rulesTableRemovalPolicy ?? RemovalPolicy.RETAIN,
    dataRemovalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
  };
}

/**
 * The identities `ses:SendBounce` may use. SES authorizes the call against the
 * identity that covers the bounce sender: the address identity when it is
 * verified on its own, else its domain identity. Both are allowed, and nothing
 * else. With sending authorization the identity is the given ARN (another
 * account's), and only that one.
 */
function bounceIdentityArns(s: ResolvedProps): string[] {
  if (s.bounceSenderArn) return [s.bounceSenderArn];
  const domain = s.bounceSender.slice(s.bounceSender.lastIndexOf('@') + 1);
  const identity = (name: string) => `arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${name}`;
  return [identity(s.bounceSender), identity(domain)];
}
