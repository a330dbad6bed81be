/**
 * What operators watch: the encrypted alarm topic, the alarms and the
 * dashboard over the functions' EMF metrics.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName } from '../../lambda/commons/metric-names';
import type { ResolvedProps } from '../props';
import { SERVICE_NAME } from './functions';

/** What {@link createMonitoring} creates. */
export interface Monitoring {
  readonly alarmTopic: sns.Topic;
  readonly alarmTopicKey: kms.Key;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
}

/** What {@link createMonitoring} watches. */
export interface Watched {
  readonly receiveFunction: lambda.IFunction;
  readonly sendFunction: lambda.IFunction;
  readonly sweepFunction: lambda.IFunction;
  readonly compileFunction: lambda.IFunction;
  readonly bounceQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly compileDeadLetterQueue: sqs.IQueue;
}

/** A bouncer metric as the functions emit it (EMF, dimension `service`). */
export function bouncerMetric(name: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Sum',
    period: Duration.minutes(5),
    ...options,
  });
}

/** Creates the alarm topic (and its key), the alarms and the dashboard in `scope`. */
export function createMonitoring(scope: Construct, s: ResolvedProps, watched: Watched): Monitoring {
  // A customer-managed key, not alias/aws/sns: the AWS-managed key's policy
  // cannot be changed to let CloudWatch alarms publish, so alarms would fail silently.
  const alarmTopicKey = new kms.Key(scope, 'AlarmTopicKey', {
    description: 'ses-bouncer alarm topic encryption',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  alarmTopicKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  );
  const alarmTopic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: 'ses-bouncer alarms',
    masterKey: alarmTopicKey,
    enforceSSL: true,
  });
  if (s.alarmEmail) {
    alarmTopic.addSubscription(new subscriptions.EmailSubscription(s.alarmEmail));
  }
  const alarms = createAlarms(scope, alarmTopic, watched);
  const dashboard = createDashboard(scope, watched);
  return { alarmTopic, alarmTopicKey, alarms, dashboard };
}

function createAlarms(scope: Construct, topic: sns.ITopic, w: Watched): cloudwatch.Alarm[] {
  const period = Duration.minutes(5);
  const action = new cwActions.SnsAction(topic);
  const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number, treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING) => {
    const a = new cloudwatch.Alarm(scope, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData,
    });
    a.addAlarmAction(action);
    return a;
  };
  return [
    alarm('ReceiveErrorsAlarm', 'the receive function failed', w.receiveFunction.metricErrors({ period }), 0),
    alarm('SendErrorsAlarm', 'the send function failed', w.sendFunction.metricErrors({ period }), 0),
    alarm('SweepErrorsAlarm', 'the sweep of stuck claims failed', w.sweepFunction.metricErrors({ period }), 0),
    alarm(
      'DeadLetterAlarm',
      'bounce jobs or receive invocations are in the dead-letter queue',
      w.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      0,
    ),
    alarm(
      'QueueAgeAlarm',
      'bounce jobs wait over an hour; SendBounce refuses mail older than 24 h',
      w.bounceQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      3600,
    ),
    alarm('BouncesExpiredAlarm', 'bounces were dropped because the mail was over 24 h old', bouncerMetric(MetricName.BouncesExpired), 0),
    // The compile step emits the count once per compile, 0 included, not once per
    // warm instance-minute: Maximum, and the alarm keeps its state between compiles
    // (missing data ignored) so it stays in ALARM until a compile finds none.
    alarm(
      'InvalidRulesAlarm',
      'rule items failed validation at the last compile: until fixed, no recipient they could cover is bounced (unreadable recipients hold every bounce); "ses-bouncer rules list" shows them, and so does the log line "invalid rule skipped"',
      bouncerMetric(MetricName.InvalidRules, { statistic: 'Maximum' }),
      0,
      cloudwatch.TreatMissingData.IGNORE,
    ),
    alarm(
      'CompileErrorsAlarm',
      'compiling the rules snapshot failed (it is retried): receive functions scan the rules table until a compile succeeds',
      w.compileFunction.metricErrors({ period }),
      0,
    ),
    alarm(
      'CompileDeadLetterAlarm',
      'a rules compile failed after its retries: receive functions scan the rules table (stale pointer) until the next edit or the scheduled compile succeeds; see the compile function log',
      w.compileDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      0,
    ),
    alarm(
      'BouncesFailedAlarm',
      'SES refused bounces (MessageRejected, access denied, unverified identity) or their retries ran out; they are not sent',
      bouncerMetric(MetricName.BouncesFailed),
      0,
    ),
    alarm('BouncesUnknownAlarm', 'a sender died during SendBounce; the bounce may or may not have gone out', bouncerMetric(MetricName.BouncesUnknown), 0),
    alarm('MailReadFailedAlarm', 'stored mail that rules needed could not be read from S3', bouncerMetric(MetricName.MailReadFailed), 0),
  ];
}

function createDashboard(scope: Construct, w: Watched): cloudwatch.Dashboard {
  const sum = (name: string) => bouncerMetric(name, { label: name });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
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
        sum(MetricName.RecipientsDropped),
        sum(MetricName.ClaimsRequeued),
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
      title: 'Shadow matches by outcome, and drops',
      width: 12,
      // What shadow rules (or the stack-wide shadow switch) would have done: one line per outcome emitted.
      left: [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRICS_NAMESPACE},outcome,service} MetricName="${MetricName.ShadowMatches}" service="${SERVICE_NAME}"', 'Sum', 300)`,
          label: '',
          period: Duration.minutes(5),
        }),
      ],
      right: [sum(MetricName.RecipientsDropped)],
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
        sum(MetricName.ClaimsRequeued),
        sum(MetricName.RecipientsOverLimit),
        sum(MetricName.RecipientsUnbounceable),
        sum(MetricName.MailUnparsed),
        sum(MetricName.SesThrottled),
        sum(MetricName.InvalidRules),
        sum(MetricName.MailReadFailed),
        sum(MetricName.RuleIndexEntriesLost),
      ],
    }),
    // What was not bounced because it could not be known or sent, and claims the sweep re-enqueued: a trend here needs a look.
    new cloudwatch.GraphWidget({
      title: 'Unparsed, unsendable, over limit, requeued',
      width: 12,
      left: [
        sum(MetricName.MailUnparsed),
        sum(MetricName.RecipientsUnbounceable),
        sum(MetricName.RecipientsOverLimit),
        sum(MetricName.ClaimsRequeued),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Receipt to SendBounce (ms)',
      width: 12,
      left: ['p50', 'p99', 'Maximum'].map((statistic) =>
        bouncerMetric(MetricName.QueueAgeAtSendMs, { statistic, label: `${MetricName.QueueAgeAtSendMs} ${statistic}` }),
      ),
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Functions',
      width: 12,
      left: [w.receiveFunction.metricErrors(), w.sendFunction.metricErrors(), w.compileFunction.metricErrors()],
      right: [w.receiveFunction.metricDuration({ statistic: 'p99' }), w.sendFunction.metricDuration({ statistic: 'p99' }), w.compileFunction.metricDuration({ statistic: 'Maximum' })],
    }),
    new cloudwatch.GraphWidget({
      title: 'Queues',
      width: 12,
      left: [
        w.bounceQueue.metricApproximateNumberOfMessagesVisible(),
        w.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        w.compileDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      ],
      right: [w.bounceQueue.metricApproximateAgeOfOldestMessage()],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Compiled rules',
      width: 12,
      // Invalid items at the last compiles; rule loads that scanned the table instead of reading the snapshot.
      left: [bouncerMetric(MetricName.InvalidRules, { statistic: 'Maximum', label: `${MetricName.InvalidRules} (max)` })],
      right: [sum(MetricName.RulesSnapshotFallback)],
    }),
  );
  return dashboard;
}
