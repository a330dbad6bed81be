/**
 * Storage of a bouncer: the mail bucket SES writes to, the rules and state
 * tables, the bounce-job queue and its dead-letter queue, and what the compile
 * step needs (issue 13): the rules table's stream, the snapshot bucket and the
 * compile dead-letter queue.
 */
import { Annotations, Aws, Duration, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IDependable } from 'constructs';
import {
  RULES_PARTITION_KEY,
  STATE_OPEN_ATTRIBUTE,
  STATE_OPEN_INDEX,
  STATE_OPEN_SORT_KEY,
  STATE_PARTITION_KEY,
  STATE_RULE_ATTRIBUTE,
  STATE_RULE_INDEX,
  STATE_RULE_PROJECTION,
  STATE_RULE_SORT_KEY,
  STATE_TTL_ATTRIBUTE,
} from '../../lambda/config/tables';
import { DEFAULT_RULES_SNAPSHOT_PREFIX } from '../../lambda/domain/rules/pointer';
import type { ResolvedProps } from '../props';
import { SEND_TIMEOUT } from './functions';

/** What {@link createStorage} creates. */
export interface Storage {
  /** The created bucket, or `existingBucket`. */
  readonly mailBucket: s3.IBucket;
  readonly rulesTable: dynamodb.Table;
  /** The created state table, or `existingStateTable`. */
  readonly stateTable: dynamodb.ITable;
  readonly bounceQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Compiled rule snapshots (`<prefix><version>.json.gz`), written by the compile function, read by receive. */
  readonly rulesSnapshotBucket: s3.Bucket;
  /** Stream batches the compile function failed on after its retries (the event source mapping's on-failure records). */
  readonly compileDeadLetterQueue: sqs.Queue;
  /** What the receipt rule must wait for: the bucket policy letting SES write, when the bouncer set it. */
  readonly sesWriteAccess: readonly IDependable[];
}

/**
 * Creates (or takes) the bucket, with SES allowed to write only under the
 * prefix, only for this account and this rule; both tables (or the shared
 * state table) and both queues, in `scope`.
 */
export function createStorage(scope: Construct, s: ResolvedProps, receiptRuleArn: string): Storage {
  const { mailBucket, sesWriteAccess } = s.existingBucket
    ? { mailBucket: s.existingBucket, sesWriteAccess: allowSesWrite(scope, s.existingBucket, s, receiptRuleArn) }
    : createMailBucket(scope, s, receiptRuleArn);
  if (s.encryptionKey && !s.existingBucket) allowSesEncrypt(scope, s.encryptionKey, receiptRuleArn, 'encryptionKey');
  if (s.existingBucket?.encryptionKey && s.addS3Action) allowSesEncrypt(scope, s.existingBucket.encryptionKey, receiptRuleArn, "existingBucket's key");

  const tableEncryption = s.encryptionKey
    ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: s.encryptionKey }
    : { encryption: dynamodb.TableEncryption.AWS_MANAGED };
  const tableDefaults = {
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...tableEncryption,
  };
  const rulesTable = new dynamodb.Table(scope, 'RulesTable', {
    ...tableDefaults,
    partitionKey: { name: RULES_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    removalPolicy: s.rulesTableRemovalPolicy,
    // Keys only: a change only triggers the compile step, which reads the whole table again.
    stream: dynamodb.StreamViewType.KEYS_ONLY,
  });
  const stateTable = s.existingStateTable ?? createStateTable(scope, s, tableDefaults);

  const queueEncryption = s.encryptionKey
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: s.encryptionKey }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    ...queueEncryption,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const bounceQueue = new sqs.Queue(scope, 'BounceQueue', {
    ...queueEncryption,
    enforceSSL: true,
    // AWS advises at least six times the consumer's timeout for SQS event sources.
    visibilityTimeout: Duration.seconds(SEND_TIMEOUT.toSeconds() * 6),
    // SendBounce refuses mail older than 24 h: older jobs are useless.
    retentionPeriod: Duration.days(1),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
  });
  // Its own queue, not the bounce DLQ: its messages are stream positions (no
  // mail, nothing to redrive with `ses-bouncer dlq`), and it alarms on its own.
  const compileDeadLetterQueue = new sqs.Queue(scope, 'CompileDeadLetterQueue', {
    ...queueEncryption,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(compileDeadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: "it is a dead-letter queue: the on-failure destination of the compile function's stream event source mapping",
  });
  const rulesSnapshotBucket = createSnapshotBucket(scope, s);
  return { mailBucket, rulesTable, stateTable, bounceQueue, deadLetterQueue, rulesSnapshotBucket, compileDeadLetterQueue, sesWriteAccess };
}

/**
 * How long a snapshot object is kept. The compile step writes a new object per
 * compile and also runs on a schedule ({@link RECOMPILE_SCHEDULE} in
 * functions.ts), so the object the pointer names is never older than the
 * schedule's period while compiles succeed: the expiry only removes
 * superseded snapshots. Should every compile fail for this long, receive
 * finds no object and falls back to scanning the table (counted), never to
 * no rules.
 */
export const SNAPSHOT_RETENTION = Duration.days(7);

/** What every bucket of the bouncer has: encryption (the encryptionKey prop, else S3-managed), no public access, TLS only. */
function privateBucket(s: ResolvedProps): Pick<s3.BucketProps, 'encryption' | 'encryptionKey' | 'bucketKeyEnabled' | 'blockPublicAccess' | 'enforceSSL'> {
  return {
    ...(s.encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: s.encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
  };
}

/**
 * The bucket of the compiled rule snapshots: private, TLS only, encrypted like
 * the mail bucket, old snapshots expiring. The snapshots are derived from the
 * rules table, so the bucket follows the rules table's removal policy.
 */
function createSnapshotBucket(scope: Construct, s: ResolvedProps): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'RulesSnapshotBucket', {
    ...privateBucket(s),
    // Every compile writes a new key; the pointer names the current one, so versions would only keep dead copies.
    versioned: false,
    removalPolicy: s.rulesTableRemovalPolicy,
    lifecycleRules: [
      { id: 'expire-old-snapshots', prefix: DEFAULT_RULES_SNAPSHOT_PREFIX, expiration: SNAPSHOT_RETENTION },
      { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'only the compile function writes and only the receive function reads (IAM); the objects are derived from the rules table and expire. ' +
      'Enable CloudTrail S3 data events if object access must be audited.',
  });
  return bucket;
}

/**
 * The state table of a bouncer that does not share another's. Its sparse
 * index `open-by-age` holds only PENDING and SENDING messages, so the sweep
 * reads what is stuck and never scans the table (issue 12, defect 3); the
 * sparse index `rule-by-time` holds what each rule did, day by day, for
 * `ses-bouncer rules report` (issue 15). A bouncer given `existingStateTable`
 * uses the indexes its owner created.
 */
function createStateTable(scope: Construct, s: ResolvedProps, defaults: Partial<dynamodb.TableProps>): dynamodb.Table {
  const stateTable = new dynamodb.Table(scope, 'StateTable', {
    ...defaults,
    partitionKey: { name: STATE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: STATE_TTL_ATTRIBUTE,
    removalPolicy: s.dataRemovalPolicy,
  });
  stateTable.addGlobalSecondaryIndex({
    indexName: STATE_OPEN_INDEX,
    partitionKey: { name: STATE_OPEN_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: STATE_OPEN_SORT_KEY, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  // Only what the report reads: an audit item's decisions (up to ~300 KB) stay out of the index.
  stateTable.addGlobalSecondaryIndex({
    indexName: STATE_RULE_INDEX,
    partitionKey: { name: STATE_RULE_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: STATE_RULE_SORT_KEY, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...STATE_RULE_PROJECTION],
  });
  return stateTable;
}

/** The SES write statement: only under the prefix, only for this account and this rule. */
function sesPutStatement(bucket: s3.IBucket, s: ResolvedProps, receiptRuleArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AllowSesPutMail',
    principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [bucket.arnForObjects(`${s.mailPrefix}*`)],
    conditions: {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': receiptRuleArn },
    },
  });
}

/**
 * Adds the SES write statement to the policy of the user's bucket when CDK
 * can (a bucket of this app); warns, naming what to add, when it cannot.
 */
function allowSesWrite(scope: Construct, bucket: s3.IBucket, s: ResolvedProps, receiptRuleArn: string): IDependable[] {
  if (!s.addS3Action) return [];
  const statement = sesPutStatement(bucket, s, receiptRuleArn);
  const { statementAdded, policyDependable } = bucket.addToResourcePolicy(statement);
  if (statementAdded && policyDependable) return [policyDependable];
  Annotations.of(scope).addWarningV2(
    'ses-bouncer:existingBucketPolicy',
    `existingBucket is imported, so its policy cannot be changed here: allow ses.amazonaws.com s3:PutObject on ${s.mailPrefix}* for aws:SourceArn ${receiptRuleArn} yourself, or SES cannot create the rule`,
  );
  return [];
}

/**
 * Lets SES encrypt stored mail with a customer-managed key, for this rule
 * only; warns when the key is imported and its policy cannot be changed here.
 */
function allowSesEncrypt(scope: Construct, key: kms.IKey, receiptRuleArn: string, what: string): void {
  const { statementAdded } = key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowSesToEncryptMail',
      principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': receiptRuleArn },
      },
    }),
    /* allowNoOp */ true,
  );
  if (!statementAdded) {
    Annotations.of(scope).addWarningV2(
      'ses-bouncer:importedKeyPolicy',
      `${what} is imported, so its key policy cannot be changed here: allow ses.amazonaws.com kms:Encrypt and kms:GenerateDataKey for aws:SourceArn ${receiptRuleArn} yourself`,
    );
  }
}

/** The bouncer's own bucket: private, TLS only, mail expiring after the retention days. */
function createMailBucket(scope: Construct, s: ResolvedProps, receiptRuleArn: string): { mailBucket: s3.Bucket; sesWriteAccess: IDependable[] } {
  const mailBucket = new s3.Bucket(scope, 'MailBucket', {
    ...privateBucket(s),
    // Versioning stays off: SES writes each message id once and the lifecycle
    // expiry must really delete the mail (it holds personal data).
    versioned: false,
    removalPolicy: s.dataRemovalPolicy,
    lifecycleRules: [
      { id: 'expire-mail', prefix: s.mailPrefix, expiration: Duration.days(s.retentionDays) },
      { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
  mailBucket.addToResourcePolicy(sesPutStatement(mailBucket, s, receiptRuleArn));
  Validations.of(mailBucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'only SES writes (under the mail prefix, scoped by the bucket policy) and only the receive function reads; ' +
      'objects expire after the retention period. Enable CloudTrail S3 data events if object access must be audited.',
  });

  return { mailBucket, sesWriteAccess: [mailBucket.policy!] };
}
