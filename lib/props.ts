import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import { ConfigError } from '../lambda/commons/errors';
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

/** Sender-auth policies the functions accept (`SENDER_AUTH_POLICY`). */
export const SENDER_AUTH_POLICIES: readonly SenderAuthPolicy[] = ['spf-pass', 'spf-or-dmarc-pass', 'none'];

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

/** SES names have fewer than 64 characters; stack names may be longer. */
export function defaultName(stackName: string, suffix: string): string {
  const base = stackName.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 62 - suffix.length).replace(/[._-]+$/, '');
  return `${base}-${suffix}`;
}

/** Props with defaults applied. */
export interface ResolvedProps {
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


/** Validates the props (first thing the constructor does) and applies the defaults. */
export function resolveProps(props: SesBouncerProps, stackName: string): ResolvedProps {
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

