import { TlsPolicy } from 'aws-cdk-lib/aws-ses';
import type { Node } from 'constructs';
import { ConfigError } from '../lambda/commons/errors';
import type { SenderAuthPolicy } from '../lambda/domain/model';
import type { InvocationType, SesBouncerProps } from './props';
import { SENDER_AUTH_POLICIES } from './props';
import { checkOneOf } from './validation';

/** Prefix of every context key the app reads, e.g. `ses-bouncer:recipients`. */
export const CONTEXT_PREFIX = 'ses-bouncer:';

/**
 * The context keys (without prefix) and what they set. Values come from
 * cdk.json (JSON values) or `-c key=value` (strings); both are accepted.
 */
export const CONTEXT_KEYS = {
  recipients: 'list: addresses, domains or .domains the receipt rule matches (required)',
  bounceSender: 'verified SES identity address that sends the bounces (required)',
  bounceSenderArn: 'identity ARN for sending authorization',
  reportingMta: 'host name for Reporting-MTA (default: the bounce sender domain)',
  ruleSetName: 'receipt rule set name (default: <stack>-rule-set)',
  useExistingRuleSet: 'true: add the rule to the existing set ruleSetName instead of creating one',
  ruleName: 'receipt rule name (default: <stack>-bouncer)',
  activateRuleSet: 'true: make the rule set the active one on deploy',
  tlsPolicy: 'optional | require',
  retentionDays: 'days raw mail and audit items are kept (default 30)',
  invocationType: 'Event | RequestResponse (default Event)',
  alarmEmail: 'address subscribed to the alarm topic',
  rateGateKey: 'key of the shared SendBounce rate gate (default ses-sendbounce)',
  senderAuthPolicy: 'spf-pass | spf-or-dmarc-pass | none (default spf-pass)',
  senderBudgetPerAddress: 'bounces per sender address per window (default 5)',
  senderBudgetPerDomain: 'bounces per sender domain per window (default 50)',
  rulesCacheSeconds: 'seconds the functions cache rules (default 60)',
  logAddresses: 'true: log addresses in clear (default false: masked)',
  tracing: 'true: X-Ray active tracing with Powertools Tracer (default false: the Tracer is not loaded)',
  shadow: 'true: stack-wide shadow mode, every bounce and drop is only recorded (default false)',
  sendReservedConcurrency: 'reserved concurrency of the send function, or none (default 2)',
  receiveMemoryMb: 'memory of the receive function in MB, 128-10240 (default 1024; 100,000 rules need at least 512)',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

/**
 * Reads and validates the `ses-bouncer:*` context keys into construct props.
 * Unknown `ses-bouncer:` keys are refused, so a typo cannot silently fall back
 * to a default. Throws {@link ConfigError} naming the key and the bad value;
 * the construct then checks the values' shapes.
 */
export function readContext(node: Node): SesBouncerProps {
  const all = node.getAllContext() as Record<string, unknown>;
  for (const key of Object.keys(all)) {
    if (key.startsWith(CONTEXT_PREFIX) && !(key.slice(CONTEXT_PREFIX.length) in CONTEXT_KEYS)) {
      throw new ConfigError(
        `unknown context key "${key}"; known keys: ${Object.keys(CONTEXT_KEYS).map((k) => CONTEXT_PREFIX + k).join(', ')}`,
      );
    }
  }
  const raw = (key: ContextKey): unknown => {
    const value = all[CONTEXT_PREFIX + key];
    return value === '' || value === null ? undefined : value;
  };

  const recipients = list('recipients', raw('recipients'));
  if (recipients === undefined) throw missing('recipients', 'example.com');
  const bounceSender = text('bounceSender', raw('bounceSender'));
  if (bounceSender === undefined) throw missing('bounceSender', 'mailer-daemon@example.com');

  const invocationType = text('invocationType', raw('invocationType'));
  if (invocationType !== undefined) checkOneOf(`context ${CONTEXT_PREFIX}invocationType`, invocationType, ['Event', 'RequestResponse'] as const);
  const senderAuthPolicy = text('senderAuthPolicy', raw('senderAuthPolicy'));
  if (senderAuthPolicy !== undefined) checkOneOf(`context ${CONTEXT_PREFIX}senderAuthPolicy`, senderAuthPolicy, SENDER_AUTH_POLICIES);
  const tls = text('tlsPolicy', raw('tlsPolicy'));
  if (tls !== undefined) checkOneOf(`context ${CONTEXT_PREFIX}tlsPolicy`, tls, ['optional', 'require'] as const);
  const reserved = raw('sendReservedConcurrency');

  return {
    recipients,
    bounceSender,
    bounceSenderArn: text('bounceSenderArn', raw('bounceSenderArn')),
    reportingMta: text('reportingMta', raw('reportingMta')),
    ruleSetName: text('ruleSetName', raw('ruleSetName')),
    useExistingRuleSet: bool('useExistingRuleSet', raw('useExistingRuleSet')),
    ruleName: text('ruleName', raw('ruleName')),
    activateRuleSet: bool('activateRuleSet', raw('activateRuleSet')),
    tlsPolicy: tls === undefined ? undefined : tls === 'require' ? TlsPolicy.REQUIRE : TlsPolicy.OPTIONAL,
    retentionDays: int('retentionDays', raw('retentionDays')),
    invocationType: invocationType as InvocationType | undefined,
    alarmEmail: text('alarmEmail', raw('alarmEmail')),
    rateGateKey: text('rateGateKey', raw('rateGateKey')),
    senderAuthPolicy: senderAuthPolicy as SenderAuthPolicy | undefined,
    senderBudgetPerAddress: int('senderBudgetPerAddress', raw('senderBudgetPerAddress')),
    senderBudgetPerDomain: int('senderBudgetPerDomain', raw('senderBudgetPerDomain')),
    rulesCacheSeconds: int('rulesCacheSeconds', raw('rulesCacheSeconds')),
    logAddresses: bool('logAddresses', raw('logAddresses')),
    tracing: bool('tracing', raw('tracing')),
    shadow: bool('shadow', raw('shadow')),
    sendReservedConcurrency: reserved === 'none' ? null : int('sendReservedConcurrency', reserved),
    receiveMemorySize: int('receiveMemoryMb', raw('receiveMemoryMb')),
  };
}

/** A required key is not set: one line saying how to set it. */
function missing(key: ContextKey, example: string): ConfigError {
  return new ConfigError(`context ${CONTEXT_PREFIX}${key} is required: pass -c ${CONTEXT_PREFIX}${key}=${example} or set it in cdk.json`);
}

function bad(key: ContextKey, shape: string, value: unknown): ConfigError {
  return new ConfigError(`context ${CONTEXT_PREFIX}${key} must be ${shape} (got ${JSON.stringify(value)})`);
}

function text(key: ContextKey, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(key, 'a string', value);
  return value.trim();
}

function bool(key: ContextKey, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw bad(key, 'true or false', value);
}

function int(key: ContextKey, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  throw bad(key, 'a whole number', value);
}

/** A JSON array, a JSON array in a string (`-c key='["a","b"]'`) or a comma-separated string. */
function list(key: ContextKey, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  let items: unknown = value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        items = JSON.parse(trimmed);
      } catch (cause) {
        throw new ConfigError(`context ${CONTEXT_PREFIX}${key} is not a valid JSON list (got ${JSON.stringify(value)})`, { cause });
      }
    } else {
      items = trimmed.split(',').map((item) => item.trim()).filter((item) => item !== '');
    }
  }
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    throw bad(key, 'a list of strings', value);
  }
  return items.map((item: string) => item.trim());
}
