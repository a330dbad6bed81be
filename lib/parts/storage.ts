/**
 * Storage of a bouncer: the mail bucket SES writes to, the rules and state
 * tables, the bounce-job queue and its dead-letter queue.
 */
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY, STATE_TTL_ATTRIBUTE } from '../../lambda/config/tables';
import type { ResolvedProps } from '../props';
import { SEND_TIMEOUT } from './functions';

/** What {@link createStorage} creates. */
export interface Storage {
  readonly mailBucket: s3.Bucket;
  readonly rulesTable: dynamodb.Table;
  readonly stateTable: dynamodb.Table;
  readonly bounceQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * Creates the bucket (SES may write only under the prefix, only for this
 * account and this rule), both tables and both queues in `scope`.
 */
export function createStorage(scope: Construct, s: ResolvedProps, receiptRuleArn: string): Storage {
  const mailBucket = new s3.Bucket(scope, 'MailBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    // Versioning stays off: SES writes each message id once and the lifecycle
    // expiry must really delete the mail (it holds personal data).
    versioned: false,
    removalPolicy: s.dataRemovalPolicy,
    lifecycleRules: [
      { id: 'expire-mail', prefix: s.mailPrefix, expiration: Duration.days(s.retentionDays) },
      { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
  mailBucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowSesPutMail',
      principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [mailBucket.arnForObjects(`${s.mailPrefix}*`)],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': receiptRuleArn },
      },
    }),
  );
  Validations.of(mailBucket).acknowledge({
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
  const rulesTable = new dynamodb.Table(scope, 'RulesTable', {
    ...tableDefaults,
    partitionKey: { name: RULES_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    removalPolicy: s.rulesTableRemovalPolicy,
  });
  const stateTable = new dynamodb.Table(scope, 'StateTable', {
    ...tableDefaults,
    partitionKey: { name: STATE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: STATE_TTL_ATTRIBUTE,
    removalPolicy: s.dataRemovalPolicy,
  });

  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const bounceQueue = new sqs.Queue(scope, 'BounceQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // AWS advises at least six times the consumer's timeout for SQS event sources.
    visibilityTimeout: Duration.seconds(SEND_TIMEOUT.toSeconds() * 6),
    // SendBounce refuses mail older than 24 h: older jobs are useless.
    retentionPeriod: Duration.days(1),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
  });
  return { mailBucket, rulesTable, stateTable, bounceQueue, deadLetterQueue };
}
