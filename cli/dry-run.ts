/**
 * The dry run behind `ses-bouncer test`: one message through the receive
 * function's own use case (lambda/app/receive-message.ts) with in-memory
 * ports, then through the send function's request builder. Only I/O differs
 * from production; nothing is written and nothing is sent.
 *
 * 1. The SES event and the stored object are built the way local mode builds
 *    them (local/ses-event/received-mail.ts): from the message's first bytes,
 *    with SES's added header lines, validated with the receive schema.
 * 2. `receiveMessage` runs as in the Lambda: facts, the rules' needs, enrich
 *    (size, attachments, the full header block only when needed), evaluate,
 *    the sender guard, fitting the job, the claim and the sender budget. The
 *    ports are in memory: the stored mail, a fresh ledger, a fresh budget (the
 *    state table's budget is not consulted) and a queue that keeps the job.
 * 3. The SendBounce request is built from that job by the send function's
 *    builder, with local mode's defaults ({@link bounceDefaults}).
 */
import type { SendBounceCommandInput } from '@aws-sdk/client-ses';
import { MemoryBounceQueue } from '../lambda/adapters/memory/bounce-queue';
import { MemoryMailStore } from '../lambda/adapters/memory/mail-store';
import { MemoryMessageLedger } from '../lambda/adapters/memory/message-ledger';
import { MemorySenderBudget } from '../lambda/adapters/memory/sender-budget';
import { receiveMessage, type Disposition, type ReceiveOutcome } from '../lambda/app/receive-message';
import { MalformedMailError } from '../lambda/commons/errors';
import { buildBounceRequest, InvalidBounceRequestError } from '../lambda/domain/bounce/build-request';
import { parseSesEvent } from '../lambda/domain/event/ses-event';
import { checkSender } from '../lambda/domain/guard';
import type { AttachmentFacts, BounceSpec, GuardPolicy, GuardVerdict, ShadowMatch, Verdicts } from '../lambda/domain/model';
import type { CompiledRules } from '../lambda/domain/rules';
import type { HeaderBlock, MailStore, ShadowVerdict } from '../lambda/ports';
import type { VerdictOverrides } from '../local/ses-event/build-event';
import { HEAD_BYTES, bounceDefaults, buildReceivedEvent } from '../local/ses-event/received-mail';

export interface DryRunInput {
  /** The raw RFC 5322 message (.eml). */
  readonly raw: Buffer;
  /** Envelope MAIL FROM; '' for the null reverse-path. */
  readonly sender: string;
  /** Envelope RCPT TO addresses. */
  readonly recipients: readonly string[];
  /** @default every verdict PASS (a simulate header in the message still applies) */
  readonly verdicts?: VerdictOverrides;
  /** @default a fresh SES-like id */
  readonly messageId?: string;
  readonly receivedAt: Date;
  readonly rules: CompiledRules;
  readonly policy: GuardPolicy;
  /** @default local mode's: mailer-daemon@<domain of the first recipient> */
  readonly bounceSender?: string;
  readonly bounceSenderArn?: string;
  /** @default local mode's: inbound-smtp.<domain of the first recipient> */
  readonly reportingMta?: string;
  /** Stack-wide shadow mode, as SHADOW_MODE=true. @default false */
  readonly shadowMode?: boolean;
}

/** What one recipient would get. */
export interface DryRunRecipient {
  readonly recipient: string;
  /** `default`: no rule matched and the configured default (deliver) applies. `drop`: rejected without a DSN. */
  readonly decision: 'bounce' | 'allow' | 'drop' | 'default';
  readonly ruleId: string | null;
  /** For `default`: the invalid rule item that held a bounce (or drop) a valid rule asked for. */
  readonly heldBy?: string;
  readonly bounce?: BounceSpec;
  /** Shadow rules that matched before the deciding rule: what they would have done. */
  readonly shadow?: readonly ShadowMatch[];
}

export interface DryRunResult {
  readonly messageId: string;
  readonly receivedAt: string;
  readonly sender: string;
  readonly verdicts: Verdicts;
  readonly dmarcPolicy?: string;
  /** Size of the message as the S3 action would store it. */
  readonly sizeBytes: number;
  /** Attachments, when a rule needed them (else not read, as in the pipeline). */
  readonly attachments: readonly AttachmentFacts[] | null;
  /** Why the MIME parser refused the body, when a rule needed it (its conditions are then unknown). */
  readonly bodyUnparsed?: string;
  readonly headersTruncated: boolean;
  readonly policy: GuardPolicy;
  /** Always false: the state table's per-sender budget is not consulted; a fresh in-memory one stands in. */
  readonly budgetConsulted: false;
  /** What the receive use case did: `no-bounce`, `queued`, `skipped` (with the guard's reasons), `dropped` or `shadow`. */
  readonly outcome: ReceiveOutcome['kind'];
  /** SES's answer for a RequestResponse invocation. */
  readonly disposition: Disposition;
  /** The guard's verdict as the audit item records it; null when no recipient is bounced (the guard does not run). */
  readonly guard: GuardVerdict | null;
  /**
   * What the shadow matches would have met, when nothing is really bounced
   * (SHADOW or DROPPED): the guard's verdict, and a budget that is always
   * `within` here since the state table's budget is not consulted. Null otherwise.
   */
  readonly shadowVerdict: ShadowVerdict | null;
  readonly recipients: readonly DryRunRecipient[];
  /** The request the send function would make; null when nothing is queued. */
  readonly sendBounceRequest: SendBounceCommandInput | null;
  /** Why the request could not be built (the send function would mark the message FAILED without a call). */
  readonly requestError?: string;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** A MailStore that remembers what the use case read from the body, to show it. */
class ObservedMailStore implements MailStore {
  attachments?: AttachmentFacts[];
  refused?: string;

  constructor(private readonly inner: MailStore) {}

  readHeaders(messageId: string): Promise<HeaderBlock> {
    return this.inner.readHeaders(messageId);
  }

  sizeOf(messageId: string): Promise<number> {
    return this.inner.sizeOf(messageId);
  }

  async readAttachments(messageId: string): Promise<AttachmentFacts[]> {
    try {
      return (this.attachments = await this.inner.readAttachments(messageId));
    } catch (error) {
      if (error instanceof MalformedMailError) this.refused = error.message;
      throw error;
    }
  }
}

const silentLog = { info() {}, warn() {}, error() {} };
const noMetrics = {
  addMetric() {},
  singleMetric: () => ({ addDimension() {}, addMetric() {} }),
};

/** Runs the dry run. Throws ValidationError when the message's simulate header is malformed. */
export async function dryRun(input: DryRunInput): Promise<DryRunResult> {
  const domain = domainOf(input.recipients[0] ?? 'example.com');
  const built = buildReceivedEvent(
    { head: input.raw.subarray(0, HEAD_BYTES), size: input.raw.length, envelope: { mailFrom: input.sender, rcptTo: input.recipients }, receivedAt: input.receivedAt },
    { domain, ...(input.verdicts ? { verdicts: input.verdicts } : {}), ...(input.messageId ? { messageId: input.messageId } : {}) },
  );
  const record = parseSesEvent(built.event).Records[0];
  // What the S3 action stores: SES's header lines, then the whole message.
  const stored = Buffer.concat([built.added, input.raw]);
  const mail = new ObservedMailStore(new MemoryMailStore().put(built.messageId, stored));
  const ledger = new MemoryMessageLedger(() => input.receivedAt);
  const queue = new MemoryBounceQueue();

  const result = await receiveMessage(
    {
      rules: { current: async () => input.rules },
      mail,
      ledger,
      // Room for this one message: what the state table holds is not known here.
      budget: new MemorySenderBudget({ perAddress: 1, perDomain: 1, windowMs: 3_600_000 }),
      queue,
      checkSender,
      policy: input.policy,
      clock: { now: () => input.receivedAt.getTime() },
      auditTtlDays: 1,
      shadowMode: input.shadowMode ?? false,
      logger: silentLog,
      metrics: noMetrics,
    },
    record,
  );
  const audit = await ledger.get(built.messageId);

  const recipients: DryRunRecipient[] = result.decisions.map((d) => ({
    recipient: d.recipient,
    decision: d.action,
    ruleId: d.action === 'default' ? null : d.ruleId,
    ...(d.action === 'default' && d.heldBy !== undefined ? { heldBy: d.heldBy } : {}),
    ...(d.action === 'bounce' ? { bounce: d.bounce } : {}),
    ...(d.shadow && d.shadow.length > 0 ? { shadow: d.shadow } : {}),
  }));

  let sendBounceRequest: SendBounceCommandInput | null = null;
  let requestError: string | undefined;
  const job = queue.jobs[0]?.job;
  if (job) {
    const defaults = bounceDefaults(domainOf(job.recipients[0]?.recipient ?? `x@${domain}`));
    try {
      sendBounceRequest = buildBounceRequest(job, {
        bounceSender: input.bounceSender ?? defaults.bounceSender,
        reportingMta: input.reportingMta ?? defaults.reportingMta,
        ...(input.bounceSenderArn ? { bounceSenderArn: input.bounceSenderArn } : {}),
      });
    } catch (error) {
      if (!(error instanceof InvalidBounceRequestError)) throw error;
      requestError = error.message;
    }
  }

  const facts = record.ses;
  return {
    messageId: built.messageId,
    receivedAt: facts.mail.timestamp,
    sender: input.sender,
    verdicts: built.verdicts,
    ...(facts.receipt.dmarcPolicy ? { dmarcPolicy: facts.receipt.dmarcPolicy } : {}),
    sizeBytes: stored.length,
    attachments: mail.attachments ?? null,
    ...(mail.refused !== undefined ? { bodyUnparsed: mail.refused } : {}),
    headersTruncated: built.event.Records[0].ses.mail.headersTruncated,
    policy: input.policy,
    budgetConsulted: false,
    outcome: result.outcome.kind,
    disposition: result.disposition,
    guard: audit && audit.state !== 'SHADOW' && audit.state !== 'DROPPED' ? audit.guard : null,
    shadowVerdict: audit?.shadowVerdict ?? null,
    recipients,
    sendBounceRequest,
    ...(requestError ? { requestError } : {}),
  };
}
