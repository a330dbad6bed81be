import type { SendBounceCommandInput, BouncedRecipientInfo } from '@aws-sdk/client-ses';
import { ValidationError } from '../../commons/errors';
import type { BounceJob } from '../../ports';
import type { DsnAction } from '../model';

/** The settings the request needs (a slice of the config). */
export interface BounceRequestSettings {
  /** Verified identity that signs the bounce. */
  readonly bounceSender: string;
  readonly bounceSenderArn?: string;
  /** Host name for `Reporting-MTA: dns; <name>`. */
  readonly reportingMta: string;
}

/** The job cannot become a valid SendBounce request: it is FAILED without a call. */
export class InvalidBounceRequestError extends ValidationError {}

/** Longest Explanation / DiagnosticCode we send. SES documents no limit; this keeps the DSN readable. */
export const MAX_TEXT_LENGTH = 2048;

// 7-bit ASCII only: SES does not support SMTPUTF8 addresses.
const ADDRESS = /^[!#-'*+\-/-9=?A-Z^-~]+(\.[!#-'*+\-/-9=?A-Z^-~]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// A bounce reports a failure: class 4 (delayed) or 5 (failed) only.
const BOUNCE_STATUS = /^[45]\.\d{1,3}\.\d{1,3}$/;
const DIAGNOSTIC_TYPE = /^[A-Za-z][A-Za-z0-9-]*;/;

/**
 * True when SendBounce can take the address as a bounced recipient: 7-bit
 * ASCII dot-atom local part and host name. SES does not support SMTPUTF8, so
 * `jürgen@example.com` (or a quoted local part) can be received but never
 * bounced; such recipients are recorded instead, and the rest still bounced.
 */
export function sesCanBounce(address: string): boolean {
  return ADDRESS.test(oneLine(address));
}

/** Replaces every run of CR/LF with one space and trims: header injection is impossible after this. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * Builds the SendBounce request for a job (pure). Decisions:
 * - Each recipient gets `RecipientDsnFields` and no `BounceType`: SES wants one
 *   of the two, and the DSN fields carry the rule's exact status and
 *   diagnostic; BounceType would let SES pick them.
 * - `Action` follows the status class: `delayed` for 4.x.x, `failed` for 5.x.x.
 * - `Explanation` is the first bounced recipient's rule explanation; when no
 *   rule has one it is left out and SES writes its own.
 * - A recipient listed twice is bounced once (the first decision wins).
 * - A recipient SES cannot take ({@link sesCanBounce}: non-ASCII, quoted) is
 *   left out, so one such address never stops the others' bounce; the
 *   receive side records and counts them. Only a job with none left fails.
 * - `FinalRecipient` is the bare address (SES adds `rfc822;`).
 *
 * Throws {@link InvalidBounceRequestError} naming the field and the bad value.
 */
export function buildBounceRequest(job: BounceJob, settings: BounceRequestSettings): SendBounceCommandInput {
  const originalMessageId = oneLine(job.messageId);
  if (originalMessageId === '') invalid('OriginalMessageId', job.messageId, 'must not be empty');
  const bounceSender = oneLine(settings.bounceSender);
  if (!ADDRESS.test(bounceSender)) invalid('BounceSender', settings.bounceSender, 'must be an ascii address like mailer-daemon@example.com');
  const reportingMta = oneLine(settings.reportingMta);
  if (!HOST.test(reportingMta)) invalid('MessageDsn.ReportingMta', settings.reportingMta, 'must be a host name like mx.example.com');
  const arrival = new Date(job.receivedAt);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(job.receivedAt) || Number.isNaN(arrival.getTime())) {
    invalid('MessageDsn.ArrivalDate', job.receivedAt, 'must be an ISO 8601 date-time');
  }
  if (job.recipients.length === 0) invalid('BouncedRecipientInfoList', '[]', 'needs at least one recipient');

  const seen = new Set<string>();
  const infos: BouncedRecipientInfo[] = [];
  let explanation: string | undefined;
  job.recipients.forEach((entry, i) => {
    const field = `BouncedRecipientInfoList.${i + 1}`;
    const recipient = oneLine(entry.recipient);
    if (!ADDRESS.test(recipient)) return;
    if (seen.has(recipient.toLowerCase())) return;
    seen.add(recipient.toLowerCase());
    const status = oneLine(entry.bounce.status);
    if (!BOUNCE_STATUS.test(status)) invalid(`${field}.Status`, entry.bounce.status, "must be an RFC 3463 status of class 4 or 5, like '5.1.1'");
    const action: DsnAction = status.startsWith('4.') ? 'delayed' : 'failed';
    const diagnostic = entry.bounce.diagnosticCode === undefined ? undefined : diagnosticCode(entry.bounce.diagnosticCode, `${field}.DiagnosticCode`);
    infos.push({
      Recipient: recipient,
      RecipientDsnFields: {
        Action: action,
        Status: status,
        FinalRecipient: recipient,
        ...(diagnostic === undefined ? {} : { DiagnosticCode: diagnostic }),
      },
    });
    if (explanation === undefined && entry.bounce.explanation !== undefined) {
      const text = oneLine(entry.bounce.explanation);
      if (text.length > MAX_TEXT_LENGTH) invalid('Explanation', `${text.slice(0, 40)}…`, `is longer than ${MAX_TEXT_LENGTH} characters`);
      if (text !== '') explanation = text;
    }
  });

  if (infos.length === 0) {
    invalid('BouncedRecipientInfoList', job.recipients.map((r) => r.recipient).join(', '), 'has no recipient SES can take (SES bounces only ascii addresses)');
  }

  return {
    OriginalMessageId: originalMessageId,
    BounceSender: bounceSender,
    ...(settings.bounceSenderArn ? { BounceSenderArn: oneLine(settings.bounceSenderArn) } : {}),
    ...(explanation === undefined ? {} : { Explanation: explanation }),
    MessageDsn: { ReportingMta: `dns; ${reportingMta}`, ArrivalDate: arrival },
    BouncedRecipientInfoList: infos,
  };
}

/** RFC 3464 wants `diagnostic-type; text`: a bare SMTP reply gets the `smtp;` type. */
function diagnosticCode(raw: string, field: string): string | undefined {
  const text = oneLine(raw);
  if (text === '') return undefined;
  const typed = DIAGNOSTIC_TYPE.test(text) ? text : `smtp; ${text}`;
  if (typed.length > MAX_TEXT_LENGTH) invalid(field, `${text.slice(0, 40)}…`, `is longer than ${MAX_TEXT_LENGTH} characters`);
  return typed;
}

function invalid(field: string, value: string, problem: string): never {
  throw new InvalidBounceRequestError(`invalid ${field} ${JSON.stringify(value)}: ${problem}`, field);
}
