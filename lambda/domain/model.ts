/**
 * The plain data that flows through the pipeline. Everything here is
 * serialisable and free of I/O; the rules, the guard and the bounce builder
 * are pure functions over these types.
 */

/** SES verdict statuses (PLATFORM.md). */
export type VerdictStatus = 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED' | 'DISABLED';
export const VERDICT_STATUSES: readonly VerdictStatus[] = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'];

export type VerdictName = 'spam' | 'virus' | 'spf' | 'dkim' | 'dmarc';
export const VERDICT_NAMES: readonly VerdictName[] = ['spam', 'virus', 'spf', 'dkim', 'dmarc'];
export type Verdicts = Readonly<Record<VerdictName, VerdictStatus>>;

/** The six SES BounceType values. */
export type BounceType =
  | 'DoesNotExist'
  | 'MessageTooLarge'
  | 'ExceededQuota'
  | 'ContentRejected'
  | 'Undefined'
  | 'TemporaryFailure';
export const BOUNCE_TYPES: readonly BounceType[] = [
  'DoesNotExist',
  'MessageTooLarge',
  'ExceededQuota',
  'ContentRejected',
  'Undefined',
  'TemporaryFailure',
];

/** RFC 3464 Action for a bounced recipient: `delayed` for 4.x.x statuses, else `failed`. */
export type DsnAction = 'failed' | 'delayed';

export interface MailHeader {
  readonly name: string;
  readonly value: string;
}

/** One attachment as the rules see it: content is never kept. */
export interface AttachmentFacts {
  readonly filename?: string;
  /** Lower-case MIME type, e.g. `application/pdf`. */
  readonly contentType: string;
  readonly sizeBytes: number;
}

/**
 * What the pipeline knows about one received message. The envelope and the
 * event headers are always present; the rest is filled in only when a rule
 * (or the guard) needs it, see {@link MessageNeeds}.
 */
export interface MessageFacts {
  /** SES `mail.messageId`: the S3 key suffix and SendBounce's OriginalMessageId. */
  readonly messageId: string;
  /** ISO 8601 arrival time (`mail.timestamp`). */
  readonly receivedAt: string;
  /** Envelope MAIL FROM (`mail.source`); empty string for the null reverse-path `<>`. */
  readonly sender: string;
  /** Envelope RCPT TO addresses that matched the receipt rule (`receipt.recipients`). */
  readonly recipients: readonly string[];
  readonly verdicts: Verdicts;
  /** `receipt.dmarcPolicy` lower-cased, when present. */
  readonly dmarcPolicy?: string;
  /** Header fields in order; the full block when `headersComplete`, else the event's copy. */
  readonly headers: readonly MailHeader[];
  /** False when SES truncated the event's headers and the full block was not read. */
  readonly headersComplete: boolean;
  /** Size of the stored raw message, when read. */
  readonly sizeBytes?: number;
  /** Attachments, when the body was parsed. */
  readonly attachments?: readonly AttachmentFacts[];
  /**
   * Why the MIME parser refused the body, when a rule needed it: attachment
   * conditions are then unknown (never false, never a bounce); nothing else
   * about the message is affected.
   */
  readonly bodyUnparsed?: string;
}

/**
 * What evaluation needs beyond the envelope and the event's headers, so that
 * the pipeline reads no more of the mail than the rules use.
 */
export interface MessageNeeds {
  /** Header conditions exist: read the full header block if the event's copy was truncated. */
  readonly headers: boolean;
  /** Size conditions exist: read the object's size. */
  readonly size: boolean;
  /** Attachment conditions exist: stream and parse the body. */
  readonly body: boolean;
}

export const NO_NEEDS: MessageNeeds = Object.freeze({ headers: false, size: false, body: false });

/** The bounce a rule asks for, with defaults already applied. */
export interface BounceSpec {
  readonly bounceType: BounceType;
  /** RFC 3463 status, e.g. `5.1.1`. */
  readonly status: string;
  readonly action: DsnAction;
  readonly diagnosticCode?: string;
  /** Human-readable text for SendBounce's Explanation. */
  readonly explanation?: string;
}

/**
 * A shadow rule that matched a recipient: what it would have done had it been
 * enforced. Recorded, never acted on (issue 15).
 */
export interface ShadowMatch {
  readonly ruleId: string;
  readonly action: 'bounce' | 'drop';
  /** Stack-wide shadow switch turned an enforce rule into a shadow one. */
  readonly stackWide?: boolean;
}

/** At most this many shadow matches are recorded per recipient (priority order: the first ones). */
export const MAX_SHADOW_MATCHES = 5;

/**
 * The outcome for one envelope recipient. Every variant may carry `shadow`:
 * the shadow rules that matched before the rule that decided (in priority
 * order, at most {@link MAX_SHADOW_MATCHES}); later ones could never have decided.
 */
export type RecipientDecision =
  | {
      readonly recipient: string;
      readonly action: 'bounce';
      readonly ruleId: string;
      readonly bounce: BounceSpec;
      readonly shadow?: readonly ShadowMatch[];
    }
  | { readonly recipient: string; readonly action: 'allow'; readonly ruleId: string; readonly shadow?: readonly ShadowMatch[] }
  /** Rejected without a DSN: no SendBounce, ever (spam traps, retired aliases). */
  | { readonly recipient: string; readonly action: 'drop'; readonly ruleId: string; readonly shadow?: readonly ShadowMatch[] }
  /**
   * No rule decided: the configured default. `heldBy` names the invalid rule
   * item that held a bounce (or drop) a valid rule asked for: while an item is
   * invalid, no recipient it could cover is bounced or dropped.
   */
  | {
      readonly recipient: string;
      readonly action: 'default';
      readonly defaultAction: 'deliver';
      readonly heldBy?: string;
      readonly shadow?: readonly ShadowMatch[];
    };

/** Why the guard refused to bounce. Each skip has exactly one of these names. */
export type GuardReason =
  | 'null-sender'
  | 'mailer-daemon-sender'
  | 'delivery-report'
  | 'auto-submitted'
  | 'headers-incomplete'
  /** Every recipient to bounce is one SES cannot take (a non-ASCII address): nothing to send. */
  | 'recipient-unbounceable'
  | 'spam-verdict'
  | 'virus-verdict'
  | 'sender-not-authenticated'
  | 'sender-budget-exceeded';

export interface GuardVerdict {
  readonly allowed: boolean;
  /** Empty when allowed. */
  readonly reasons: readonly GuardReason[];
}

/** Sender authentication the guard requires before it bounces. */
export type SenderAuthPolicy = 'spf-pass' | 'spf-or-dmarc-pass' | 'none';

export interface GuardPolicy {
  readonly senderAuth: SenderAuthPolicy;
}
