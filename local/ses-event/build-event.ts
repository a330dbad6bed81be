/**
 * Builds the event an SES receipt rule's Lambda action delivers, from a raw
 * RFC 5322 message and its SMTP envelope, the way SES builds it (PLATFORM.md,
 * test/fixtures/ses/lambda-action-event.json). Local mode feeds the result to
 * the same receive handler that runs on AWS, so the shape must match exactly.
 *
 * Pure apart from {@link newSesMessageId}'s randomness: no I/O, no clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ValidationError } from '../../lambda/commons/errors';
import { addressesIn, formatMailbox, parseAddressList } from '../../lambda/mail/address-list';
import { formatRfc5322Date } from '../../lambda/mail/date';
import { decodeEncodedWords } from '../../lambda/mail/encoded-words';
import { parseHeaderFields, splitHeaderBlock } from '../../lambda/mail/header-block';
import {
  VERDICT_NAMES,
  VERDICT_STATUSES,
  type MailHeader,
  type VerdictName,
  type VerdictStatus,
  type Verdicts,
} from '../../lambda/domain/model';

/** The SMTP envelope as the receiver saw it. */
export interface SmtpEnvelope {
  /** MAIL FROM address; empty string for the null reverse-path `<>`. */
  readonly mailFrom: string;
  /** RCPT TO addresses, in the order accepted. */
  readonly rcptTo: readonly string[];
}

/** SES's `mail.commonHeaders`: each field only when the message has it. */
export interface SesCommonHeaders {
  returnPath?: string;
  from?: string[];
  sender?: string[];
  replyTo?: string[];
  date?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  messageId?: string;
  subject?: string;
}

export interface SesMail {
  timestamp: string;
  source: string;
  messageId: string;
  destination: string[];
  headersTruncated: boolean;
  headers: MailHeader[];
  commonHeaders: SesCommonHeaders;
}

export interface SesReceipt {
  timestamp: string;
  processingTimeMillis: number;
  recipients: string[];
  spamVerdict: { status: VerdictStatus };
  virusVerdict: { status: VerdictStatus };
  spfVerdict: { status: VerdictStatus };
  dkimVerdict: { status: VerdictStatus };
  dmarcVerdict: { status: VerdictStatus };
  /** Only when the DMARC verdict is FAIL. */
  dmarcPolicy?: string;
  action: { type: 'Lambda'; functionArn: string; invocationType: 'Event' | 'RequestResponse' };
}

/** The receipt-rule Lambda event: one record per received message. */
export interface SesReceiptEvent {
  Records: Array<{
    eventSource: 'aws:ses';
    eventVersion: '1.0';
    ses: { mail: SesMail; receipt: SesReceipt };
  }>;
}

/** Verdict overrides, from the CLI flag or the simulate header. */
export interface VerdictOverrides {
  readonly verdicts: Partial<Verdicts>;
  /** DMARC policy to report when the DMARC verdict is FAIL. */
  readonly dmarcPolicy?: string;
}

export interface BuildSesEventOptions {
  /** @default a fresh id from {@link newSesMessageId} */
  readonly messageId?: string;
  /** Arrival time: `mail.timestamp` and `receipt.timestamp`. */
  readonly receivedAt: Date;
  /**
   * Defaults for the verdicts; a {@link SIMULATE_HEADER} in the message
   * overrides them per message. @default every verdict PASS
   */
  readonly verdicts?: VerdictOverrides;
  /** @default 'Event' (SES's default and the recommended one) */
  readonly invocationType?: 'Event' | 'RequestResponse';
  /** @default a placeholder ARN of a local function */
  readonly functionArn?: string;
  /**
   * Envelope recipients that matched the receipt rule (`receipt.recipients`).
   * @default every RCPT TO address
   */
  readonly recipients?: readonly string[];
  /** @default 0 */
  readonly processingTimeMillis?: number;
  /** Host name in the `Received` line SES adds. @default 'inbound-smtp.local' */
  readonly receivingHost?: string;
  /** HELO name and IP of the connecting client, for `Received`. */
  readonly client?: { readonly helo?: string; readonly address?: string };
}

export interface BuiltSesEvent {
  readonly event: SesReceiptEvent;
  readonly messageId: string;
  /**
   * The message as the S3 action stores it: SES's own header lines
   * (Return-Path, Received, verdicts, authentication results) prepended to the
   * raw message.
   */
  readonly stored: Buffer;
  /**
   * Only the header lines SES prepends (`stored` is these followed by the
   * raw message), for a caller that streams the message from disk and
   * passed only its first bytes as `raw`.
   */
  readonly added: Buffer;
  /** The verdicts the event carries, after defaults and the simulate header. */
  readonly verdicts: Verdicts;
}

/**
 * Test header that simulates SES's verdicts for one message, e.g.
 * `X-Ses-Bouncer-Simulate: spf=FAIL, spam=FAIL`. Read case-insensitively, left
 * in the message. Keys: spam, virus, spf, dkim, dmarc, dmarcPolicy.
 */
export const SIMULATE_HEADER = 'X-Ses-Bouncer-Simulate';

/** SES cuts the event's headers past this size and sets `headersTruncated`. */
export const EVENT_HEADERS_LIMIT_BYTES = 10 * 1024;

const DEFAULT_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:ses-bouncer-local-receive';

/**
 * A message id shaped like SES's: lower-case hex and dashes, 60 characters,
 * unique per call.
 */
export function newSesMessageId(): string {
  return `${randomBytes(8).toString('hex')}-${randomUUID()}-000000`;
}

/**
 * Parses `spf=FAIL, spam=gray, dmarcPolicy=reject` (separated by commas,
 * semicolons or spaces; keys and values case-insensitive). Throws
 * {@link ValidationError} on an unknown key or status.
 */
export function parseVerdictSpec(spec: string): VerdictOverrides {
  const verdicts: Partial<Record<VerdictName, VerdictStatus>> = {};
  let dmarcPolicy: string | undefined;
  for (const part of spec.split(/[,;\s]+/).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ValidationError(`verdict setting must look like name=STATUS (got "${part}")`, 'verdicts');
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'dmarcpolicy') {
      if (!/^[a-z]+$/i.test(value)) throw new ValidationError(`dmarc policy must be a word like reject (got "${value}")`, 'verdicts');
      dmarcPolicy = value.toLowerCase();
      continue;
    }
    const name = key.replace(/verdict$/, '') as VerdictName;
    if (!VERDICT_NAMES.includes(name)) {
      throw new ValidationError(`unknown verdict "${part.slice(0, eq)}": use one of ${VERDICT_NAMES.join(', ')}, dmarcPolicy`, 'verdicts');
    }
    const status = value.toUpperCase() as VerdictStatus;
    if (!VERDICT_STATUSES.includes(status)) {
      throw new ValidationError(`unknown verdict status "${value}" for ${name}: use one of ${VERDICT_STATUSES.join(', ')}`, 'verdicts');
    }
    verdicts[name] = status;
  }
  return { verdicts, dmarcPolicy };
}

function resolveVerdicts(
  defaults: VerdictOverrides | undefined,
  simulate: VerdictOverrides | undefined,
): { verdicts: Verdicts; dmarcPolicy?: string } {
  const base: Record<VerdictName, VerdictStatus> = { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' };
  const verdicts = { ...base, ...defaults?.verdicts, ...simulate?.verdicts };
  const policy = simulate?.dmarcPolicy ?? defaults?.dmarcPolicy ?? 'none';
  return { verdicts, dmarcPolicy: verdicts.dmarc === 'FAIL' ? policy : undefined };
}

/** The header lines SES prepends before storing and before building the event. */
function sesHeaderLines(
  envelope: SmtpEnvelope,
  verdicts: Verdicts,
  fromDomain: string | undefined,
  options: BuildSesEventOptions,
  messageId: string,
): string[] {
  const host = options.receivingHost ?? 'inbound-smtp.local';
  const helo = options.client?.helo ?? 'localhost';
  const ip = options.client?.address ?? '127.0.0.1';
  const senderDomain = envelope.mailFrom.includes('@') ? envelope.mailFrom.slice(envelope.mailFrom.lastIndexOf('@') + 1) : helo;
  const lower = (s: VerdictStatus) => s.toLowerCase();
  const forWhom = envelope.rcptTo.length === 1 ? ` for ${envelope.rcptTo[0]}` : '';
  const lines = [
    `Return-Path: <${envelope.mailFrom}>`,
    `Received: from ${helo} (${helo} [${ip}]) by ${host} with SMTP id ${messageId.replace(/-/g, '').slice(0, 40)}${forWhom}; ${formatRfc5322Date(options.receivedAt)}`,
  ];
  // SES adds these only when scanning is on (DISABLED means it is off).
  if (verdicts.spam !== 'DISABLED') lines.push(`X-SES-Spam-Verdict: ${verdicts.spam}`);
  if (verdicts.virus !== 'DISABLED') lines.push(`X-SES-Virus-Verdict: ${verdicts.virus}`);
  if (verdicts.spf !== 'DISABLED') {
    lines.push(`Received-SPF: ${lower(verdicts.spf)} (spfCheck: simulated by ses-bouncer local mode) client-ip=${ip}; envelope-from=${envelope.mailFrom}; helo=${helo};`);
  }
  const results = [`spf=${lower(verdicts.spf)} smtp.mailfrom=${senderDomain}`, `dkim=${lower(verdicts.dkim)}`];
  results.push(`dmarc=${lower(verdicts.dmarc)}${fromDomain ? ` header.from=${fromDomain}` : ''}`);
  lines.push(`Authentication-Results: ${host}; ${results.join('; ')};`);
  return lines;
}

function commonHeadersOf(headers: readonly MailHeader[], returnPath: string): SesCommonHeaders {
  const first = (name: string) => headers.find((h) => h.name.toLowerCase() === name)?.value;
  const list = (name: string) => {
    const values = headers.filter((h) => h.name.toLowerCase() === name).flatMap((h) =>
        // SES writes each mailbox back with its display name decoded.
        parseAddressList(h.value).map((m) => formatMailbox({ name: decodeEncodedWords(m.name), address: m.address })),
      );
    return values.length > 0 ? values : undefined;
  };
  const common: SesCommonHeaders = { returnPath };
  const from = list('from');
  if (from) common.from = from;
  const sender = list('sender');
  if (sender) common.sender = sender;
  const replyTo = list('reply-to');
  if (replyTo) common.replyTo = replyTo;
  const date = first('date');
  if (date !== undefined) common.date = date;
  const to = list('to');
  if (to) common.to = to;
  const cc = list('cc');
  if (cc) common.cc = cc;
  const bcc = list('bcc');
  if (bcc) common.bcc = bcc;
  const messageId = first('message-id');
  if (messageId !== undefined) common.messageId = messageId;
  const subject = first('subject');
  if (subject !== undefined) common.subject = decodeEncodedWords(subject);
  return common;
}

/**
 * Builds the SES receipt-rule Lambda event for one received message, and the
 * bytes the S3 action would store for it.
 *
 * @throws ValidationError when the message's {@link SIMULATE_HEADER} is malformed
 */
export function buildSesEvent(raw: Buffer, envelope: SmtpEnvelope, options: BuildSesEventOptions): BuiltSesEvent {
  const messageId = options.messageId ?? newSesMessageId();
  const { headerBlock } = splitHeaderBlock(raw);
  const original = parseHeaderFields(headerBlock);
  const originalHeaders = original.map((f) => f.header);

  const simulateValue = originalHeaders.find((h) => h.name.toLowerCase() === SIMULATE_HEADER.toLowerCase())?.value;
  const simulate = simulateValue === undefined ? undefined : parseVerdictSpec(simulateValue);
  const { verdicts, dmarcPolicy } = resolveVerdicts(options.verdicts, simulate);

  const fromValue = originalHeaders.find((h) => h.name.toLowerCase() === 'from')?.value;
  const fromAddress = fromValue === undefined ? undefined : addressesIn(fromValue)[0];
  const fromDomain = fromAddress?.slice(fromAddress.lastIndexOf('@') + 1);

  const added = sesHeaderLines(envelope, verdicts, fromDomain, options, messageId);
  const addedFields = parseHeaderFields(added.join('\r\n'));
  const eol = raw.includes('\r\n') || headerBlock === '' ? '\r\n' : '\n';
  const addedBytes = Buffer.from(added.join(eol) + eol);
  const stored = Buffer.concat([addedBytes, raw]);

  const all = [...addedFields, ...original];
  const headers: MailHeader[] = [];
  let bytes = 0;
  let truncated = false;
  for (const field of all) {
    bytes += field.rawBytes;
    if (bytes > EVENT_HEADERS_LIMIT_BYTES) {
      truncated = true;
      break;
    }
    headers.push(field.header);
  }

  const allHeaders = all.map((f) => f.header);
  const destination = allHeaders
    .filter((h) => ['to', 'cc'].includes(h.name.toLowerCase()))
    .flatMap((h) => addressesIn(h.value));

  const timestamp = options.receivedAt.toISOString();
  const receipt: SesReceipt = {
    timestamp,
    processingTimeMillis: options.processingTimeMillis ?? 0,
    recipients: [...(options.recipients ?? envelope.rcptTo)],
    spamVerdict: { status: verdicts.spam },
    virusVerdict: { status: verdicts.virus },
    spfVerdict: { status: verdicts.spf },
    dkimVerdict: { status: verdicts.dkim },
    dmarcVerdict: { status: verdicts.dmarc },
    ...(dmarcPolicy !== undefined ? { dmarcPolicy } : {}),
    action: {
      type: 'Lambda',
      functionArn: options.functionArn ?? DEFAULT_FUNCTION_ARN,
      invocationType: options.invocationType ?? 'Event',
    },
  };
  const mail: SesMail = {
    timestamp,
    source: envelope.mailFrom,
    messageId,
    destination,
    headersTruncated: truncated,
    headers,
    commonHeaders: commonHeadersOf(allHeaders, envelope.mailFrom),
  };
  return {
    event: { Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail, receipt } }] },
    messageId,
    stored,
    added: addedBytes,
    verdicts,
  };
}
