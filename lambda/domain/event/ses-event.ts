import { ValidationError } from '../../commons/errors';
import * as z from '../../commons/zod';
import { VERDICT_NAMES, VERDICT_STATUSES, type MailHeader, type MessageFacts, type VerdictStatus, type Verdicts } from '../model';

/**
 * Schema of the event that an SES receipt rule's Lambda action sends
 * (PLATFORM.md). It accepts every real variant: any number of records,
 * DISABLED and PROCESSING_FAILED verdicts, a missing or oddly cased
 * `dmarcPolicy`, both invocation types, partial `commonHeaders`, truncated
 * headers. Unknown fields pass through untouched so that a new SES field
 * never turns mail into dead letters.
 *
 * A verdict object that is absent altogether is read as DISABLED: that is
 * what SES reports when the scan did not run, and the guard already treats
 * DISABLED as "not a PASS" (no SPF pass → no bounce under the default policy)
 * and "not flagged" (spam/virus), which is the only safe reading of a
 * verdict that was never given.
 */

/** Longest `mail.messageId` accepted. */
export const MAX_MESSAGE_ID_LENGTH = 512;

const verdictStatus = z.pipe(
  z.pipe(
    z.string(),
    z.transform((s: string) => s.toUpperCase()),
  ),
  z.enum(VERDICT_STATUSES as [VerdictStatus, ...VerdictStatus[]], { error: `must be one of ${VERDICT_STATUSES.join(', ')}` }),
);

const verdict = z.looseObject({ status: verdictStatus });

const header = z.looseObject({ name: z.string(), value: z.string() });

const strings = () => z.optional(z.array(z.string()));

const commonHeaders = z.looseObject({
  returnPath: z.optional(z.string()),
  from: strings(),
  sender: strings(),
  replyTo: strings(),
  to: strings(),
  cc: strings(),
  bcc: strings(),
  date: z.optional(z.string()),
  messageId: z.optional(z.string()),
  subject: z.optional(z.string()),
});

const mail = z.looseObject({
  timestamp: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }),
  source: z.string(),
  // SES ids are about 60 characters; the id becomes an S3 key (1,024 bytes at most) and a
  // DynamoDB key (2,048): a longer one could never be read or claimed, only retried.
  messageId: z
    .string()
    .check(z.minLength(1, 'must not be empty'), z.maxLength(MAX_MESSAGE_ID_LENGTH, `must be at most ${MAX_MESSAGE_ID_LENGTH} characters`)),
  destination: strings(),
  headersTruncated: z.optional(z.boolean()),
  headers: z.optional(z.array(header)),
  commonHeaders: z.optional(commonHeaders),
});

const action = z.looseObject({
  type: z.string(),
  functionArn: z.optional(z.string()),
  invocationType: z.optional(z.enum(['Event', 'RequestResponse'], { error: 'must be Event or RequestResponse' })),
});

const receipt = z.looseObject({
  timestamp: z.optional(z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' })),
  processingTimeMillis: z.optional(z.number()),
  recipients: z.array(z.string().check(z.minLength(1, 'must not be empty'))).check(z.minLength(1, 'must list at least one recipient')),
  spamVerdict: z.optional(verdict),
  virusVerdict: z.optional(verdict),
  spfVerdict: z.optional(verdict),
  dkimVerdict: z.optional(verdict),
  dmarcVerdict: z.optional(verdict),
  dmarcPolicy: z.optional(z.string()),
  action: z.optional(action),
});

const record = z.looseObject({
  eventSource: z.literal('aws:ses', { error: 'must be "aws:ses"' }),
  eventVersion: z.optional(z.string()),
  ses: z.looseObject({ mail, receipt }),
});

const sesEventSchema = z.looseObject({
  Records: z.array(record).check(z.minLength(1, 'must hold at least one record')),
});

/** A validated SES receipt-rule event. */
export type SesEvent = z.output<typeof sesEventSchema>;
/** One validated record of an SES event. */
export type SesRecord = SesEvent['Records'][number];

/** `Records[0].ses.mail.messageId` form, for messages; the dotted form goes in `ValidationError.field`. */
function displayPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'event' : out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Validates an SES receipt-rule event. Throws {@link ValidationError} whose
 * message names each bad field (e.g. `Records[0].ses.mail.messageId is
 * required`) and whose `field` is the first one in dotted form.
 */
export function parseSesEvent(input: unknown): SesEvent {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError(`invalid ses event: event must be an object (got ${quote(input)})`, '');
  }
  const parsed = sesEventSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5);
  const problems = issues.map((issue) => {
    const value = valueAt(input, issue.path);
    const where = displayPath(issue.path);
    if (issue.code === 'invalid_type') {
      return value === undefined ? `${where} is required` : `${where} must be ${String(issue.expected)} (got ${quote(value)})`;
    }
    // Some zod messages already name the expectation; add the bad value once.
    return `${where} ${issue.message.replace(/^Invalid input: /, '')} (got ${quote(value)})`;
  });
  const more = parsed.error.issues.length > issues.length ? ` (and ${parsed.error.issues.length - issues.length} more)` : '';
  throw new ValidationError(`invalid ses event: ${problems.join('; ')}${more}`, issues[0].path.map(String).join('.'), {
    cause: parsed.error,
  });
}

/** The envelope sender, or '' for the null reverse-path (`<>`, empty). */
export function envelopeSender(source: string): string {
  const trimmed = source.trim();
  const bare = trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1).trim() : trimmed;
  return bare;
}

/** The record's invocation type; SES's default is `Event`. */
export function invocationTypeOf(rec: SesRecord): 'Event' | 'RequestResponse' {
  return rec.ses.receipt.action?.invocationType ?? 'Event';
}

/**
 * Maps one validated record to the facts the rules and the guard read:
 * envelope recipients (`receipt.recipients`, not `mail.destination`), the
 * envelope sender ('' for `<>`), verdicts (absent → DISABLED), the lower-cased
 * DMARC policy and the event's copy of the headers.
 */
export function toMessageFacts(rec: SesRecord): MessageFacts {
  const { mail: m, receipt: r } = rec.ses;
  const given: Record<keyof Verdicts, { status: VerdictStatus } | undefined> = {
    spam: r.spamVerdict,
    virus: r.virusVerdict,
    spf: r.spfVerdict,
    dkim: r.dkimVerdict,
    dmarc: r.dmarcVerdict,
  };
  const verdicts = Object.fromEntries(VERDICT_NAMES.map((name) => [name, given[name]?.status ?? 'DISABLED'])) as Verdicts;
  const headers: MailHeader[] = (m.headers ?? []).map((h) => ({ name: h.name, value: h.value }));
  const dmarcPolicy = r.dmarcPolicy?.trim().toLowerCase();
  return {
    messageId: m.messageId,
    receivedAt: m.timestamp,
    sender: envelopeSender(m.source),
    recipients: [...r.recipients],
    verdicts,
    ...(dmarcPolicy ? { dmarcPolicy } : {}),
    headers,
    // Without a headers array there is nothing complete to trust.
    headersComplete: m.headers !== undefined && m.headersTruncated !== true,
  };
}
