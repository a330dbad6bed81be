/**
 * The receiving side of SES, on loopback: an SMTP server that refuses
 * recipients outside the receiving domains at RCPT TO (as SES does for
 * recipients no receipt rule matches), accepts the null reverse-path, and
 * hands each accepted message to a callback that plays the receipt rule's
 * actions (S3 store, then the Lambda).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { ValidationError } from '../../lambda/commons/errors';
import type { SmtpEnvelope } from '../ses-event/build-event';

/** SES's largest inbound message through the S3 action (PLATFORM.md). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** Default SMTP port of local mode. */
export const DEFAULT_SMTP_PORT = 2525;

/** One message accepted over SMTP. */
export interface ReceivedMail {
  readonly raw: Buffer;
  readonly envelope: SmtpEnvelope;
  /** End of DATA. */
  readonly receivedAt: Date;
  readonly client: { readonly helo: string; readonly address: string };
}

export interface SmtpReceiverOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default {@link DEFAULT_SMTP_PORT} */
  readonly port?: number;
  /** Whether a RCPT TO address is one this "SES" receives for; see {@link recipientMatcher}. */
  readonly accepts: (address: string) => boolean;
  /**
   * Runs the receipt rule for one message. Resolves with the SES message id
   * (answered in the 250 reply). A {@link ValidationError} (e.g. a malformed
   * simulate header) is answered 554; anything else 451, so the client retries.
   */
  readonly onMessage: (mail: ReceivedMail) => Promise<{ messageId: string }>;
  /** @default {@link SES_MAX_MESSAGE_BYTES} */
  readonly maxMessageBytes?: number;
}

export interface SmtpReceiver {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** SMTP errors carry their reply code for smtp-server. */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * Builds the RCPT TO check from SES-style recipient conditions: an address
 * (`user@example.com`) matches itself, a domain (`example.com`) every address
 * at it, and `.example.com` every address at its subdomains. Case-insensitive.
 */
export function recipientMatcher(receiving: readonly string[]): (address: string) => boolean {
  const entries = receiving.map((r) => r.trim().toLowerCase()).filter(Boolean);
  return (address) => {
    const a = address.trim().toLowerCase();
    const at = a.lastIndexOf('@');
    if (at <= 0) return false;
    const domain = a.slice(at + 1);
    return entries.some((e) => {
      if (e.includes('@')) return e === a;
      if (e.startsWith('.')) return domain.endsWith(e);
      return domain === e;
    });
  };
}

async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the SMTP server and resolves once it listens. */
export async function startSmtpReceiver(options: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBytes = options.maxMessageBytes ?? SES_MAX_MESSAGE_BYTES;
  const server = new SMTPServer({
    name: 'inbound-smtp.local',
    banner: 'ses-bouncer local mode (SES receiving stand-in)',
    size: maxBytes,
    authOptional: true,
    // Loopback only, like a test MTA: no TLS, no authentication.
    disabledCommands: ['STARTTLS', 'AUTH'],
    // Replies below carry their own enhanced status codes.
    hideENHANCEDSTATUSCODES: true,
    logger: false,
    // Ctrl-C must not wait 30 s for an idle client to hang up.
    closeTimeout: 1000,
    onRcptTo(address, _session, callback) {
      if (options.accepts(address.address)) return callback();
      return callback(smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected`));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) {
            throw smtpError(552, `5.3.4 message exceeds the ${maxBytes}-byte limit`);
          }
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const envelope: SmtpEnvelope = { mailFrom, rcptTo: session.envelope.rcptTo.map((r) => r.address) };
          const client = { helo: session.hostNameAppearsAs || 'localhost', address: session.remoteAddress || '127.0.0.1' };
          return options.onMessage({ raw, envelope, receivedAt: new Date(), client });
        })
        .then(
          ({ messageId }) => callback(null, `2.0.0 Ok ${messageId}`),
          (error: unknown) => {
            if (error instanceof Error && 'responseCode' in error) return callback(error);
            if (error instanceof ValidationError) return callback(smtpError(554, `5.6.0 ${error.message}`));
            const reason = error instanceof Error ? error.message : String(error);
            return callback(smtpError(451, `4.3.0 local processing failed: ${reason}`));
          },
        );
    },
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options.port ?? DEFAULT_SMTP_PORT, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Connection-level errors (a client hanging up) must not crash local mode.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;
  return {
    host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
