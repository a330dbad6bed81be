import { MailNotFoundError, MailStoreError, MalformedMailError } from '../commons/errors';
import { logger as defaultLogger, maskAddress } from '../commons/logger';
import { MetricName, metrics as defaultMetrics, MetricUnit } from '../commons/metrics';
import { sesCanBounce } from '../domain/bounce/build-request';
import { toMessageFacts, type SesRecord } from '../domain/event/ses-event';
import { fitBounces } from '../domain/bounce/fit';
import { GUARD_NEEDS, type CheckSender } from '../domain/guard';
import type {
  AttachmentFacts,
  GuardPolicy,
  GuardReason,
  GuardVerdict,
  MessageFacts,
  MessageNeeds,
  RecipientDecision,
} from '../domain/model';
import type {
  AuditRecord,
  BounceJob,
  BounceQueue,
  BounceState,
  BouncedRecipient,
  MailStore,
  MessageLedger,
  RuleSource,
  SenderBudget,
} from '../ports';

type MetricUnitValue = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools Metrics the use case needs; the project instance fits, tests pass a recorder. */
export interface ReceiveMetricsSink {
  addMetric(name: string, unit: MetricUnitValue, value: number): void;
  /** A metric with its own dimensions (Powertools `singleMetric()`). */
  singleMetric(): {
    addDimension(name: string, value: string): void;
    addMetric(name: string, unit: MetricUnitValue, value: number): void;
  };
}

/** The part of the Powertools logger the use case needs. */
export interface ReceiveLogSink {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** How long a PENDING claim may sit before a duplicate invocation re-enqueues its job. */
export const DEFAULT_RECOVERY_AGE_MS = 60_000;

export interface ReceiveDeps {
  readonly rules: RuleSource;
  readonly mail: MailStore;
  readonly ledger: MessageLedger;
  readonly budget: SenderBudget;
  readonly queue: BounceQueue;
  readonly checkSender: CheckSender;
  readonly policy: GuardPolicy;
  /** Epoch milliseconds; the send side's `Clock` fits. */
  readonly clock: { now(): number };
  /** Days an audit item is kept (DynamoDB TTL). */
  readonly auditTtlDays: number;
  /** @default {@link DEFAULT_RECOVERY_AGE_MS} */
  readonly recoveryAgeMs?: number;
  /** Log addresses in clear. @default false */
  readonly logAddresses?: boolean;
  /** @default the project logger */
  readonly logger?: ReceiveLogSink;
  /** @default the project metrics instance */
  readonly metrics?: ReceiveMetricsSink;
}

/**
 * What became of one received message.
 * - `no-bounce`: no recipient had a bounce decision; nothing was written.
 * - `queued`: claimed and handed to the bounce queue.
 * - `skipped`: claimed as SKIPPED; the guard (or the sender budget) refused to bounce.
 * - `duplicate`: another invocation had claimed the message; `requeued` when its
 *   PENDING claim was old enough to suspect the job was never enqueued.
 */
export type ReceiveOutcome =
  | { readonly kind: 'no-bounce' }
  | { readonly kind: 'queued'; readonly recipients: number }
  | { readonly kind: 'skipped'; readonly reasons: readonly GuardReason[] }
  | { readonly kind: 'duplicate'; readonly state: BounceState; readonly requeued: boolean };

/** SES's answer for RequestResponse invocations. */
export type Disposition = 'STOP_RULE_SET' | 'CONTINUE';

export interface ReceiveResult {
  readonly disposition: Disposition;
  readonly outcome: ReceiveOutcome;
  /** One decision per envelope recipient. */
  readonly decisions: readonly RecipientDecision[];
}

/**
 * Decides one received message and, when any recipient is to be bounced,
 * claims it and hands the bounce to the queue. It never waits for the rate
 * gate: a burst of mail holds no Lambda time.
 *
 * Reads only what the rules need (full headers when a header rule meets
 * truncated event headers, the size, the body's attachments), and mail that
 * no rule bounces costs no write at all.
 *
 * Disposition: `STOP_RULE_SET` when every recipient has a bounce decision,
 * whether or not the guard lets a bounce go out. The rule said "reject";
 * the guard only decides whether a DSN may be sent without backscatter, so a
 * refused bounce means the mail is dropped silently, not delivered. Mixed
 * messages `CONTINUE` (SES cannot deliver to only some recipients of a rule).
 *
 * Duplicates: the claim is a conditional put, so of any number of concurrent
 * invocations exactly one proceeds. A duplicate that finds the claim still
 * PENDING after {@link DEFAULT_RECOVERY_AGE_MS} re-enqueues the job, because
 * the claimant may have died (or failed to enqueue) between claim and
 * enqueue; the sender moves PENDING→SENDING conditionally, so a second job
 * for a message is harmless. Writes on the receive side stay at the claim
 * plus the budget counter (plus one transition when the budget is spent).
 *
 * Throws {@link MailNotFoundError} / {@link MailStoreError} (after logging and
 * counting) when the stored message is needed and cannot be read: the S3
 * action runs before the Lambda action, so this is a fault to retry and then
 * dead-letter, never a reason to bounce.
 */
export async function receiveMessage(deps: ReceiveDeps, record: SesRecord): Promise<ReceiveResult> {
  const log = deps.logger ?? defaultLogger;
  const metrics = deps.metrics ?? defaultMetrics;
  const mask = (address: string) => maskAddress(address, deps.logAddresses ?? false);
  const count = (name: string, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);

  let facts = toMessageFacts(record);
  const { messageId } = facts;
  count(MetricName.MessagesReceived);

  const rules = await deps.rules.current();
  const nowMs = deps.clock.now();

  let decisions: RecipientDecision[];
  try {
    const needs = rules.needsFor(facts.recipients);
    facts = await enrich(deps.mail, facts, needs);
    if (facts.bodyUnparsed !== undefined) {
      // Only the body's conditions are unknown: every other decision stands.
      log.warn('stored message could not be parsed; attachment conditions are unknown', { messageId, error: facts.bodyUnparsed });
      count(MetricName.MailUnparsed);
    }
    if (needs.headers && !facts.headersComplete) {
      log.warn('header block cut at the read cap; conditions on headers it lacks are unknown', { messageId });
    }
    decisions = rules.evaluate(facts, new Date(nowMs));
    for (const d of decisions) {
      log.info('recipient decision', {
        messageId,
        ruleId: d.action === 'default' ? undefined : d.ruleId,
        action: d.action,
        recipient: mask(d.recipient),
      });
    }
    if (!decisions.some(isBounce)) return { disposition: 'CONTINUE', outcome: { kind: 'no-bounce' }, decisions };
    // The guard reads Auto-Submitted and Content-Type: it must see the whole block.
    facts = await enrich(deps.mail, facts, GUARD_NEEDS);
  } catch (err) {
    if (err instanceof MailStoreError) {
      const missing = err instanceof MailNotFoundError;
      log.error(missing ? 'stored message not found; not bouncing' : 'stored message could not be read; not bouncing', {
        messageId,
        outcome: missing ? 'mail-not-found' : 'mail-store-error',
        error: err.message,
      });
      count(MetricName.MailReadFailed);
    }
    throw err;
  }

  // What the job (SQS) and the audit item (DynamoDB) can carry; the rest is not bounced, and counted.
  const fitted = fitBounces(decisions);
  // SES bounces only ASCII addresses: the rest are recorded and counted, and never stop the others' bounce.
  const bounces: BouncedRecipient[] = fitted.bounced.filter((b) => sesCanBounce(b.recipient));
  const unbounceable = decisions.filter((d) => isBounce(d) && !sesCanBounce(d.recipient)).map((d) => d.recipient);
  if (fitted.unbounced.length > 0) {
    log.warn('too many recipients to bounce in one job; the rest are not bounced', {
      messageId,
      bounced: bounces.length,
      notBounced: fitted.unbounced.length,
    });
    count(MetricName.RecipientsOverLimit, fitted.unbounced.length);
  }
  const disposition: Disposition = decisions.every(isBounce) ? 'STOP_RULE_SET' : 'CONTINUE';
  const checked = deps.checkSender(facts, deps.policy);
  const guard: GuardVerdict = bounces.length > 0 ? checked : { allowed: false, reasons: [...checked.reasons, 'recipient-unbounceable'] };
  const nowIso = new Date(nowMs).toISOString();
  const audit: AuditRecord = {
    messageId,
    receivedAt: facts.receivedAt,
    sender: facts.sender,
    decisions: fitted.decisions,
    ...(fitted.omittedDecisions > 0 ? { omittedDecisions: fitted.omittedDecisions } : {}),
    ...(fitted.unbounced.length > 0 ? { unbouncedRecipients: fitted.unbounced.length } : {}),
    guard,
    state: guard.allowed ? 'PENDING' : 'SKIPPED',
    attempts: 0,
    ...(unbounceable.length > 0 ? { unbounceable } : {}),
    createdAt: nowIso,
    updatedAt: nowIso,
    expiresAt: Math.floor(nowMs / 1000) + deps.auditTtlDays * 86_400,
  };

  const claim = await deps.ledger.claim(audit);
  if (!claim.claimed) {
    const existing = claim.existing;
    const age = nowMs - Date.parse(existing.updatedAt);
    const requeue = existing.state === 'PENDING' && age >= (deps.recoveryAgeMs ?? DEFAULT_RECOVERY_AGE_MS);
    if (requeue) await deps.queue.enqueue(jobFrom(existing));
    log.info(requeue ? 'duplicate invocation; stale pending claim re-enqueued' : 'duplicate invocation; nothing to do', {
      messageId,
      state: existing.state,
      claimAgeMs: age,
    });
    return { disposition, outcome: { kind: 'duplicate', state: existing.state, requeued: requeue }, decisions };
  }

  count(MetricName.RecipientsBounced, bounces.length);
  if (unbounceable.length > 0) {
    count(MetricName.RecipientsUnbounceable, unbounceable.length);
    log.warn('recipients SES cannot bounce (non-ascii address); recorded in the audit item, not bounced', {
      messageId,
      recipients: unbounceable.map(mask),
    });
  }
  if (!guard.allowed) return skipped(guard, disposition);

  // After the claim, so that duplicates never spend a sender's budget.
  let withinBudget: boolean;
  let budgetError: string | undefined;
  try {
    withinBudget = await deps.budget.consume(facts.sender, new Date(nowMs));
  } catch (err) {
    // A budget that cannot be checked is treated as spent: no bounce rather
    // than unmetered backscatter, and no throw, or a retry past the recovery
    // age would re-enqueue the job without any budget check.
    withinBudget = false;
    budgetError = `sender budget unavailable: ${err instanceof Error ? err.message : String(err)}`;
    log.error('sender budget unavailable; not bouncing', { messageId, error: budgetError });
  }
  if (!withinBudget) {
    const spent: GuardVerdict = { allowed: false, reasons: ['sender-budget-exceeded'] };
    await deps.ledger.transition(messageId, ['PENDING'], 'SKIPPED', {
      guard: spent,
      ...(budgetError ? { lastError: budgetError } : {}),
    });
    return skipped(spent, disposition);
  }

  await deps.queue.enqueue({ messageId, receivedAt: facts.receivedAt, sender: facts.sender, recipients: bounces });
  count(MetricName.BouncesQueued);
  log.info('bounce queued', { messageId, recipients: bounces.length, sender: mask(facts.sender) });
  return { disposition, outcome: { kind: 'queued', recipients: bounces.length }, decisions };

  function skipped(verdict: GuardVerdict, d: Disposition): ReceiveResult {
    for (const reason of verdict.reasons) countWith(metrics, MetricName.BouncesSkipped, 'reason', reason);
    log.info('bounce skipped', { messageId, reasons: verdict.reasons, sender: mask(facts.sender) });
    return { disposition: d, outcome: { kind: 'skipped', reasons: verdict.reasons }, decisions };
  }
}

function isBounce(d: RecipientDecision): d is Extract<RecipientDecision, { action: 'bounce' }> {
  return d.action === 'bounce';
}

function countWith(metrics: ReceiveMetricsSink, name: string, dimension: string, value: string): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** The job a stored claim stands for: its own decisions, not a re-evaluation under today's rules. */
export function jobFrom(record: AuditRecord): BounceJob {
  return {
    messageId: record.messageId,
    receivedAt: record.receivedAt,
    sender: record.sender,
    recipients: bouncedRecipients(record.decisions),
  };
}

/** The bounce decisions SendBounce can carry, as job recipients. */
function bouncedRecipients(decisions: readonly RecipientDecision[]): BouncedRecipient[] {
  return decisions
    .filter((d): d is Extract<RecipientDecision, { action: 'bounce' }> => isBounce(d) && sesCanBounce(d.recipient))
    .map((d) => ({ recipient: d.recipient, ruleId: d.ruleId, bounce: d.bounce }));
}

/**
 * Fills in what `needs` asks for and the facts lack, reading the stored
 * message no more than that: the full header block only when the event's
 * copy was truncated, the size from metadata, attachments by streaming.
 *
 * What cannot be read completely stays unknown, never false: a header block
 * cut at the read cap keeps `headersComplete: false`, and a body the MIME
 * parser refuses leaves `attachments` unset with `bodyUnparsed` saying why,
 * so only the conditions on the body become unknown.
 */
export async function enrich(mail: MailStore, facts: MessageFacts, needs: MessageNeeds): Promise<MessageFacts> {
  const id = facts.messageId;
  const [block, sizeBytes, body] = await Promise.all([
    needs.headers && !facts.headersComplete ? mail.readHeaders(id) : undefined,
    needs.size && facts.sizeBytes === undefined ? mail.sizeOf(id) : undefined,
    needs.body && facts.attachments === undefined && facts.bodyUnparsed === undefined ? readBody(mail, id) : undefined,
  ]);
  return {
    ...facts,
    ...(block ? { headers: block.headers, headersComplete: block.complete } : {}),
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    ...(body && 'attachments' in body ? { attachments: body.attachments } : {}),
    ...(body && 'refused' in body ? { bodyUnparsed: body.refused } : {}),
  };
}

/** Attachments, or why the MIME parser refused the message; store faults still throw. */
async function readBody(mail: MailStore, id: string): Promise<{ attachments: AttachmentFacts[] } | { refused: string }> {
  try {
    return { attachments: await mail.readAttachments(id) };
  } catch (err) {
    if (err instanceof MalformedMailError) return { refused: err.message };
    throw err;
  }
}
