/**
 * The bouncer's functions: "receive" (SES invokes it), "send" (fed by the
 * bounce queue), "sweep" (scheduled) and "compile" (fed by the rules table's
 * stream, issue 13), each with its own role, log group and least-privilege
 * statements.
 */
import { Aws, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/commons/metric-names';
import { STATE_KEY_PREFIX, STATE_OPEN_INDEX } from '../../lambda/config/tables';
import { functionCode } from '../assets';
import { DEFAULT_RULES_SNAPSHOT_PREFIX } from '../../lambda/domain/rules/pointer';
import type { ResolvedProps } from '../props';
import type { Storage } from './storage';

/** Service name of the functions' logs, traces and the `service` dimension of their EMF metrics. */
export { SERVICE_NAME };

/**
 * Timeouts: SES waits 30 s for a RequestResponse answer. The sender starts a
 * job only while `sendReserveMs()` (73 s by default) of its invocation
 * remains and ends it before the invocation's end less 5 s; a timeout well
 * above the reserve leaves room for a full slot wait.
 */
export const RECEIVE_TIMEOUT = Duration.seconds(25);
export const SEND_TIMEOUT = Duration.seconds(120);
export const SWEEP_TIMEOUT = Duration.seconds(60);
/** How often the sweep looks for stuck claims (issue 12, defect 3). */
export const SWEEP_SCHEDULE = Duration.minutes(10);
/** The event source of the sending function never runs more than this many at once. */
const SEND_MAX_CONCURRENCY = 2;
/**
 * The compile step scans the whole table, validates, encodes and gzips it:
 * seconds at 100k rules. The timeout leaves room for tables ten times that;
 * a running compile holds its stream shard, so it is not longer than that.
 */
export const COMPILE_TIMEOUT = Duration.minutes(5);
/**
 * The compile function's stream event source. One invocation is one compile
 * whatever the number of records (the compile re-reads the table), so the
 * mapping gathers as many records as it may: 10,000, the most DynamoDB
 * Streams allows (KEYS_ONLY records are a few hundred bytes, well under the
 * 6 MB payload), or what arrived within the window. A 100k-rule import
 * (`rules import` writes a few thousand items a second) then compiles about
 * ten times, a slow writer at most four times a minute; one edit waits at
 * most the window before its compile starts.
 */
export const COMPILE_BATCH_SIZE = 10_000;
export const COMPILE_BATCHING_WINDOW = Duration.seconds(15);
/**
 * A failed compile is retried this often, then the batch's description goes
 * to the compile DLQ (alarmed) and the shard moves on; the failed compile
 * marked the pointer stale, so receive scans the table until the next
 * compile succeeds (the next edit, or the schedule). Bisecting
 * would only repeat the same whole-table compile on halves of the batch.
 */
export const COMPILE_RETRY_ATTEMPTS = 3;
/**
 * The compile step also runs on a schedule, with an empty stream event: the
 * first snapshot of a table nobody edits after the deploy, a new snapshot
 * after a compile that failed for good, and the current object never older
 * than the snapshot bucket's expiry. One Scan of the table per run, for the
 * whole deployment (not per warm instance).
 */
export const RECOMPILE_SCHEDULE = Duration.hours(6);
/** What {@link createFunctions} creates. */
/** What {@link createFunctions} creates. */
export interface Functions {
  readonly receiveFunction: lambda.Function;
  readonly sendFunction: lambda.Function;
  /** Re-enqueues stale PENDING claims, expires old ones, marks dead SENDING items UNKNOWN; runs on a schedule. */
  readonly sweepFunction: lambda.Function;
  /** Compiles the rules table into a snapshot and publishes its pointer; fed by the table's stream. */
  readonly compileFunction: lambda.Function;
}

/** Creates both functions in `scope`, wired to the storage and granted what each needs. */
export function createFunctions(scope: Construct, s: ResolvedProps, storage: Storage): Functions {
  const environment: Record<string, string> = {
    ...functionEnvironment(s, storage),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  // Off: no TracingConfig at all (Lambda's default, PassThrough), and the functions never load the Tracer.
  const tracing = s.tracing ? lambda.Tracing.ACTIVE : undefined;
  const receiveFunction = nodeFunction(scope, 'Receive', {
    code: functionCode('receive'),
    tracing,
    description: 'ses-bouncer: evaluates bounce rules for mail received by SES and queues bounce jobs',
    timeout: RECEIVE_TIMEOUT,
    memorySize: s.receiveMemorySize,
    environment: { ...environment, ...snapshotEnvironment(storage) },
    logRetention: s.logRetention,
    logRemovalPolicy: s.logRemovalPolicy,
    // Async invocations (invocationType Event) retry twice, then land in the DLQ
    // with the request and the error (a destination record carries both).
    retryAttempts: 2,
    onFailure: new destinations.SqsDestination(storage.deadLetterQueue),
  });
  const sendFunction = nodeFunction(scope, 'Send', {
    code: functionCode('send'),
    tracing,
    description: 'ses-bouncer: sends queued bounces through SES SendBounce, one per second',
    timeout: SEND_TIMEOUT,
    memorySize: 256,
    environment,
    logRetention: s.logRetention,
    logRemovalPolicy: s.logRemovalPolicy,
    reservedConcurrentExecutions: s.sendReservedConcurrency,
  });
  const sweepFunction = nodeFunction(scope, 'Sweep', {
    code: functionCode('sweep'),
    tracing,
    description: 'ses-bouncer: re-enqueues stuck bounce claims, expires old ones, marks dead sends UNKNOWN',
    timeout: SWEEP_TIMEOUT,
    memorySize: 256,
    environment,
    logRetention: s.logRetention,
    logRemovalPolicy: s.logRemovalPolicy,
    // No reserved concurrency (small accounts cannot reserve any): overlapping
    // runs only race on conditional writes, and one of each pair changes nothing.
  });
  new events.Rule(scope, 'SweepSchedule', {
    description: 'ses-bouncer: sweep stuck bounce claims',
    schedule: events.Schedule.rate(SWEEP_SCHEDULE),
    targets: [new targets.LambdaFunction(sweepFunction, { retryAttempts: 0 })],
  });
  const compileFunction = nodeFunction(scope, 'Compile', {
    code: functionCode('compile'),
    tracing,
    description: 'ses-bouncer: compiles the rules table into a snapshot when it changes and publishes its pointer',
    timeout: COMPILE_TIMEOUT,
    memorySize: 1024,
    environment: { ...environment, ...snapshotEnvironment(storage) },
    logRetention: s.logRetention,
    logRemovalPolicy: s.logRemovalPolicy,
    // No reserved concurrency: one compile per stream shard at a time already
    // (parallelization factor 1), and the pointer's conditional write lets the
    // compile whose scan started last win when two overlap.
  });
  // A mapping of its own rather than DynamoEventSource, whose grant allows
  // dynamodb:ListStreams on "*"; grantCompile allows the stream actions on this stream only.
  compileFunction.addEventSourceMapping('RulesStream', {
    eventSourceArn: storage.rulesTable.tableStreamArn!,
    startingPosition: lambda.StartingPosition.LATEST,
    batchSize: COMPILE_BATCH_SIZE,
    maxBatchingWindow: COMPILE_BATCHING_WINDOW,
    retryAttempts: COMPILE_RETRY_ATTEMPTS,
    bisectBatchOnError: false,
    onFailure: new eventSources.SqsDlq(storage.compileDeadLetterQueue),
  });
  new events.Rule(scope, 'RecompileSchedule', {
    description: 'ses-bouncer: compile the rules snapshot again even when the table did not change',
    schedule: events.Schedule.rate(RECOMPILE_SCHEDULE),
    // An empty DynamoDB stream event: the handler compiles once per event, whatever it holds.
    targets: [new targets.LambdaFunction(compileFunction, { retryAttempts: 2, event: events.RuleTargetInput.fromObject({ Records: [] }) })],
  });
  sendFunction.addEventSource(
    new eventSources.SqsEventSource(storage.bounceQueue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: SEND_MAX_CONCURRENCY,
    }),
  );
  grantReceive(scope, receiveFunction.role as iam.Role, s, storage);
  grantCompile(scope, compileFunction.role as iam.Role, storage);
  grantSend(sendFunction.role as iam.Role, s, storage);
  grantSweep(sweepFunction.role as iam.Role, storage);
  grantKeys(receiveFunction.role as iam.Role, sendFunction.role as iam.Role, sweepFunction.role as iam.Role, compileFunction.role as iam.Role, s, storage);
  if (s.tracing) {
    for (const fn of [receiveFunction, sendFunction, sweepFunction, compileFunction]) {
      Validations.of(fn.role!).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords, which CDK grants for active tracing, have no resource-level permissions',
      });
    }
  }
  return { receiveFunction, sendFunction, sweepFunction, compileFunction };
}

/** Where the compiled rules are: receive reads them there, compile writes them there. */
function snapshotEnvironment(storage: Storage): Record<SnapshotEnvName, string> {
  return { RULES_SNAPSHOT_BUCKET: storage.rulesSnapshotBucket.bucketName };
}

/** Settings of the snapshot path (lambda/config); unset, the functions scan the rules table as before. */
type SnapshotEnvName = 'RULES_SNAPSHOT_BUCKET';

/** Settings the functions read; test/lib checks they are exactly lambda/config's names. */
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
  | 'LOG_ADDRESSES'
  | 'TRACING'
  | 'SHADOW_MODE';

/** The settings the functions read (names from lambda/config/config.ts). */
function functionEnvironment(s: ResolvedProps, storage: Storage): Record<string, string> {
  const env: Record<EnvName, string> & { BOUNCE_SENDER_ARN?: string } = {
    BOUNCE_SENDER: s.bounceSender,
    REPORTING_MTA: s.reportingMta,
    RULES_TABLE: storage.rulesTable.tableName,
    STATE_TABLE: storage.stateTable.tableName,
    BOUNCE_QUEUE_URL: storage.bounceQueue.queueUrl,
    MAIL_BUCKET: storage.mailBucket.bucketName,
    MAIL_PREFIX: s.mailPrefix,
    RULES_CACHE_SECONDS: String(s.rulesCacheSeconds),
    SENDER_AUTH_POLICY: s.senderAuthPolicy,
    SENDER_BUDGET_PER_ADDRESS: String(s.senderBudgetPerAddress),
    SENDER_BUDGET_PER_DOMAIN: String(s.senderBudgetPerDomain),
    AUDIT_TTL_DAYS: String(s.retentionDays),
    RATE_GATE_KEY: s.rateGateKey,
    LOG_ADDRESSES: String(s.logAddresses),
    TRACING: String(s.tracing),
    SHADOW_MODE: String(s.shadow),
  };
  if (s.bounceSenderArn) env.BOUNCE_SENDER_ARN = s.bounceSenderArn;
  return env;
}

/**
 * A function running a pre-built asset (`index.js` exporting `handler`), with
 * its own log group and a role that may write only to it.
 */
function nodeFunction(
  scope: Construct,
  id: string,
  options: Omit<lambda.FunctionProps, 'role' | 'logGroup' | 'logRetention' | 'runtime' | 'handler' | 'architecture'> & {
    readonly logRetention: logs.RetentionDays;
    readonly logRemovalPolicy: RemovalPolicy;
  },
): lambda.Function {
  const { logRetention, logRemovalPolicy, ...functionProps } = options;
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: logRetention,
    removalPolicy: logRemovalPolicy,
  });
  // Own role instead of the AWSLambdaBasicExecutionRole managed policy: logs
  // may go to this function's log group only.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `ses-bouncer ${id.toLowerCase()} function`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new lambda.Function(scope, `${id}Function`, {
    ...functionProps,
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    role,
    logGroup,
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'pinned to nodejs22.x, the Node.js LTS the pre-built bundles target (scripts/build-functions.ts); moved deliberately, not by the CDK default',
  });
  return fn;
}

/**
 * Statements go to each role's default policy, which CDK makes the function
 * (and its event source) depend on: nothing runs before its permissions exist.
 */
function grantReceive(scope: Construct, role: iam.Role, s: ResolvedProps, storage: Storage): void {
  for (const statement of [
    new iam.PolicyStatement({
      sid: 'ReadRules',
      actions: ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:GetItem'],
      resources: [storage.rulesTable.tableArn],
    }),
    new iam.PolicyStatement({
      sid: 'ClaimAndBudget',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [storage.stateTable.tableArn],
      // Message claims and sender budgets (GetItem: the read-only peek behind shadow verdicts) only: never the rate gate.
      conditions: leadingKeys(STATE_KEY_PREFIX.message, STATE_KEY_PREFIX.budget),
    }),
    // The compiled rules: their pointer, once per cache period, and the snapshot it names.
    new iam.PolicyStatement({
      sid: 'ReadRulesPointer',
      actions: ['dynamodb:GetItem'],
      resources: [storage.stateTable.tableArn],
      conditions: leadingKeys(STATE_KEY_PREFIX.rules),
    }),
    new iam.PolicyStatement({
      sid: 'ReadRulesSnapshot',
      actions: ['s3:GetObject'],
      resources: [storage.rulesSnapshotBucket.arnForObjects(`${DEFAULT_RULES_SNAPSHOT_PREFIX}*`)],
    }),
    // A message's further rules in the rule index: small `match#` items written in one batch after the claim.
    new iam.PolicyStatement({
      sid: 'IndexRuleMatches',
      actions: ['dynamodb:BatchWriteItem'],
      resources: [storage.stateTable.tableArn],
      conditions: leadingKeys(STATE_KEY_PREFIX.match),
    }),
    new iam.PolicyStatement({
      sid: 'ReadMail',
      actions: ['s3:GetObject'],
      resources: [storage.mailBucket.arnForObjects(`${s.mailPrefix}*`)],
    }),
    new iam.PolicyStatement({
      sid: 'QueueJobs',
      actions: ['sqs:SendMessage'],
      resources: [storage.bounceQueue.queueArn],
    }),
  ]) {
    role.addToPrincipalPolicy(statement);
  }
  // cdk-nag names a bucket of this app by its logical id; an imported one by its ARN.
  const bucketArn = storage.mailBucket.node.defaultChild ? `<${logicalId(scope, storage.mailBucket)}.Arn>` : Stack.of(scope).resolve(storage.mailBucket.bucketArn);
  if (typeof bucketArn === 'string') {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketArn}/${s.mailPrefix}*]`,
      reason: `s3:GetObject is limited to the raw messages under "${s.mailPrefix}"; their keys are SES message ids`,
    });
  }
  acknowledgeSnapshotObjects(scope, role, storage, 's3:GetObject is limited to the compiled rule snapshots; their keys are compile versions');
}

/** cdk-nag's name of the snapshot objects' wildcard: one key per compile, unknown in advance. */
function acknowledgeSnapshotObjects(scope: Construct, role: iam.Role, storage: Storage, reason: string): void {
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId(scope, storage.rulesSnapshotBucket)}.Arn>/${DEFAULT_RULES_SNAPSHOT_PREFIX}*]`,
    reason,
  });
}

/**
 * The compile step reads the whole rules table (the stream only says that it
 * changed), writes the snapshot and publishes the pointer; it may touch no
 * other state item. The mapping's on-failure destination adds the DLQ send.
 */
function grantCompile(scope: Construct, role: iam.Role, storage: Storage): void {
  for (const statement of [
    // What the event source mapping reads the stream with (it checks them when it is created).
    new iam.PolicyStatement({
      sid: 'ReadRulesStream',
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
      resources: [storage.rulesTable.tableStreamArn!],
    }),
    new iam.PolicyStatement({
      sid: 'ScanRules',
      actions: ['dynamodb:Scan'],
      resources: [storage.rulesTable.tableArn],
    }),
    new iam.PolicyStatement({
      sid: 'PublishRulesPointer',
      // A conditional put; after a failed compile, a conditional update marking an older pointer stale.
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [storage.stateTable.tableArn],
      conditions: leadingKeys(STATE_KEY_PREFIX.rules),
    }),
    new iam.PolicyStatement({
      sid: 'WriteRulesSnapshot',
      // Delete: a compile that lost the race to a later one removes its own, unread object.
      actions: ['s3:PutObject', 's3:DeleteObject'],
      resources: [storage.rulesSnapshotBucket.arnForObjects(`${DEFAULT_RULES_SNAPSHOT_PREFIX}*`)],
    }),
  ]) {
    role.addToPrincipalPolicy(statement);
  }
  acknowledgeSnapshotObjects(scope, role, storage, 's3:PutObject and s3:DeleteObject are limited to the compiled rule snapshots; each compile writes a new key');
}

/**
 * KMS use for what is encrypted with a customer-managed key: the bouncer's
 * `encryptionKey` (bucket, tables, queues), a shared state table's key and
 * the user's bucket's key. Exact actions, no wildcard.
 */
function grantKeys(receive: iam.Role, send: iam.Role, sweep: iam.Role, compile: iam.Role, s: ResolvedProps, storage: Storage): void {
  const grant = (role: iam.Role, sid: string, key: kms.IKey | undefined, actions: string[]) => {
    if (key) role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources: [key.keyArn] }));
  };
  const readWrite = ['kms:Decrypt', 'kms:GenerateDataKey'];
  // Every function reads and writes the state table and sends to a queue (the DLQ through the failure destination).
  grant(receive, 'UseBouncerKey', s.encryptionKey, readWrite);
  grant(send, 'UseBouncerKey', s.encryptionKey, readWrite);
  grant(sweep, 'UseBouncerKey', s.encryptionKey, readWrite);
  // Compile reads the rules table and writes the pointer and the snapshot, all under the bouncer's key.
  grant(compile, 'UseBouncerKey', s.encryptionKey, readWrite);
  if (s.encryptionKey) {
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      Validations.of(receive).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: "CDK's SQS failure-destination grant (grantSendMessages) on the bouncer's encryptionKey only",
      });
      Validations.of(compile).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: "CDK's grant for the stream mapping's on-failure queue (SqsDlq, grantSendMessages) on the bouncer's encryptionKey only",
      });
    }
  }
  if (s.existingStateTable?.encryptionKey && s.existingStateTable.encryptionKey !== s.encryptionKey) {
    grant(receive, 'UseStateTableKey', s.existingStateTable.encryptionKey, readWrite);
    grant(send, 'UseStateTableKey', s.existingStateTable.encryptionKey, readWrite);
    grant(sweep, 'UseStateTableKey', s.existingStateTable.encryptionKey, readWrite);
    grant(compile, 'UseStateTableKey', s.existingStateTable.encryptionKey, readWrite);
  }
  const bucketKey = storage.mailBucket.encryptionKey;
  if (bucketKey && bucketKey !== s.encryptionKey) grant(receive, 'ReadMailKey', bucketKey, ['kms:Decrypt']);
}

function grantSend(role: iam.Role, s: ResolvedProps, storage: Storage): void {
  for (const statement of [
    // No PutItem: the sender only moves existing items (and the gate's first UpdateItem creates it).
    new iam.PolicyStatement({
      sid: 'LedgerAndRateGate',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [storage.stateTable.tableArn],
      // Message items and the rate gate only: never a sender's budget.
      conditions: leadingKeys(STATE_KEY_PREFIX.message, STATE_KEY_PREFIX.gate),
    }),
    // A job whose rate slot is far away goes back to the queue with a delay.
    new iam.PolicyStatement({
      sid: 'RequeueJobs',
      actions: ['sqs:SendMessage'],
      resources: [storage.bounceQueue.queueArn],
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

function grantSweep(role: iam.Role, storage: Storage): void {
  for (const statement of [
    new iam.PolicyStatement({
      sid: 'ReadOpenIndex',
      actions: ['dynamodb:Query'],
      resources: [`${storage.stateTable.tableArn}/index/${STATE_OPEN_INDEX}`],
    }),
    new iam.PolicyStatement({
      sid: 'MoveStuckMessages',
      actions: ['dynamodb:UpdateItem'],
      resources: [storage.stateTable.tableArn],
      conditions: leadingKeys(STATE_KEY_PREFIX.message),
    }),
    new iam.PolicyStatement({
      sid: 'RequeueJobs',
      actions: ['sqs:SendMessage'],
      resources: [storage.bounceQueue.queueArn],
    }),
  ]) {
    role.addToPrincipalPolicy(statement);
  }
}

/**
 * Fences a statement to state-table items whose key starts with one of the
 * prefixes (`msg#`, `budget#`, `gate#`): every partition key a request names
 * must match (ForAllValues).
 */
function leadingKeys(...prefixes: string[]): Record<string, unknown> {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) } };
}

/** Logical id of a construct's default CloudFormation resource, as cdk-nag names it. */
export function logicalId(scope: Construct, construct: Construct): string {
  return Stack.of(scope).getLogicalId(construct.node.defaultChild as CfnElement);
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
