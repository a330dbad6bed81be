import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace of every metric the functions emit (EMF). */
export const METRICS_NAMESPACE = 'SesBouncer';

/**
 * Metric names, shared by the functions (which emit them) and the stack
 * (alarms and dashboard).
 */
export const MetricName = {
  MessagesReceived: 'MessagesReceived',
  RecipientsBounced: 'RecipientsBounced',
  /** Recipients a rule bounced that SendBounce cannot take (non-ASCII addresses); recorded in the audit item. */
  RecipientsUnbounceable: 'RecipientsUnbounceable',
  BouncesQueued: 'BouncesQueued',
  BouncesSent: 'BouncesSent',
  /** Emitted with dimension `reason` = a GuardReason. */
  BouncesSkipped: 'BouncesSkipped',
  BouncesExpired: 'BouncesExpired',
  BouncesFailed: 'BouncesFailed',
  /** A process died mid-SendBounce; the message is not bounced again. */
  BouncesUnknown: 'BouncesUnknown',
  /** The stored message could not be read (missing object, S3 error). */
  MailReadFailed: 'MailReadFailed',
  /** The MIME parser refused a body a rule needed: its attachment conditions were unknown. */
  MailUnparsed: 'MailUnparsed',
  SesThrottled: 'SesThrottled',
  InvalidRules: 'InvalidRules',
  /** Milliseconds between receipt and the SendBounce call. */
  QueueAgeAtSendMs: 'QueueAgeAtSendMs',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** The one metrics instance; handlers flush it with `publishStoredMetrics()`. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'ses-bouncer' });

export { MetricUnit };
