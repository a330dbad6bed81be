/**
 * The small interfaces between the pure pipeline and the outside world. Each
 * has one AWS adapter under `lambda/adapters/` and an in-memory or local one
 * for tests and local mode.
 */
import type {
  AttachmentFacts,
  BounceSpec,
  GuardVerdict,
  MailHeader,
  RecipientDecision,
} from '../domain/model';
import type { CompiledRules } from '../domain/rules';

/** Current compiled rules; implementations cache and refresh them. */
export interface RuleSource {
  current(): Promise<CompiledRules>;
}

/** A message's header fields as read from the stored object. */
export interface HeaderBlock {
  readonly headers: MailHeader[];
  /**
   * False when the block was cut (no blank line within the read cap): a
   * header past the cut may exist, so its absence proves nothing.
   */
  readonly complete: boolean;
}

/** The raw message that the receipt rule's S3 action stored. */
export interface MailStore {
  /** The header block, read with ranged GETs of the object's first bytes up to a cap. */
  readHeaders(messageId: string): Promise<HeaderBlock>;
  /** Object size in bytes, from its metadata. */
  sizeOf(messageId: string): Promise<number>;
  /** Attachments' names, types and sizes, streaming the body; content is discarded. */
  readAttachments(messageId: string): Promise<AttachmentFacts[]>;
}

/** Per-sender bounce budget (counters with TTL). */
export interface SenderBudget {
  /** Takes one bounce from the sender's address and domain budgets; false when either is spent. */
  consume(sender: string, now: Date): Promise<boolean>;
  /**
   * Whether `consume` would succeed now, spending nothing (reads only): what
   * a shadow match records as the budget's verdict.
   */
  peek(sender: string, now: Date): Promise<boolean>;
}

/**
 * State of a message that had a bounce, drop or shadow decision.
 * - PENDING: claimed; the job is (being) enqueued.
 * - SKIPPED: the guard refused; nothing is sent.
 * - SENDING: a consumer holds a rate slot and is calling SendBounce.
 * - SENT / FAILED / EXPIRED: final.
 * - UNKNOWN: the process died during SENDING; not retried (never bounce twice).
 * - SHADOW: final; no real bounce or drop, only shadow matches (what they would have done is in `shadowVerdict`).
 * - DROPPED: final; recipients dropped without a DSN and none bounced.
 */
export type BounceState = 'PENDING' | 'SKIPPED' | 'SENDING' | 'SENT' | 'FAILED' | 'EXPIRED' | 'UNKNOWN' | 'SHADOW' | 'DROPPED';

/** What the sender budget would have said for a shadow bounce, read without spending it. */
export type ShadowBudgetVerdict = 'within' | 'spent' | 'unavailable' | 'not-checked';

/** What would have happened had the shadow matches of a SHADOW message been enforced. */
export interface ShadowVerdict {
  /** The sender guard's verdict (as for a real bounce). */
  readonly guard: GuardVerdict;
  /**
   * The sender budget's, peeked: `not-checked` when the guard already refused
   * or only drops matched (a drop spends no budget), `unavailable` when the read failed.
   */
  readonly budget: ShadowBudgetVerdict;
}

/** One recipient to bounce, as carried by a job and kept in the audit item. */
export interface BouncedRecipient {
  readonly recipient: string;
  readonly ruleId: string;
  readonly bounce: BounceSpec;
}

/** What the receiving function hands to the sending function. */
export interface BounceJob {
  readonly messageId: string;
  /** ISO 8601 receipt time; SendBounce refuses mail older than 24 h. */
  readonly receivedAt: string;
  /** Envelope sender, the DSN's destination (for logs; SES addresses it). */
  readonly sender: string;
  readonly recipients: readonly BouncedRecipient[];
}

/** The audit item: one per message that had any bounce, drop or shadow decision. */
export interface AuditRecord {
  readonly messageId: string;
  readonly receivedAt: string;
  readonly sender: string;
  /** Every bounced recipient's decision, then the others while the item's size budget lasts (domain/bounce/fit). */
  readonly decisions: readonly RecipientDecision[];
  /** Decisions left out of `decisions` for size. @default 0 */
  readonly omittedDecisions?: number;
  /** Recipients a rule would bounce but the job had no room for: not bounced. @default 0 */
  readonly unbouncedRecipients?: number;
  readonly guard: GuardVerdict;
  readonly state: BounceState;
  /** Present on SHADOW items: what the guard and the budget would have said. */
  readonly shadowVerdict?: ShadowVerdict;
  readonly attempts: number;
  readonly sesBounceMessageId?: string;
  readonly lastError?: string;
  /**
   * Recipients a rule bounced that SendBounce cannot take (non-ASCII
   * addresses, SES has no SMTPUTF8): recorded here and counted, not in the job.
   */
  readonly unbounceable?: readonly string[];
  /** How many recipients SES could not take, when `unbounceable` lists only the first of them (issue 12, defect 9). */
  readonly unbounceableCount?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Epoch seconds, DynamoDB TTL attribute. */
  readonly expiresAt: number;
}

/** The states of a message that is not final yet; the sweep looks for these when they sit too long. */
export type OpenState = Extract<BounceState, 'PENDING' | 'SENDING'>;

/** Open messages that have not moved for a while (the sweep's view of the ledger). */
export interface StaleClaims {
  /** Messages in `state` whose last change is older than `updatedBefore`, oldest first, at most `limit`. */
  stale(state: OpenState, updatedBefore: Date, limit: number): Promise<AuditRecord[]>;
}

/** Durable queue between receiving and sending. */
export interface BounceQueue {
  enqueue(job: BounceJob, options?: { delaySeconds?: number }): Promise<void>;
}

/** The state table's per-message item: the claim, the job's state and the audit record in one. */
export interface MessageLedger {
  /**
   * Creates the item unless one exists for the message id (conditional put).
   * A duplicate invocation, however concurrent, gets `claimed: false` and the existing item.
   */
  claim(record: AuditRecord): Promise<{ claimed: true } | { claimed: false; existing: AuditRecord }>;
  get(messageId: string): Promise<AuditRecord | undefined>;
  /**
   * Moves the item to `to` only if it is in one of `from` (conditional update).
   * Returns false, changing nothing, when it is not.
   */
  transition(
    messageId: string,
    from: readonly BounceState[],
    to: BounceState,
    patch?: Partial<Pick<AuditRecord, 'attempts' | 'sesBounceMessageId' | 'lastError' | 'guard'>>,
  ): Promise<boolean>;
}
