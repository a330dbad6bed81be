/**
 * The receiving side of SES, on loopback: an SMTP server that refuses
 * recipients outside the receiving domains at RCPT TO (as SES does for
 * recipients no receipt rule matches), accepts the null reverse-path, and
 * hands each accepted message to a callback that plays the receipt rule's
 * actions (S3 store, then the Lambda).
 *
 * DATA is streamed to a spool file as it arrives, never gathered in memory:
 * a 40 MB message costs one socket buffer, not 40 MB, and a message past the
 * size limit stops being written at the limit and is drained to the final
 * dot (SMTP answers only then) before the 552.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { ValidationError } from '../../lambda/commons/errors';
import type { SmtpEnvelope } from '../ses-event/build-event';
import { HEAD_BYTES } from '../ses-event/received-mail';

/** SES's largest inbound message through the S3 action (PLATFORM.md). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** Default SMTP port of local mode. */
export const DEFAULT_SMTP_PORT = 2525;

/** Bytes of the start of each message kept in memory ({@link ReceivedMail.head}); the dry run reads as many. */
export { HEAD_BYTES };

/** One message accepted over SMTP. */
export interface ReceivedMail {
  /** Path of the whole message (after dot-unstuffing) on disk; deleted once `onMessage` settles. */
  readonly file: string;
  /** Size of the message in bytes. */
  readonly size: number;
  /** The first {@link HEAD_BYTES} bytes of the message (all of it when smaller). */
  readonly head: Buffer;
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
  /** Where DATA is spooled. @default a temp directory, removed on close */
  readonly spoolDir?: string;
}

export interface SmtpReceiver {
  readonly host: string;
  readonly port: number;
  /** Where messages are spooled while `onMessage` runs. */
  readonly spoolDir: string;
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

/** What spooling one DATA stream gave. */
interface Spooled {
  readonly size: number;
  readonly head: Buffer;
  /** True when the message went past the limit: nothing past it was written, the file is gone. */
  readonly exceeded: boolean;
  /** Set when the spool file could not be written; the stream was still drained. */
  readonly writeError?: Error;
}

/**
 * Writes the DATA stream to `file` with back-pressure (the socket is read no
 * faster than the disk takes it) and keeps only the first {@link HEAD_BYTES}.
 * Past `maxBytes` it stops writing, removes the file and reads the rest of
 * the stream only to drop it: the client may send 300 MB, the receiver holds
 * one chunk at a time.
 */
async function spool(stream: SMTPServerDataStream, file: string, maxBytes: number): Promise<Spooled> {
  let out: WriteStream | undefined = createWriteStream(file, { flags: 'wx' });
  let writeError: Error | undefined;
  out.on('error', (error) => (writeError ??= error));
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  let exceeded = false;
  const discard = async () => {
    const closing = out;
    out = undefined;
    if (!closing) return;
    closing.destroy();
    await unlink(file).catch(() => undefined);
  };
  for await (const data of stream) {
    const chunk = data as Buffer;
    size += chunk.length;
    if (out === undefined) continue;
    if (size > maxBytes || stream.sizeExceeded) {
      exceeded = true;
      await discard();
      continue;
    }
    if (headBytes < HEAD_BYTES) {
      // Copied: a view would keep smtp-server's whole chunk alive with it.
      const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - headBytes));
      head.push(part);
      headBytes += part.length;
    }
    if (writeError) {
      await discard();
      continue;
    }
    if (!out.write(chunk)) await waitForDrain(out);
  }
  if (out !== undefined && !writeError) {
    const finishing = out;
    await new Promise<void>((resolve) => {
      finishing.once('close', resolve);
      finishing.end();
    });
  }
  if (writeError) await discard();
  return { size, head: Buffer.concat(head), exceeded: exceeded || stream.sizeExceeded, ...(writeError ? { writeError } : {}) };
}

/** Resolves when the file stream drains, or when it fails (the error is kept by its listener). */
function waitForDrain(out: WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done).once('error', done).once('close', done);
  });
}

/** Starts the SMTP server and resolves once it listens. */
export async function startSmtpReceiver(options: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBytes = options.maxMessageBytes ?? SES_MAX_MESSAGE_BYTES;
  const ownSpool = options.spoolDir === undefined;
  const spoolDir = options.spoolDir ?? (await mkdtemp(join(tmpdir(), 'ses-bouncer-smtp-')));
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
      const file = join(spoolDir, `${randomUUID()}.eml`);
      spool(stream, file, maxBytes)
        .then(async ({ size, head, exceeded, writeError }) => {
          if (exceeded) throw smtpError(552, `5.3.4 message exceeds the ${maxBytes}-byte limit`);
          if (writeError) throw smtpError(451, `4.3.0 could not spool the message: ${writeError.message}`);
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const envelope: SmtpEnvelope = { mailFrom, rcptTo: session.envelope.rcptTo.map((r) => r.address) };
          const client = { helo: session.hostNameAppearsAs || 'localhost', address: session.remoteAddress || '127.0.0.1' };
          try {
            return await options.onMessage({ file, size, head, envelope, receivedAt: new Date(), client });
          } finally {
            await unlink(file).catch(() => undefined);
          }
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
    spoolDir,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownSpool) await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
