/**
 * Metric names and namespace, free of dependencies: the CDK construct (alarms,
 * dashboard) imports them without loading Powertools.
 */

/** Service name of the functions' logs, traces and the `service` dimension of their metrics. */
export const SERVICE_NAME = 'ses-bouncer';

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
  /** A SendBounce answer was lost, or a process died mid-SendBounce; the message is not bounced again. */
  BouncesUnknown: 'BouncesUnknown',
  /** The stored message could not be read (missing object, S3 error). */
  MailReadFailed: 'MailReadFailed',
  /** The MIME parser refused a body a rule needed: its attachment conditions were unknown. */
  MailUnparsed: 'MailUnparsed',
  SesThrottled: 'SesThrottled',
  /** Recipients a rule bounces but one job cannot carry (SQS and DynamoDB size limits): not bounced. */
  RecipientsOverLimit: 'RecipientsOverLimit',
  /** Stale PENDING claims the sweep handed to the queue again. */
  ClaimsRequeued: 'ClaimsRequeued',
  InvalidRules: 'InvalidRules',
  /**
   * A receive function loaded its rules with the Scan path although a rules
   * snapshot bucket is configured (no pointer yet, pointer or snapshot
   * unreadable). Decisions go on; reads cost what they did before snapshots.
   */
  RulesSnapshotFallback: 'RulesSnapshotFallback',
  /**
   * Entries of the per-rule index (a message's further rules, `match#` items)
   * that could not be written after the claim: `rules report` undercounts
   * those rules. The bounce itself is unaffected.
   */
  RuleIndexEntriesLost: 'RuleIndexEntriesLost',
  /** Recipients a drop rule rejected without a DSN (no SendBounce). */
  RecipientsDropped: 'RecipientsDropped',
  /**
   * Shadow matches (one per recipient and shadow rule recorded), emitted with
   * dimension `outcome` = a {@link ShadowOutcome}: what enforcing the rule would have done.
   */
  ShadowMatches: 'ShadowMatches',
  /** Milliseconds between receipt and the SendBounce call. */
  QueueAgeAtSendMs: 'QueueAgeAtSendMs',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/**
 * The `outcome` dimension of {@link MetricName.ShadowMatches}:
 * - `would-bounce`: the guard and the sender budget would have let the bounce out;
 * - `would-drop`: a drop rule (drops consult neither);
 * - `guard-refused`: the sender guard would have refused the bounce (no DSN, the mail still rejected);
 * - `budget-spent`: the guard would have allowed it, the sender's budget was spent;
 * - `budget-unavailable`: the budget could not be read (a real bounce would not have gone out).
 */
export const SHADOW_OUTCOMES = ['would-bounce', 'would-drop', 'guard-refused', 'budget-spent', 'budget-unavailable'] as const;
export type ShadowOutcome = (typeof SHADOW_OUTCOMES)[number];
