/**
 * The bouncer's two functions: "receive" (SES invokes it) and "send" (fed by
 * the bounce queue), each with its own role, log group and least-privilege
 * statements.
 */
import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambda/commons/metrics';
import type { ConfigEnv } from '../../lambda/config/config';
import type { ResolvedProps } from '../props';
import type { Storage } from './storage';

/** Service name of the functions' logs and the `service` dimension of their EMF metrics. */
export const SERVICE_NAME = 'ses-bouncer';

/**
 * Timeouts: SES waits 30 s for a RequestResponse answer. The sender starts a
 * job only while `sendReserveMs` (75 s with the default 20 s slot wait) of its
 * invocation remains, so its timeout must be well above that.
 */
export const RECEIVE_TIMEOUT = Duration.seconds(25);
export const SEND_TIMEOUT = Duration.seconds(120);
/** The event source of the sending function never runs more than this many at once. */
const SEND_MAX_CONCURRENCY = 2;
const HANDLERS = path.join(__dirname, '..', '..', 'lambda', 'handlers');

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
const PROJECT_ROOT = path.join(__dirname, '..', '..');

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

/** What {@link createFunctions} creates. */
export interface Functions {
  readonly receiveFunction: lambda.Function;
  readonly sendFunction: lambda.Function;
}

/** Creates both functions in `scope`, wired to the storage and granted what each needs. */
export function createFunctions(scope: Construct, s: ResolvedProps, storage: Storage): Functions {
  const environment: Record<string, string> = {
    ...functionEnvironment(s, storage),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  const receiveFunction = nodeFunction(scope, 'Receive', {
    entry: path.join(HANDLERS, 'receive.ts'),
    bundling: functionBundling('receive'),
    description: 'ses-bouncer: evaluates bounce rules for mail received by SES and queues bounce jobs',
    timeout: RECEIVE_TIMEOUT,
    memorySize: s.receiveMemorySize,
    environment,
    logRetention: s.logRetention,
    // Async invocations (invocationType Event) retry twice, then land in the DLQ
    // with the request and the error (a destination record carries both).
    retryAttempts: 2,
    onFailure: new destinations.SqsDestination(storage.deadLetterQueue),
  });
  const sendFunction = nodeFunction(scope, 'Send', {
    entry: path.join(HANDLERS, 'send.ts'),
    bundling: functionBundling('send'),
    description: 'ses-bouncer: sends queued bounces through SES SendBounce, one per second',
    timeout: SEND_TIMEOUT,
    memorySize: 256,
    environment,
    logRetention: s.logRetention,
    reservedConcurrentExecutions: s.sendReservedConcurrency,
  });
  sendFunction.addEventSource(
    new eventSources.SqsEventSource(storage.bounceQueue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: SEND_MAX_CONCURRENCY,
    }),
  );
  grantReceive(scope, receiveFunction.role as iam.Role, s, storage);
  grantSend(sendFunction.role as iam.Role, s, storage);
  return { receiveFunction, sendFunction };
}

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

/** The settings the functions read (names from lambda/config/config.ts). */
function functionEnvironment(s: ResolvedProps, storage: Storage): Record<string, string> {
  const env: Required<Pick<ConfigEnv, EnvName>> & Pick<ConfigEnv, 'BOUNCE_SENDER_ARN'> = {
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
  };
  if (s.bounceSenderArn) env.BOUNCE_SENDER_ARN = s.bounceSenderArn;
  return env;
}

function nodeFunction(
  scope: Construct,
  id: string,
  options: Omit<nodejs.NodejsFunctionProps, 'role' | 'logGroup' | 'logRetention'> & {
    readonly logRetention: logs.RetentionDays;
  },
): nodejs.NodejsFunction {
  const { logRetention, ...functionProps } = options;
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
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
  const fn = new nodejs.NodejsFunction(scope, `${id}Function`, {
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
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId(scope, storage.mailBucket)}.Arn>/${s.mailPrefix}*]`,
    reason: `s3:GetObject is limited to the raw messages under "${s.mailPrefix}"; their keys are SES message ids`,
  });
}

function grantSend(role: iam.Role, s: ResolvedProps, storage: Storage): void {
  for (const statement of [
    new iam.PolicyStatement({
      sid: 'LedgerAndRateGate',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [storage.stateTable.tableArn],
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
