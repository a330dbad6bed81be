/**
 * The dry run behind `ses-bouncer test`: one message through the same pure
 * steps as the receive path, with the stored mail held in memory and nothing
 * written or sent.
 *
 * 1. The SES event is built from the raw message and envelope the way SES
 *    builds it (local/ses-event), validated with the receive schema and mapped
 *    to facts, so headers, verdicts and the null sender read as on AWS.
 * 2. Size and attachments are read from the message only when the rules need
 *    them, and the full header block only when the event's copy was cut.
 * 3. Rules evaluate per recipient; the pure sender guard runs with the given
 *    policy. The per-sender budget needs the state table and is NOT consulted.
 * 4. The SendBounce request is built by the real builder, exactly as the send
 *    function would build it for this message.
 */
import type { SendBounceCommandInput } from '@aws-sdk/client-ses';
import { MemoryMailStore } from '../lambda/adapters/memory/mail-store';
import { enrich } from '../lambda/app/receive-message';
import { buildBounceRequest, InvalidBounceRequestError } from '../lambda/domain/bounce/build-request';
import { parseSesEvent, toMessageFacts } from '../lambda/domain/event/ses-event';
import { GUARD_NEEDS, checkSender } from '../lambda/domain/guard';
import type {
  AttachmentFacts,
  BounceSpec,
  GuardPolicy,
  GuardVerdict,
  Verdicts,
} from '../lambda/domain/model';
import type { CompiledRules } from '../lambda/domain/rules';
import type { BouncedRecipient } from '../lambda/ports';
import { buildSesEvent, type VerdictOverrides } from '../local/ses-event/build-event';

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
  /** @default mailer-daemon@<domain of the first bounced recipient> */
  readonly bounceSender?: string;
  readonly bounceSenderArn?: string;
  /** @default mx.<domain of the first bounced recipient> */
  readonly reportingMta?: string;
}

/** What one recipient would get. */
export interface DryRunRecipient {
  readonly recipient: string;
  /** `default`: no rule matched and the configured default (deliver) applies. */
  readonly decision: 'bounce' | 'allow' | 'default';
  readonly ruleId: string | null;
  /** For `default`: the invalid rule item that held a bounce a valid rule asked for. */
  readonly heldBy?: string;
  readonly bounce?: BounceSpec;
  /** The message's guard verdict (the guard judges the sender, so it is the same for every recipient). */
  readonly guard: GuardVerdict;
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
  readonly headersTruncated: boolean;
  readonly policy: GuardPolicy;
  /** Always false: the per-sender budget lives in the state table and a dry run writes nothing. */
  readonly budgetConsulted: false;
  readonly guard: GuardVerdict;
  readonly recipients: readonly DryRunRecipient[];
  /** The request the send function would make; null when nothing is bounced or the guard refuses. */
  readonly sendBounceRequest: SendBounceCommandInput | null;
  /** Why the request could not be built (the send function would mark the message FAILED without a call). */
  readonly requestError?: string;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** Runs the dry run. Throws ValidationError when the message's simulate header is malformed. */
export async function dryRun(input: DryRunInput): Promise<DryRunResult> {
  const built = buildSesEvent(
    input.raw,
    { mailFrom: input.sender, rcptTo: input.recipients },
    { receivedAt: input.receivedAt, ...(input.messageId ? { messageId: input.messageId } : {}), ...(input.verdicts ? { verdicts: input.verdicts } : {}) },
  );
  const record = parseSesEvent(built.event).Records[0];
  const store = new MemoryMailStore().put(built.messageId, built.stored);

  let facts = toMessageFacts(record);
  facts = await enrich(store, facts, input.rules.needsFor(facts.recipients));
  const decisions = input.rules.evaluate(facts, input.receivedAt);
  facts = await enrich(store, facts, GUARD_NEEDS);
  const guard = checkSender(facts, input.policy);

  const recipients: DryRunRecipient[] = decisions.map((d) => ({
    recipient: d.recipient,
    decision: d.action,
    ruleId: d.action === 'default' ? null : d.ruleId,
    ...(d.action === 'default' && d.heldBy !== undefined ? { heldBy: d.heldBy } : {}),
    ...(d.action === 'bounce' ? { bounce: d.bounce } : {}),
    guard,
  }));
  const bounced: BouncedRecipient[] = decisions.flatMap((d) =>
    d.action === 'bounce' ? [{ recipient: d.recipient, ruleId: d.ruleId, bounce: d.bounce }] : [],
  );

  let sendBounceRequest: SendBounceCommandInput | null = null;
  let requestError: string | undefined;
  if (bounced.length > 0 && guard.allowed) {
    const domain = domainOf(bounced[0].recipient);
    try {
      sendBounceRequest = buildBounceRequest(
        { messageId: facts.messageId, receivedAt: facts.receivedAt, sender: facts.sender, recipients: bounced },
        {
          bounceSender: input.bounceSender ?? `mailer-daemon@${domain}`,
          reportingMta: input.reportingMta ?? `mx.${domain}`,
          ...(input.bounceSenderArn ? { bounceSenderArn: input.bounceSenderArn } : {}),
        },
      );
    } catch (error) {
      if (!(error instanceof InvalidBounceRequestError)) throw error;
      requestError = error.message;
    }
  }

  return {
    messageId: facts.messageId,
    receivedAt: facts.receivedAt,
    sender: facts.sender,
    verdicts: facts.verdicts,
    ...(facts.dmarcPolicy ? { dmarcPolicy: facts.dmarcPolicy } : {}),
    sizeBytes: built.stored.length,
    attachments: facts.attachments ?? null,
    headersTruncated: built.event.Records[0].ses.mail.headersTruncated,
    policy: input.policy,
    budgetConsulted: false,
    guard,
    recipients,
    sendBounceRequest,
    ...(requestError ? { requestError } : {}),
  };
}
