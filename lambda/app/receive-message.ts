import { MailNotFoundError, MailStoreError, MalformedMailError } from '../commons/errors';
import { logger as defaultLogger, maskAddress } from '../commons/logger';
import { MetricName, metrics as defaultMetrics, MetricUnit } from '../commons/metrics';
import type { ShadowOutcome } from '../commons/metric-names';
import { shadowAll } from '../domain/rules';
import { sesCanBounce } from '../domain/bounce/build-request';
import { toMessageFacts, type SesRecord } from '../domain/event/ses-event';
import { fitBounces, type FittedBounces } from '../domain/bounce/fit';
import { GUARD_NEEDS, type CheckSender } from '../domain/guard';
import type {
  AttachmentFacts,
  GuardPolicy,
  GuardReason,
  GuardVerdict,
  MessageFacts,
  MessageNeeds,
  RecipientDecision,
  ShadowMatch,
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
  ShadowBudgetVerdict,
  ShadowVerdict,
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
  /**
   * Stack-wide shadow mode (config SHADOW_MODE): every bounce and drop
   * becomes a shadow match and nothing is bounced or dropped. @default false
   */
  readonly shadowMode?: boolean;
  /** Log addresses in clear. @default false */
  readonly logAddresses?: boolean;
  /** @default the project logger */
  readonly logger?: ReceiveLogSink;
  /** @default the project metrics instance */
  readonly metrics?: ReceiveMetricsSink;
}

/**
 * What became of one received message.
 * - `no-bounce`: no recipient had a bounce, drop or shadow decision; nothing was written.
 * - `dropped`: no bounce, some recipients dropped (no DSN); claimed as DROPPED.
 * - `shadow`: only shadow matches; claimed as SHADOW with what would have happened.
 * - `queued`: claimed and handed to the bounce queue.
 * - `skipped`: claimed as SKIPPED; the guard (or the sender budget) refused to bounce.
 * - `duplicate`: another invocation had claimed the message; `requeued` when its
 *   PENDING claim was old enough to suspect the job was never enqueued.
 */
export type ReceiveOutcome =
  | { readonly kind: 'no-bounce' }
  | { readonly kind: 'dropped'; readonly recipients: number }
  | { readonly kind: 'shadow'; readonly matches: number; readonly verdict: ShadowVerdict }
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
 * Disposition: `STOP_RULE_SET` when every recipient is bounced or dropped,
 * whether or not the guard lets a bounce go out. The rule said "reject";
 * the guard only decides whether a DSN may be sent without backscatter, so a
 * refused bounce means the mail is dropped silently, not delivered. Mixed
 * messages `CONTINUE` (SES cannot deliver to only some recipients of a rule).
 * Shadow matches never change it (SES reads it only for RequestResponse).
 *
 * Drops and shadow matches (issue 15): a message without a real bounce but
 * with drops or shadow matches writes ONE item, conditionally like the claim
 * (DROPPED, or SHADOW with `shadowVerdict`: the guard's verdict and the
 * sender budget's, peeked with a read and never spent); duplicates write
 * nothing. A message with a real bounce keeps its usual states, its
 * decisions carrying the drops and the shadow matches.
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
    facts = await enrichForRules(needs);
    if (facts.bodyUnparsed !== undefined) {
      // Only the body's conditions are unknown: every other decision stands.
      log.warn('stored message could not be parsed; attachment conditions are unknown', { messageId, error: facts.bodyUnparsed });
      count(MetricName.MailUnparsed);
    }
    if (needs.headers && !facts.headersComplete) {
      log.warn('header block cut at the read cap; conditions on headers it lacks are unknown', { messageId });
    }
    decisions = rules.evaluate(facts, new Date(nowMs));
    if (deps.shadowMode) decisions = shadowAll(decisions);
    for (const d of decisions) {
      log.info('recipient decision', {
        messageId,
        ruleId: d.action === 'default' ? undefined : d.ruleId,
        action: d.action,
        recipient: mask(d.recipient),
        ...(d.shadow ? { shadow: d.shadow.map(describeShadow) } : {}),
      });
    }
    if (!decisions.some((d) => isBounce(d) || isDrop(d) || d.shadow !== undefined)) {
      return { disposition: 'CONTINUE', outcome: { kind: 'no-bounce' }, decisions };
    }
    // The guard reads Auto-Submitted and Content-Type: it must see the whole block (for a real or a shadow bounce).
    if (decisions.some(isBounce)) facts = await enrich(deps.mail, facts, GUARD_NEEDS);
    else if (decisions.some(hasShadowBounce)) facts = await enrichForShadowGuard();
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

  const disposition: Disposition = decisions.every((d) => isBounce(d) || isDrop(d)) ? 'STOP_RULE_SET' : 'CONTINUE';
  if (!decisions.some(isBounce)) return recordWithoutBounce();

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
  const checked = deps.checkSender(facts, deps.policy);
  const guard: GuardVerdict = bounces.length > 0 ? checked : { allowed: false, reasons: [...checked.reasons, 'recipient-unbounceable'] };
  const audit = auditRecord(fitted, {
    ...(fitted.unbounced.length > 0 ? { unbouncedRecipients: fitted.unbounced.length } : {}),
    guard,
    state: guard.allowed ? 'PENDING' : 'SKIPPED',
    // Capped like the decisions: thousands of such recipients must not fail the claim for size.
    ...(unbounceable.length > 0 ? { unbounceable: capList(unbounceable, MAX_UNBOUNCEABLE_BYTES) } : {}),
    ...(unbounceable.length > MAX_UNBOUNCEABLE_LISTED ? { unbounceableCount: unbounceable.length } : {}),
  });

  const claim = await deps.ledger.claim(audit);
  if (!claim.claimed) return duplicate(claim.existing);

  count(MetricName.RecipientsBounced, bounces.length);
  countDrops();
  if (unbounceable.length > 0) {
    count(MetricName.RecipientsUnbounceable, unbounceable.length);
    log.warn('recipients SES cannot bounce (non-ascii address); recorded in the audit item, not bounced', {
      messageId,
      recipients: unbounceable.map(mask),
    });
  }
  if (!guard.allowed) {
    countShadow({ guard, budget: 'not-checked' });
    return skipped(guard, disposition);
  }

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
  countShadow({ guard, budget: budgetError ? 'unavailable' : withinBudget ? 'within' : 'spent' });
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

  /**
   * Reads what the rules need. When the read fails and shadow rules asked for
   * more than the enforced ones, it reads again only what the enforced rules
   * need: a shadow rule must not fail a message its absence would have let
   * through (its conditions on the unread data are then unknown, so it is not
   * recorded). A failure the enforced rules share is thrown as before.
   */
  async function enrichForRules(needs: MessageNeeds): Promise<MessageFacts> {
    try {
      return await enrich(deps.mail, facts, needs);
    } catch (err) {
      if (!(err instanceof MailStoreError)) throw err;
      const enforced = rules.needsFor(facts.recipients, { enforcedOnly: true });
      if (enforced.headers === needs.headers && enforced.size === needs.size && enforced.body === needs.body) throw err;
      log.warn('stored message could not be read for shadow rules; their conditions on it are unknown', { messageId, error: err.message });
      return enrich(deps.mail, facts, enforced);
    }
  }

  /** The whole header block for the guard's shadow verdict; unreadable, the guard sees incomplete headers and refuses. */
  async function enrichForShadowGuard(): Promise<MessageFacts> {
    try {
      return await enrich(deps.mail, facts, GUARD_NEEDS);
    } catch (err) {
      if (!(err instanceof MailStoreError)) throw err;
      log.warn('stored message could not be read for the shadow verdict; the guard sees what the event holds', { messageId, error: err.message });
      return facts;
    }
  }

  function skipped(verdict: GuardVerdict, d: Disposition): ReceiveResult {
    for (const reason of verdict.reasons) countWith(metrics, MetricName.BouncesSkipped, 'reason', reason);
    log.info('bounce skipped', { messageId, reasons: verdict.reasons, sender: mask(facts.sender) });
    return { disposition: d, outcome: { kind: 'skipped', reasons: verdict.reasons }, decisions };
  }

  /** Another invocation claimed the message first: nothing new is written (a stale PENDING claim's job is re-enqueued). */
  async function duplicate(existing: AuditRecord): Promise<ReceiveResult> {
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

  /**
   * The audit item, whatever the outcome: who, when, the decisions that fit
   * (domain/bounce/fit), no attempt yet, and the TTL; `outcome` adds the
   * guard, the state and what that state records.
   */
  function auditRecord(fitted: FittedBounces, outcome: Pick<AuditRecord, 'guard' | 'state'> & Partial<AuditRecord>): AuditRecord {
    const nowIso = new Date(nowMs).toISOString();
    return {
      messageId,
      receivedAt: facts.receivedAt,
      sender: facts.sender,
      decisions: fitted.decisions,
      ...(fitted.omittedDecisions > 0 ? { omittedDecisions: fitted.omittedDecisions } : {}),
      attempts: 0,
      ...outcome,
      createdAt: nowIso,
      updatedAt: nowIso,
      expiresAt: Math.floor(nowMs / 1000) + deps.auditTtlDays * 86_400,
    };
  }

  function countDrops(): number {
    const dropped = decisions.filter(isDrop).length;
    if (dropped > 0) count(MetricName.RecipientsDropped, dropped);
    return dropped;
  }

  /** One ShadowMatches per recorded match, by what enforcing it would have done. */
  function countShadow(verdict: ShadowVerdict): number {
    let matches = 0;
    for (const d of decisions) {
      for (const m of d.shadow ?? []) {
        countWith(metrics, MetricName.ShadowMatches, 'outcome', shadowOutcome(m, verdict));
        matches++;
      }
    }
    return matches;
  }

  /**
   * No recipient is bounced; some are dropped or matched shadow rules. One
   * conditional put records it (DROPPED, else SHADOW) with what a shadow
   * bounce would have met: the guard's verdict and the budget's, read
   * without spending it. Nothing is queued, SendBounce is never called.
   */
  async function recordWithoutBounce(): Promise<ReceiveResult> {
    const shadowBounces = decisions.filter(hasShadowBounce);
    let verdict: ShadowVerdict | undefined;
    if (shadowBounces.length > 0) {
      const checked = deps.checkSender(facts, deps.policy);
      // As for a real bounce: a DSN needs at least one recipient SES can take.
      const guard: GuardVerdict = shadowBounces.some((d) => sesCanBounce(d.recipient))
        ? checked
        : { allowed: false, reasons: [...checked.reasons, 'recipient-unbounceable'] };
      verdict = { guard, budget: guard.allowed ? await peekBudget() : 'not-checked' };
    } else if (decisions.some((d) => d.shadow !== undefined)) {
      // Only shadow drops: a drop sends no DSN, so neither the guard nor the budget has a say.
      verdict = { guard: NOTHING_REFUSED, budget: 'not-checked' };
    }
    const dropping = decisions.some(isDrop);
    const record = auditRecord(fitBounces(decisions), {
      guard: verdict?.guard ?? NOTHING_REFUSED,
      state: dropping ? 'DROPPED' : 'SHADOW',
      ...(verdict ? { shadowVerdict: verdict } : {}),
    });
    const claim = await deps.ledger.claim(record);
    if (!claim.claimed) return duplicate(claim.existing);

    const dropped = countDrops();
    const matches = verdict ? countShadow(verdict) : 0;
    if (dropped > 0) log.info('recipients dropped without a DSN', { messageId, recipients: dropped, sender: mask(facts.sender) });
    if (verdict) {
      log.info('shadow matches recorded; nothing bounced for them', {
        messageId,
        matches,
        guard: verdict.guard.allowed ? 'ok' : verdict.guard.reasons,
        budget: verdict.budget,
      });
    }
    const outcome: ReceiveOutcome = dropping ? { kind: 'dropped', recipients: dropped } : { kind: 'shadow', matches, verdict: verdict! };
    return { disposition, outcome, decisions };
  }

  /** The sender budget's verdict for a shadow bounce, read with `peek`: never spent, never a throw. */
  async function peekBudget(): Promise<ShadowBudgetVerdict> {
    try {
      return (await deps.budget.peek(facts.sender, new Date(nowMs))) ? 'within' : 'spent';
    } catch (err) {
      log.warn('sender budget unavailable for a shadow verdict', { messageId, error: err instanceof Error ? err.message : String(err) });
      return 'unavailable';
    }
  }
}

/** The guard verdict of an item whose guard was not consulted, or had nothing to refuse (drops send no DSN). */
const NOTHING_REFUSED: GuardVerdict = Object.freeze({ allowed: true, reasons: [] });

/** What enforcing a shadow match would have done, for the ShadowMatches metric's `outcome`. */
export function shadowOutcome(match: ShadowMatch, verdict: ShadowVerdict): ShadowOutcome {
  if (match.action === 'drop') return 'would-drop';
  if (!verdict.guard.allowed) return 'guard-refused';
  if (verdict.budget === 'spent') return 'budget-spent';
  if (verdict.budget === 'unavailable') return 'budget-unavailable';
  return 'would-bounce';
}

/** `rule-id:would-bounce` (with `:stack` when the stack-wide switch made it a shadow match), for logs. */
function describeShadow(m: ShadowMatch): string {
  return `${m.ruleId}:would-${m.action}${m.stackWide ? ':stack' : ''}`;
}

/** Room in the audit item for the list of recipients SES cannot take (the decisions have their own budget). */
const MAX_UNBOUNCEABLE_BYTES = 32 * 1024;
/** Beyond this many, the item also records how many there were. */
const MAX_UNBOUNCEABLE_LISTED = 100;

/** The first entries of `list` whose JSON fits in `maxBytes`, and at most {@link MAX_UNBOUNCEABLE_LISTED}. */
function capList(list: readonly string[], maxBytes: number): string[] {
  const out: string[] = [];
  let used = 2;
  for (const item of list) {
    const cost = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (out.length >= MAX_UNBOUNCEABLE_LISTED || used + cost > maxBytes) break;
    used += cost;
    out.push(item);
  }
  return out;
}

function isBounce(d: RecipientDecision): d is Extract<RecipientDecision, { action: 'bounce' }> {
  return d.action === 'bounce';
}

function isDrop(d: RecipientDecision): boolean {
  return d.action === 'drop';
}

function hasShadowBounce(d: RecipientDecision): boolean {
  return d.shadow !== undefined && d.shadow.some((m) => m.action === 'bounce');
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
