/**
 * Contract of the SES stand-in: an HTTP server speaking SES's Query protocol
 * for SendBounce, used by tests and by local mode.
 */

/** One SendBounce call as the stand-in received it. */
export interface SendBounceCall {
  /** Arrival time, epoch milliseconds. */
  readonly arrivedAt: number;
  /** The decoded form fields, e.g. `BouncedRecipientInfoList.member.1.Recipient`. */
  readonly params: Readonly<Record<string, string>>;
  /** `accepted` with the MessageId returned, or the error code answered. */
  readonly outcome:
    | {
        readonly kind: 'accepted';
        readonly messageId: string;
        /** Path of the DSN written to the outbox, when `outboxDir` is set. */
        readonly dsnFile?: string;
      }
    | { readonly kind: 'error'; readonly code: string; readonly status: number; readonly message: string };
}

export interface ReceivedMessage {
  /** Receipt time; SendBounce is refused 24 h after it. */
  readonly receivedAt: Date;
  /** Envelope sender, the DSN's destination (for the outbox). */
  readonly sender?: string;
  /**
   * The original message's header block, raw (for the DSN's third part).
   * Only its first 64 KiB (whole lines) are kept.
   */
  readonly rawHeaders?: string;
  /**
   * Envelope recipients (RCPT TO) of the original. When given, SendBounce is
   * refused for a recipient outside this list, as SES requires the bounced
   * recipient (or its FinalRecipient) to be a recipient of the original.
   */
  readonly recipients?: readonly string[];
}

export interface SesStandInOptions {
  /** @default a free port on 127.0.0.1 */
  readonly port?: number;
  /** Minimum spacing between calls before `Throttling`. @default 1000 */
  readonly minIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
  /** When set, each accepted SendBounce is rendered as an RFC 3464 DSN .eml in this directory. */
  readonly outboxDir?: string;
  /**
   * Verified identities (addresses or domains). When given, a BounceSender
   * outside them is refused with `MessageRejected`, as SES does.
   * @default every sender is taken as verified
   */
  readonly verifiedIdentities?: readonly string[];
  /**
   * Keep only the last N calls in `calls` (local mode runs for days; tests
   * read every call). @default every call
   */
  readonly maxCallsKept?: number;
  /** Reporting-MTA of DSNs whose request has no MessageDsn. @default 'dns; inbound-smtp.us-east-1.amazonaws.com' */
  readonly defaultReportingMta?: string;
}

export interface SesStandIn {
  /** `http://127.0.0.1:<port>`: pass as the SESClient `endpoint`. */
  readonly endpoint: string;
  /**
   * Marks a message as received by "SES", so SendBounce accepts it for 24 h.
   * Keeps a bounded copy (see `rawHeaders`); originals past the 24 h window
   * are forgotten within a minute.
   */
  registerReceived(messageId: string, message: ReceivedMessage): void;
  /** How many received originals the stand-in holds now. */
  readonly heldMessages: number;
  /** Every call in arrival order (the last `maxCallsKept` of them, when set). */
  readonly calls: readonly SendBounceCall[];
  /** Makes the next `n` calls fail with the given error (fault injection), before validation. */
  injectFaults(n: number, fault: { code: string; status: number; message?: string; delayMs?: number }): void;
  close(): Promise<void>;
}
