import { ConfigError } from '../commons/errors';
import * as z from '../commons/zod';

/**
 * Every setting of the functions, read once from the environment at cold start
 * and validated. Nothing else in `lambda/` reads `process.env`.
 *
 * The CDK construct sets these variables; local mode and tests pass their own
 * map to {@link loadConfig}.
 */
export interface Config {
  /** Verified SES identity that signs bounces (`BounceSender`). */
  readonly bounceSender: string;
  /** Sending-authorization ARN for the bounce sender, if any (`BounceSenderArn`). */
  readonly bounceSenderArn?: string;
  /** Host name used as `Reporting-MTA: dns; <name>` in the DSN. */
  readonly reportingMta: string;
  readonly rulesTable: string;
  /** Holds message claims/audit items, sender budget counters and the rate gate. */
  readonly stateTable: string;
  readonly bounceQueueUrl: string;
  readonly mailBucket: string;
  /** Key prefix of the S3 action; objects are `<prefix><messageId>`. */
  readonly mailPrefix: string;
  /** How long compiled rules are cached in memory. */
  readonly rulesCacheMs: number;
  readonly senderAuthPolicy: 'spf-pass' | 'spf-or-dmarc-pass' | 'none';
  readonly senderBudgetPerAddress: number;
  readonly senderBudgetPerDomain: number;
  /** Window of the sender budget counters. */
  readonly senderBudgetWindowMs: number;
  /** What happens to a recipient no rule matched. Only `deliver`: write a catch-all rule to bounce. */
  readonly defaultAction: 'deliver';
  /** TTL of audit items. */
  readonly auditTtlDays: number;
  /** Key of the rate gate item; stacks sharing one SES account and Region share one key. */
  readonly rateGateKey: string;
  /** Minimum spacing between SendBounce calls. */
  readonly rateGateIntervalMs: number;
  /**
   * Extra spacing after every slot: covers clock skew and the jitter between
   * a call's start and its arrival at SES (slack = margin − 20 ms tolerance).
   * Under a backlog the pace is one call per interval + margin.
   */
  readonly rateGateMarginMs: number;
  /** Longest a send job waits for its rate slot before it goes back to the queue. */
  readonly maxSlotWaitMs: number;
  /**
   * Longest a SendBounce call may take, connect included. Past it the call is
   * abandoned and its outcome is unknown (the job ends UNKNOWN, never resent).
   */
  readonly sesRequestTimeoutMs: number;
  /** Log addresses in clear (`true`) or masked (`false`, default). */
  readonly logAddresses: boolean;
  /**
   * X-Ray tracing with Powertools Tracer (`TRACING=true`; the construct's
   * `tracing` prop also turns on the function's active tracing). Off: the
   * Tracer is never loaded.
   */
  readonly tracing: boolean;
  /**
   * Stack-wide shadow mode (`SHADOW_MODE=true`; the construct's `shadow`
   * prop): every bounce and drop a rule decides is recorded as a shadow match
   * (audit state SHADOW) and nothing is bounced or dropped.
   */
  readonly shadowMode: boolean;
  /** Endpoint overrides for local mode and tests; unset on AWS. */
  readonly endpoints: {
    readonly dynamodb?: string;
    readonly s3?: string;
    readonly sqs?: string;
    readonly ses?: string;
  };
}

// zod/mini: checks are listed in .check(), wrappers are functions (z.optional, z._default, z.pipe).
const int = (min: number, max: number) =>
  z.pipe(
    z.pipe(z.string().check(z.regex(/^\d+$/, 'must be a whole number')), z.transform(Number)),
    z.number().check(z.int(), z.gte(min), z.lte(max)),
  );

const hostname = z
  .string()
  .check(z.regex(/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/, 'must be a host name like mx.example.com'));

const url = z.string().check(z.url('must be a URL like http://127.0.0.1:8000'));

const schema = z.object({
  BOUNCE_SENDER: z.string().check(z.regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be an address like mailer-daemon@example.com')),
  BOUNCE_SENDER_ARN: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/.+$/, 'must be an SES identity ARN'))),
  REPORTING_MTA: hostname,
  RULES_TABLE: z.string().check(z.minLength(3)),
  STATE_TABLE: z.string().check(z.minLength(3)),
  BOUNCE_QUEUE_URL: z.string().check(z.minLength(1)),
  MAIL_BUCKET: z.string().check(z.minLength(3)),
  MAIL_PREFIX: z._default(z.string(), ''),
  RULES_CACHE_SECONDS: z._default(int(0, 86400), 60),
  SENDER_AUTH_POLICY: z._default(z.enum(['spf-pass', 'spf-or-dmarc-pass', 'none']), 'spf-pass'),
  SENDER_BUDGET_PER_ADDRESS: z._default(int(0, 1_000_000), 5),
  SENDER_BUDGET_PER_DOMAIN: z._default(int(0, 1_000_000), 50),
  SENDER_BUDGET_WINDOW_SECONDS: z._default(int(1, 86400 * 7), 3600),
  DEFAULT_ACTION: z._default(z.literal('deliver'), 'deliver'),
  AUDIT_TTL_DAYS: z._default(int(1, 3650), 30),
  RATE_GATE_KEY: z._default(z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 letters, digits or . _ : -')), 'ses-sendbounce'),
  RATE_GATE_INTERVAL_MS: z._default(int(1000, 60000), 1000),
  // At least the gate's 20 ms lateness tolerance, or calls could start closer than the interval.
  RATE_GATE_MARGIN_MS: z._default(int(20, 5000), 40),
  MAX_SLOT_WAIT_MS: z._default(int(0, 600000), 20000),
  // At most 30 s: a job starts only with room for the call's worst case (send-wiring sendReserveMs).
  SES_REQUEST_TIMEOUT_MS: z._default(int(1000, 30000), 10000),
  LOG_ADDRESSES: z._default(z.enum(['true', 'false']), 'false'),
  TRACING: z._default(z.enum(['true', 'false']), 'false'),
  SHADOW_MODE: z._default(z.enum(['true', 'false']), 'false'),
  DYNAMODB_ENDPOINT: z.optional(url),
  S3_ENDPOINT: z.optional(url),
  SQS_ENDPOINT: z.optional(url),
  SES_ENDPOINT: z.optional(url),
});

/** Environment variable names, for the CDK construct and local mode. */
export type ConfigEnv = Partial<Record<keyof z.input<typeof schema>, string>>;

/**
 * Validates the environment and returns the config. Throws {@link ConfigError}
 * naming every bad setting and its value; empty strings count as unset.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const keys = Object.keys(schema.shape) as (keyof typeof schema.shape)[];
  const input: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const value = input[key];
      return value === undefined ? `${key} is required` : `${key} ${issue.message} (got ${JSON.stringify(value)})`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  return {
    bounceSender: c.BOUNCE_SENDER,
    bounceSenderArn: c.BOUNCE_SENDER_ARN,
    reportingMta: c.REPORTING_MTA,
    rulesTable: c.RULES_TABLE,
    stateTable: c.STATE_TABLE,
    bounceQueueUrl: c.BOUNCE_QUEUE_URL,
    mailBucket: c.MAIL_BUCKET,
    mailPrefix: c.MAIL_PREFIX,
    rulesCacheMs: c.RULES_CACHE_SECONDS * 1000,
    senderAuthPolicy: c.SENDER_AUTH_POLICY,
    senderBudgetPerAddress: c.SENDER_BUDGET_PER_ADDRESS,
    senderBudgetPerDomain: c.SENDER_BUDGET_PER_DOMAIN,
    senderBudgetWindowMs: c.SENDER_BUDGET_WINDOW_SECONDS * 1000,
    defaultAction: c.DEFAULT_ACTION,
    auditTtlDays: c.AUDIT_TTL_DAYS,
    rateGateKey: c.RATE_GATE_KEY,
    rateGateIntervalMs: c.RATE_GATE_INTERVAL_MS,
    rateGateMarginMs: c.RATE_GATE_MARGIN_MS,
    maxSlotWaitMs: c.MAX_SLOT_WAIT_MS,
    sesRequestTimeoutMs: c.SES_REQUEST_TIMEOUT_MS,
    logAddresses: c.LOG_ADDRESSES === 'true',
    tracing: c.TRACING === 'true',
    shadowMode: c.SHADOW_MODE === 'true',
    endpoints: { dynamodb: c.DYNAMODB_ENDPOINT, s3: c.S3_ENDPOINT, sqs: c.SQS_ENDPOINT, ses: c.SES_ENDPOINT },
  };
}
