/**
 * How local mode turns one received message into the SES event and the
 * stored object, and the defaults it bounces with. `ses-bouncer test` builds
 * its dry run through the same two functions, so a message decides the same
 * way in both (test/cli/dry-run-equality.test.ts).
 */
import { findHeaderEnd } from '../../lambda/mail/header-block';
import { buildSesEvent, type BuiltSesEvent, type SmtpEnvelope, type VerdictOverrides } from './build-event';

/**
 * Bytes of the start of each message local mode keeps in memory and builds
 * the event from; the rest stays on disk (local/smtp/smtp-receiver.ts). The
 * header block unless it is larger, as the receive function's mail store
 * reads at most 1 MiB looking for its end.
 */
export const HEAD_BYTES = 1024 * 1024;

/** What local mode knows of a message when it builds its event. */
export interface ReceivedMessage {
  /** The first {@link HEAD_BYTES} bytes of the message (all of it when smaller). */
  readonly head: Buffer;
  /** Size of the whole message in bytes. */
  readonly size: number;
  readonly envelope: SmtpEnvelope;
  readonly receivedAt: Date;
  readonly client?: { readonly helo?: string; readonly address?: string };
}

export interface ReceivedEventOptions {
  /** The domain this "SES" receives for: names the receiving host. */
  readonly domain: string;
  readonly verdicts?: VerdictOverrides;
  readonly messageId?: string;
  /** @default 0 */
  readonly processingTimeMillis?: number;
}

/** The defaults local mode and the dry run bounce with, for a domain they receive for. */
export interface BounceDefaults {
  readonly receivingHost: string;
  /** Reporting-MTA of the DSN (the send function's REPORTING_MTA). */
  readonly reportingMta: string;
  readonly bounceSender: string;
}

/** One default Reporting-MTA and BounceSender for local mode and `ses-bouncer test`. */
export function bounceDefaults(domain: string): BounceDefaults {
  const receivingHost = `inbound-smtp.${domain}`;
  // The DSN names the host that received the message, as SES's own DSNs do.
  return { receivingHost, reportingMta: receivingHost, bounceSender: `mailer-daemon@${domain}` };
}

/** The message's head, cut at its last whole line when the header block runs past it. */
export function wholeLinesOfHead(mail: Pick<ReceivedMessage, 'head' | 'size'>): Buffer {
  const cut = mail.head.length < mail.size && findHeaderEnd(mail.head) < 0;
  return cut ? mail.head.subarray(0, mail.head.lastIndexOf(0x0a) + 1) : mail.head;
}

/**
 * The SES event for a received message, built from its first bytes (the mail
 * stays on disk): a header block longer than them is cut at its last whole
 * line, as no rule may see half a header.
 */
export function buildReceivedEvent(mail: ReceivedMessage, options: ReceivedEventOptions): BuiltSesEvent {
  return buildSesEvent(wholeLinesOfHead(mail), mail.envelope, {
    receivedAt: mail.receivedAt,
    ...(options.verdicts ? { verdicts: options.verdicts } : {}),
    ...(options.messageId ? { messageId: options.messageId } : {}),
    ...(mail.client ? { client: mail.client } : {}),
    receivingHost: bounceDefaults(options.domain).receivingHost,
    processingTimeMillis: options.processingTimeMillis ?? 0,
  });
}
