/**
 * Renders the delivery status notification SES sends for an accepted
 * SendBounce call: an RFC 3464 `multipart/report; report-type=delivery-status`
 * message. Pure: the same input always gives the same bytes.
 */
import * as qp from 'nodemailer/lib/qp';
import { formatRfc5322Date } from '../../lambda/mail/date';
import { parseHeaderBlock } from '../../lambda/mail/header-block';
import type { BounceType, BouncedRecipientInfo, DsnAction, ExtensionField, SendBounceRequest } from './send-bounce-request';

const CRLF = '\r\n';

/** Reporting-MTA when the request has no MessageDsn (SES's documented default for us-east-1). */
export const DEFAULT_REPORTING_MTA = 'dns; inbound-smtp.us-east-1.amazonaws.com';

/** Domain of the DSN's own Message-ID. */
export const DEFAULT_MESSAGE_ID_DOMAIN = 'email.amazonses.com';

/** What a BounceType stands for in DSN terms. */
export const BOUNCE_TYPE_DSN: Readonly<Record<BounceType, { readonly action: DsnAction; readonly status: string }>> = {
  DoesNotExist: { action: 'failed', status: '5.1.1' },
  MessageTooLarge: { action: 'failed', status: '5.3.4' },
  ExceededQuota: { action: 'failed', status: '5.2.2' },
  ContentRejected: { action: 'failed', status: '5.7.1' },
  TemporaryFailure: { action: 'delayed', status: '4.0.0' },
  Undefined: { action: 'failed', status: '5.0.0' },
};

/** One per-recipient block of the report, fields resolved. */
export interface DsnRecipientBlock {
  readonly originalRecipient?: string;
  readonly finalRecipient: string;
  readonly action: DsnAction;
  readonly status: string;
  readonly remoteMta?: string;
  readonly diagnosticCode?: string;
  readonly lastAttemptDate?: string;
  readonly extensionFields: readonly ExtensionField[];
}

export interface DsnInput {
  /** The MessageId SendBounce returned; names the DSN's Message-ID. */
  readonly messageId: string;
  /** When the DSN was made (Date header). */
  readonly date: Date;
  readonly request: SendBounceRequest;
  /** Envelope sender of the original message; the To header. Omitted when unknown. */
  readonly to?: string;
  /** Header block of the original message, for the `text/rfc822-headers` part. Omitted when unknown. */
  readonly originalHeaders?: string;
  /** @default DEFAULT_REPORTING_MTA */
  readonly defaultReportingMta?: string;
  /** @default DEFAULT_MESSAGE_ID_DOMAIN */
  readonly messageIdDomain?: string;
}

/**
 * Resolves a recipient's block: RecipientDsnFields as given, or Action and
 * Status derived from the BounceType. Final-Recipient defaults to the recipient,
 * and Original-Recipient is named only when the two differ.
 */
export function recipientBlock(info: BouncedRecipientInfo): DsnRecipientBlock {
  const fields = info.recipientDsnFields;
  if (fields) {
    const finalRecipient = fields.finalRecipient ?? info.recipient;
    return {
      originalRecipient: finalRecipient.toLowerCase() === info.recipient.toLowerCase() ? undefined : info.recipient,
      finalRecipient,
      action: fields.action,
      status: fields.status,
      remoteMta: fields.remoteMta,
      diagnosticCode: fields.diagnosticCode,
      lastAttemptDate: fields.lastAttemptDate,
      extensionFields: fields.extensionFields,
    };
  }
  const derived = BOUNCE_TYPE_DSN[info.bounceType ?? 'Undefined'];
  return { finalRecipient: info.recipient, ...derived, extensionFields: [] };
}

/** An ISO 8601 wire date as RFC 5322 (DSN date fields use RFC 822 dates); left as is if unparseable. */
function dsnDate(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? formatRfc5322Date(new Date(ms)) : iso;
}

/**
 * Quoted-printable (RFC 2045 §6.7) of UTF-8 text, by nodemailer's encoder.
 * Line breaks in the text become hard CRLF breaks; long lines get soft breaks
 * at 76 characters.
 */
export function encodeQuotedPrintable(text: string): string {
  return qp.wrap(qp.encode(text.replace(/\r\n|\r|\n/g, CRLF)), 76);
}

/** Folds a header-style field at spaces so no line passes 78 characters where avoidable. */
function fold(line: string): string {
  if (line.length <= 78) return line;
  const words = line.split(' ');
  const lines: string[] = [];
  let current = words.shift() ?? '';
  for (const word of words) {
    if (current.length + 1 + word.length > 78 && current.trim() !== '') {
      lines.push(current);
      current = ` ${word}`;
    } else {
      current += ` ${word}`;
    }
  }
  lines.push(current);
  return lines.join(CRLF);
}

const field = (name: string, value: string) => fold(`${name}: ${value}`);

/** `rfc822; addr`, unless the value already names an address type. */
function typedAddress(address: string): string {
  return /^[A-Za-z0-9-]+;/.test(address) ? address : `rfc822; ${address}`;
}

/** `smtp; text`, unless the value already names a diagnostic type. */
function typedDiagnostic(code: string): string {
  return /^[A-Za-z0-9-]+;/.test(code) ? code : `smtp; ${code}`;
}

function generatedExplanation(blocks: readonly DsnRecipientBlock[]): string {
  const headings: Record<DsnAction, string> = {
    failed: 'Delivery to the following recipients failed permanently:',
    delayed: 'Delivery to the following recipients has been delayed:',
    delivered: 'Delivery to the following recipients succeeded:',
    relayed: 'The message was relayed to the following recipients:',
    expanded: 'The message was expanded for the following recipients:',
  };
  const lines = ['This is an automatically generated Delivery Status Notification.'];
  for (const action of Object.keys(headings) as DsnAction[]) {
    const mine = blocks.filter((b) => b.action === action);
    if (mine.length === 0) continue;
    lines.push('', headings[action], '');
    for (const b of mine) lines.push(`    ${b.finalRecipient} (${b.status})`);
  }
  return lines.join('\n');
}

function subject(blocks: readonly DsnRecipientBlock[]): string {
  if (blocks.some((b) => b.action === 'failed')) return 'Delivery Status Notification (Failure)';
  if (blocks.some((b) => b.action === 'delayed')) return 'Delivery Status Notification (Delay)';
  return 'Delivery Status Notification';
}

/** The original's Message-ID, from its raw header block (read by the one header-block parser), for In-Reply-To. */
function originalMessageIdHeader(headers: string | undefined): string | undefined {
  if (!headers) return undefined;
  const value = parseHeaderBlock(headers).find((h) => h.name.toLowerCase() === 'message-id')?.value;
  return value === undefined ? undefined : /^(<[^>\r\n]+>)/.exec(value)?.[1];
}

/** The header block with CRLF line ends, ending in exactly one CRLF, cut at the first blank line. */
function normaliseHeaderBlock(headers: string): string {
  const block = headers.split(/\r?\n\r?\n/)[0];
  return `${block.replace(/\r?\n/g, CRLF).replace(/(\r\n)+$/, '')}${CRLF}`;
}

function boundaryFor(messageId: string, parts: readonly string[]): string {
  const base = `=_ses-dsn_${messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  let boundary = base;
  for (let n = 1; parts.some((p) => p.includes(boundary)); n++) boundary = `${base}_${n}`;
  return boundary;
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

/** Renders the DSN as the bytes of an .eml file (CRLF line ends). */
export function renderDsn(input: DsnInput): string {
  const { request } = input;
  const blocks = request.bouncedRecipients.map(recipientBlock);

  const textPart = [
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    encodeQuotedPrintable(request.explanation ?? generatedExplanation(blocks)),
  ].join(CRLF);

  const perMessage = [field('Reporting-MTA', request.messageDsn?.reportingMta ?? input.defaultReportingMta ?? DEFAULT_REPORTING_MTA)];
  if (request.messageDsn?.arrivalDate) perMessage.push(field('Arrival-Date', dsnDate(request.messageDsn.arrivalDate)));
  for (const ext of request.messageDsn?.extensionFields ?? []) perMessage.push(field(ext.name, ext.value));
  const perRecipient = blocks.map((b) => {
    const lines: string[] = [];
    if (b.originalRecipient) lines.push(field('Original-Recipient', typedAddress(b.originalRecipient)));
    lines.push(field('Final-Recipient', typedAddress(b.finalRecipient)), field('Action', b.action), field('Status', b.status));
    if (b.remoteMta) lines.push(field('Remote-MTA', b.remoteMta));
    if (b.diagnosticCode) lines.push(field('Diagnostic-Code', typedDiagnostic(b.diagnosticCode)));
    if (b.lastAttemptDate) lines.push(field('Last-Attempt-Date', dsnDate(b.lastAttemptDate)));
    for (const ext of b.extensionFields) lines.push(field(ext.name, ext.value));
    return lines.join(CRLF);
  });
  const statusBody = [perMessage.join(CRLF), ...perRecipient].join(CRLF + CRLF) + CRLF;
  const statusPart = [
    'Content-Type: message/delivery-status',
    `Content-Transfer-Encoding: ${isAscii(statusBody) ? '7bit' : '8bit'}`,
    '',
    statusBody,
  ].join(CRLF);

  const parts = [textPart, statusPart];
  if (input.originalHeaders !== undefined) {
    const headerBlock = normaliseHeaderBlock(input.originalHeaders);
    parts.push(
      [
        'Content-Type: text/rfc822-headers',
        `Content-Transfer-Encoding: ${isAscii(headerBlock) ? '7bit' : '8bit'}`,
        '',
        headerBlock,
      ].join(CRLF),
    );
  }

  const boundary = boundaryFor(input.messageId, parts);
  const headers = [
    field('From', request.bounceSender),
    ...(input.to ? [field('To', input.to)] : []),
    field('Subject', subject(blocks)),
    field('Date', formatRfc5322Date(input.date)),
    field('Message-ID', `<${input.messageId}@${input.messageIdDomain ?? DEFAULT_MESSAGE_ID_DOMAIN}>`),
  ];
  const inReplyTo = originalMessageIdHeader(input.originalHeaders);
  if (inReplyTo) headers.push(field('In-Reply-To', inReplyTo), field('References', inReplyTo));
  headers.push(
    'MIME-Version: 1.0',
    'Auto-Submitted: auto-replied',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF} boundary="${boundary}"`,
  );

  // The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), so every part gets one.
  const body = parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join('');
  return `${headers.join(CRLF)}${CRLF}${CRLF}This is a MIME-formatted message.${CRLF}${CRLF}${body}--${boundary}--${CRLF}`;
}
