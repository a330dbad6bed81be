import { RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
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
  PropError,
  checkPattern,
} from './validation';

/** How SES invokes the receiving function. */
export type InvocationType = 'Event' | 'RequestResponse';

/** Sender-auth policies the functions accept (`SENDER_AUTH_POLICY`). */
export const SENDER_AUTH_POLICIES: readonly SenderAuthPolicy[] = ['spf-pass', 'spf-or-dmarc-pass', 'none'];

/**
 * Where the bouncer's rule goes in an existing rule set. SES runs a set's
 * rules in order: for "bounced" to mean "not delivered", the bouncer must run
 * before the rules that deliver (WorkMail, forwarders), with
 * `invocationType: 'RequestResponse'` so that its `STOP_RULE_SET` answer for
 * fully rejected mail stops them.
 */
export class RulePosition {
  /** First in the set: before every rule already there (the default). */
  public static first(): RulePosition {
    return new RulePosition(undefined);
  }

  /** Right after `rule` (a rule of the same set, created or imported). */
  public static after(rule: ses.IReceiptRule): RulePosition {
    return new RulePosition(rule);
  }

  private constructor(
    /** The rule the bouncer's rule follows; undefined for first. */
    public readonly after: ses.IReceiptRule | undefined,
  ) {}
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
   * @default - `<stack>-<construct path>-<hash>-rule-set`, unique per construct
   */
  readonly ruleSetName?: string;

  /**
   * An existing rule set (e.g. `ses.ReceiptRuleSet.fromReceiptRuleSetName`, or
   * one created in your stack) to add the bouncer's rule to, at `position`.
   * Cannot be combined with `ruleSetName`/`useExistingRuleSet` or `activateRuleSet`.
   * @default - a new rule set
   */
  readonly existingRuleSet?: ses.IReceiptRuleSet;

  /**
   * Position of the bouncer's rule in an existing rule set (`existingRuleSet`
   * or `useExistingRuleSet`).
   * @default RulePosition.first()
   */
  readonly position?: RulePosition;

  /**
   * Add the rule to the existing set named `ruleSetName` instead of creating one.
   * @default false
   */
  readonly useExistingRuleSet?: boolean;

  /**
   * Name of the receipt rule; it is part of the rule's ARN, which scopes the
   * bucket policy and the invoke permission.
   * @default - `<stack>-<construct path>-<hash>-bouncer`, unique per construct
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
   * Your bucket for the raw messages, instead of a new one. The rule stores
   * mail there under `mailPrefix` (unless `addS3Action` is false); the bouncer
   * adds no lifecycle rule to it, so expiring the mail is up to you. A bucket
   * of the same app gets the SES write statement in its policy; for an
   * imported bucket you add it yourself (synth warns).
   * @default - a new bucket, S3-managed or `encryptionKey` encryption
   */
  readonly existingBucket?: s3.IBucket;

  /**
   * Whether the bouncer's rule stores the message (S3 action before the Lambda
   * action). Set false when an earlier rule of the set already stores every
   * message this rule matches in `existingBucket` under `mailPrefix`, so mail
   * is not stored twice; needs `existingBucket` and `position: RulePosition.after(thatRule)`.
   * @default true
   */
  readonly addS3Action?: boolean;

  /**
   * Customer-managed KMS key for what the bouncer creates: the mail bucket,
   * the rules and state tables and both queues. SES is allowed to encrypt with
   * it for this rule only (key policy of a key in the same app; for an
   * imported key you add that yourself, synth warns).
   * @default - AWS-managed encryption (S3-managed, DynamoDB-owned, SQS-managed)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * A state table to share with other bouncers of the same account and Region
   * (e.g. `otherBouncer.stateTable`), instead of a new one. SendBounce allows
   * one call per second per account and Region: bouncers sharing the table and
   * the `rateGateKey` stay at that rate together. Its partition key must be
   * `pk` (string) with TTL on `expiresAt`.
   * @default - a new state table
   */
  readonly existingStateTable?: dynamodb.ITable;

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
   * X-Ray tracing: the functions get active tracing and trace each invocation,
   * each message and each AWS call with Powertools Tracer. Off, the Tracer is
   * never loaded and cold starts do not pay for it (BENCHMARKS.md, figure 1).
   * @default false
   */
  readonly tracing?: boolean;

  /**
   * Stack-wide shadow mode, for a first deployment on a live domain: every
   * bounce and drop a rule decides is recorded instead (audit state SHADOW,
   * with what the sender guard and the sender budget would have said, and
   * the `ShadowMatches` metric) and the mail goes on as if no rule had
   * matched. No SendBounce call is made. Turn it off to enforce the rules.
   * @default false
   */
  readonly shadow?: boolean;

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

  /**
   * Removal policy of the functions' log groups: kept by default, like the
   * tables, so that deleting the stack does not delete the record of what it
   * bounced.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** SES names have fewer than 64 characters; `base` (a stack name, a unique construct name) may be longer. */
export function defaultName(base: string, suffix: string): string {
  const cleaned = base.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 62 - suffix.length).replace(/[._-]+$/, '');
  return `${cleaned}-${suffix}`;
}

/** Props with defaults applied. */
export interface ResolvedProps {
  readonly recipients: readonly string[];
  readonly bounceSender: string;
  readonly bounceSenderArn?: string;
  readonly reportingMta: string;
  readonly ruleSetName: string;
  readonly useExistingRuleSet: boolean;
  /** The set to add the rule to when it is not created: `existingRuleSet`, or the one named by `ruleSetName`. */
  readonly existingRuleSet?: ses.IReceiptRuleSet;
  /** Undefined when the bouncer creates its own set. */
  readonly position?: RulePosition;
  readonly existingBucket?: s3.IBucket;
  readonly addS3Action: boolean;
  readonly encryptionKey?: kms.IKey;
  readonly existingStateTable?: dynamodb.ITable;
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
  readonly tracing: boolean;
  readonly shadow: boolean;
  readonly sendReservedConcurrency?: number;
  readonly receiveMemorySize: number;
  readonly rulesTableRemovalPolicy: RemovalPolicy;
  readonly dataRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}


/**
 * Validates the props (first thing the constructor does) and applies the
 * defaults. `uniqueName` is the construct's unique name in the app, the base
 * of the default rule and rule set names. Every error is one line naming the
 * prop ({@link PropError}).
 */
export function resolveProps(props: SesBouncerProps, uniqueName: string, importRuleSet: (name: string) => ses.IReceiptRuleSet): ResolvedProps {
  if (!Array.isArray(props.recipients) || props.recipients.length === 0) {
    throw new PropError('recipients', 'recipients', `must list at least one address or domain (got ${JSON.stringify(props.recipients)})`);
  }
  if (props.recipients.length > 100) {
    throw new PropError('recipients', 'recipients', `may list at most 100 entries, the SES limit per rule (got ${props.recipients.length})`);
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
  const placement = resolvePlacement(props, uniqueName, importRuleSet);
  const ruleSetName = placement.ruleSetName;
  const ruleName = props.ruleName ?? defaultName(uniqueName, 'bouncer');
  checkPattern('ruleName', ruleName, SES_NAME, 'at most 63 letters, digits, ".", "_" or "-", starting and ending alphanumeric');
  const mailPrefix = props.mailPrefix ?? 'mail/';
  checkPattern('mailPrefix', mailPrefix, /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/, 'a key prefix ending with "/", like mail/');
  const addS3Action = props.addS3Action ?? true;
  if (!addS3Action && props.existingBucket === undefined) {
    throw new PropError('addS3Action', 'addS3Action', 'false needs existingBucket, the bucket where an earlier rule already stores the mail');
  }
  if (!addS3Action && placement.position?.after === undefined) {
    throw new PropError(
      'addS3Action',
      'addS3Action',
      'false needs position: RulePosition.after(<the rule that stores the mail>); placed first, the bouncer would read mail nothing has stored yet',
    );
  }
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
    existingRuleSet: placement.existingRuleSet,
    position: placement.position,
    existingBucket: props.existingBucket,
    addS3Action,
    encryptionKey: props.encryptionKey,
    existingStateTable: props.existingStateTable,
    ruleName,
    activateRuleSet: placement.activate,
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
    tracing: props.tracing ?? false,
    shadow: props.shadow ?? false,
    sendReservedConcurrency,
    receiveMemorySize,
    rulesTableRemovalPolicy: props.rulesTableRemovalPolicy ?? RemovalPolicy.RETAIN,
    dataRemovalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/**
 * The rule set and the rule's position, with the combinations that would be
 * unsafe or ambiguous refused (one line each, naming the props).
 */
function resolvePlacement(
  props: SesBouncerProps,
  uniqueName: string,
  importRuleSet: (name: string) => ses.IReceiptRuleSet,
): { ruleSetName: string; existingRuleSet?: ses.IReceiptRuleSet; position?: RulePosition; activate: boolean } {
  const activate = props.activateRuleSet ?? false;
  if (props.existingRuleSet !== undefined && (props.useExistingRuleSet || props.ruleSetName !== undefined)) {
    throw new PropError('existingRuleSet', 'existingRuleSet', 'cannot be combined with ruleSetName or useExistingRuleSet: give the set one way');
  }
  const existing = props.existingRuleSet !== undefined || props.useExistingRuleSet === true;
  if (existing && activate) {
    // Activating would switch the account's receiving to that set, through a
    // custom resource allowed SetActiveReceiptRuleSet on "*": not a bouncer's call.
    throw new PropError(
      'activateRuleSet',
      'activateRuleSet',
      `cannot be combined with ${props.existingRuleSet ? 'existingRuleSet' : 'useExistingRuleSet'}: the bouncer would switch the account's active rule set; activate your set yourself`,
    );
  }
  if (!existing && props.position !== undefined) {
    throw new PropError('position', 'position', 'applies to an existing rule set (existingRuleSet or useExistingRuleSet); the bouncer is alone in its own set');
  }
  if (props.existingRuleSet !== undefined) {
    const ruleSetName = props.existingRuleSet.receiptRuleSetName;
    if (!Token.isUnresolved(ruleSetName)) checkPattern('existingRuleSet', ruleSetName, SES_NAME, 'a rule set with an SES name');
    return { ruleSetName, existingRuleSet: props.existingRuleSet, position: props.position ?? RulePosition.first(), activate };
  }
  if (props.useExistingRuleSet) {
    if (props.ruleSetName === undefined) {
      throw new PropError('useExistingRuleSet', 'useExistingRuleSet', 'needs ruleSetName, the name of the existing rule set (got undefined)');
    }
    checkPattern('ruleSetName', props.ruleSetName, SES_NAME, 'at most 63 letters, digits, ".", "_" or "-", starting and ending alphanumeric');
    return { ruleSetName: props.ruleSetName, existingRuleSet: importRuleSet(props.ruleSetName), position: props.position ?? RulePosition.first(), activate };
  }
  const ruleSetName = props.ruleSetName ?? defaultName(uniqueName, 'rule-set');
  checkPattern('ruleSetName', ruleSetName, SES_NAME, 'at most 63 letters, digits, ".", "_" or "-", starting and ending alphanumeric');
  return { ruleSetName, activate };
}
