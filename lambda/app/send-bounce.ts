import type { SendBounceCommandInput } from '@aws-sdk/client-ses';
import { maskAddress } from '../commons/logger';
import { MetricName, MetricUnit } from '../commons/metrics';
import { buildBounceRequest, InvalidBounceRequestError, type BounceRequestSettings } from '../domain/bounce/build-request';
import type { AuditRecord, BounceJob, BounceQueue, BounceState, MessageLedger } from '../ports';
import {
  MessageRejectedError,
  PermanentSendError,
  SendOutcomeUnknownError,
  ThrottledError,
  TransientSendError,
  type BounceSender,
} from '../ports/bounce-sender';
import type { Clock } from '../ports/clock';
import type { RateGate, Slot } from '../ports/rate-gate';

/** Longest requeue delay (SQS's limit; a later check costs nothing). */
export const MAX_REQUEUE_DELAY_SECONDS = 900;

/** SES accepts SendBounce for 24 h after receipt. */
export const SEND_WINDOW_MS = 24 * 60 * 60 * 1000;

/** `lastError` prefix of a job that failed transiently `maxAttempts` times; its queue record keeps failing into the DLQ. */
export const RETRIES_EXHAUSTED = 'retries exhausted';

/** Tunables of the send path, with the config's bounce settings. */
export interface SendSettings extends BounceRequestSettings {
  /** Longest wait for a rate slot before the job goes back to the queue (config `maxSlotWaitMs`). */
  readonly maxSlotWaitMs: number;
  /** Log addresses in clear (config `logAddresses`). @default false */
  readonly logAddresses?: boolean;
  /** A SENDING item older than this belongs to a dead process: UNKNOWN. @default max(5 min, maxSlotWaitMs + 2 min) */
  readonly stuckAfterMs?: number;
  /** Transient failures (5xx, network) before FAILED. @default 5 */
  readonly maxAttempts?: number;
  /** SendBounce calls one invocation makes for a job (the first plus retries on later slots). @default 3 */
  readonly callsPerInvocation?: number;
  /** Stop this long before SES's 24 h limit, for clock differences and the call's own duration. @default 60000 */
  readonly expirySafetyMs?: number;
  /** Base of the exponential backoff after a transient failure. @default 500 */
  readonly backoffBaseMs?: number;
  /**
   * How long a failing SENT write (DynamoDB throttled or unreachable) is
   * retried after SES accepted the bounce. Far below the stuck age, so the
   * item is still ours meanwhile. @default 20000
   */
  readonly recordRetryMs?: number;
  /**
   * Longest one SendBounce call can take: the SES client's request timeout
   * plus the SDK's own overhead. @default 11000
   */
  readonly sesCallMaxMs?: number;
  /**
   * Longest one DynamoDB or SQS request can take, the SDK's retries
   * included (see commons/clients). @default {@link DEFAULT_OP_MAX_MS}
   */
  readonly opMaxMs?: number;
}

/** Default of {@link SendSettings.opMaxMs}: 3 attempts of 3 s plus the SDK's backoff between them. */
export const DEFAULT_OP_MAX_MS = 12_000;

type TimeSettings = Pick<SendSettings, 'recordRetryMs' | 'sesCallMaxMs' | 'opMaxMs'>;

/**
 * Time a job may still need once its SendBounce call has started: the call,
 * then either the SENT write (retried for `recordRetryMs`) or the writes
 * that end or requeue it. A call starts only while this much of the job's
 * time is left.
 */
export function jobTailMs(settings: TimeSettings = {}): number {
  const op = settings.opMaxMs ?? DEFAULT_OP_MAX_MS;
  const call = settings.sesCallMaxMs ?? 11_000;
  const record = settings.recordRetryMs ?? 20_000;
  return call + Math.max(record + op, 2 * op);
}

/**
 * The least time worth starting a job with: read its item, take a slot, and
 * the {@link jobTailMs}. With less, the record is left for redelivery.
 */
export function minJobMs(settings: TimeSettings = {}): number {
  return 2 * (settings.opMaxMs ?? DEFAULT_OP_MAX_MS) + jobTailMs(settings);
}

/** Per-job options of {@link sendBounce}. */
export interface SendJobOptions {
  /**
   * Epoch ms by which the job must be over, whatever happens (the caller
   * passes its invocation's end, less a safety margin). Waits are cut so that
   * a call starts only if its worst case still ends before it; otherwise the
   * job goes back to the queue. @default no deadline
   */
  readonly deadline?: number;
}

/** The two methods of Powertools Metrics / Logger the use case needs; tests pass recorders. */
export interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void;
}
export interface LogSink {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface SendBounceDeps {
  readonly ledger: MessageLedger;
  readonly gate: RateGate;
  readonly sender: BounceSender;
  readonly queue: BounceQueue;
  readonly clock: Clock;
  readonly settings: SendSettings;
  readonly metrics: MetricsSink;
  readonly logger: LogSink;
}

/** Why a job went back to the queue with a delay (its item is PENDING again). */
export type RequeueCause = 'no-slot' | 'late' | 'throttled' | 'transient' | 'no-time';

/** What became of one job. Only `exhausted` asks the caller to fail the queue record (→ DLQ). */
export type SendOutcome =
  | { readonly kind: 'sent'; readonly sesMessageId: string }
  /** The item is already past PENDING (another delivery or consumer handled it). */
  | { readonly kind: 'duplicate'; readonly state: BounceState }
  /** No ledger item: the job was never claimed; nothing is sent without an audit item. */
  | { readonly kind: 'missing' }
  /** Another consumer is sending it now; the job comes back once that must have ended. */
  | { readonly kind: 'in-flight'; readonly delaySeconds: number }
  /** The SendBounce answer was lost, or a process died while SENDING; marked UNKNOWN, never resent. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'exhausted'; readonly reason: string }
  | { readonly kind: 'requeued'; readonly cause: RequeueCause; readonly delaySeconds: number };

// SHADOW and DROPPED items never get a job; listed so that a stray one is logged as handled, not silently dropped.
const FINAL_OR_FOREIGN: readonly BounceState[] = ['SENT', 'FAILED', 'EXPIRED', 'SKIPPED', 'UNKNOWN', 'SHADOW', 'DROPPED'];

/**
 * Sends the bounce for one job at most once, at the gate's pace.
 *
 * The item moves PENDING → SENDING (atomically with the rate-slot
 * reservation) → SENT | FAILED | EXPIRED, or back to PENDING when the call
 * should be retried later (Throttling, 5xx, no slot). Every move is
 * conditional, so duplicate deliveries and concurrent consumers find the item
 * taken and stop. A SENDING item that outlives `stuckAfterMs` is marked
 * UNKNOWN and never resent: a crash between SendBounce and the SENT write
 * loses at most the audit, never causes a second bounce (docs/pipeline.md).
 */
export async function sendBounce(deps: SendBounceDeps, job: BounceJob, options: SendJobOptions = {}): Promise<SendOutcome> {
  return new SendAttempt(deps, job, options.deadline ?? Number.POSITIVE_INFINITY).run();
}

class SendAttempt {
  private readonly s: Required<Omit<SendSettings, 'bounceSenderArn'>> & Pick<SendSettings, 'bounceSenderArn'>;
  private readonly deadline: number;
  /** Latest start of a SendBounce call that still ends before the job's deadline. */
  private readonly latestCallStart: number;
  private attempts = 0;

  constructor(
    private readonly deps: SendBounceDeps,
    private readonly job: BounceJob,
    jobDeadline: number,
  ) {
    const given = deps.settings;
    this.s = {
      ...given,
      logAddresses: given.logAddresses ?? false,
      stuckAfterMs: given.stuckAfterMs ?? Math.max(5 * 60_000, given.maxSlotWaitMs + 2 * 60_000),
      maxAttempts: given.maxAttempts ?? 5,
      callsPerInvocation: given.callsPerInvocation ?? 3,
      expirySafetyMs: given.expirySafetyMs ?? 60_000,
      backoffBaseMs: given.backoffBaseMs ?? 500,
      recordRetryMs: given.recordRetryMs ?? 20_000,
      sesCallMaxMs: given.sesCallMaxMs ?? 11_000,
      opMaxMs: given.opMaxMs ?? DEFAULT_OP_MAX_MS,
    };
    this.deadline = Date.parse(job.receivedAt) + SEND_WINDOW_MS - this.s.expirySafetyMs;
    this.latestCallStart = jobDeadline - jobTailMs(this.s);
  }

  /** How long a slot may be waited for from now: the call must start by {@link latestCallStart}, after the acquire itself. */
  private slotRoom(now: number): number {
    return this.latestCallStart - now - this.s.opMaxMs;
  }

  async run(): Promise<SendOutcome> {
    const record = await this.deps.ledger.get(this.job.messageId);
    if (!record) {
      this.log('warn', 'bounce job has no ledger item; not sending', undefined);
      return { kind: 'missing' };
    }
    this.attempts = record.attempts;
    if (FINAL_OR_FOREIGN.includes(record.state)) return this.alreadyHandled(record);
    if (record.state === 'SENDING') return this.heldElsewhere(record);
    if (record.state !== 'PENDING') return { kind: 'duplicate', state: record.state };

    if (this.deps.clock.now() >= this.deadline) return this.finish('PENDING', 'EXPIRED');
    let request: SendBounceCommandInput;
    try {
      request = buildBounceRequest(this.job, this.deps.settings);
    } catch (error) {
      if (!(error instanceof InvalidBounceRequestError)) throw error;
      return this.finish('PENDING', 'FAILED', error.message);
    }
    return this.sendLoop(request);
  }

  private alreadyHandled(record: AuditRecord): SendOutcome {
    if (record.state === 'FAILED' && record.lastError?.startsWith(RETRIES_EXHAUSTED)) {
      return { kind: 'exhausted', reason: record.lastError };
    }
    this.log('info', 'bounce job already handled', record.state);
    return { kind: 'duplicate', state: record.state };
  }

  /** SENDING: in flight in another consumer, or left behind by a dead process. */
  private async heldElsewhere(record: AuditRecord): Promise<SendOutcome> {
    const age = this.deps.clock.now() - Date.parse(record.updatedAt);
    if (age >= this.s.stuckAfterMs) {
      const moved = await this.deps.ledger.transition(this.job.messageId, ['SENDING'], 'UNKNOWN', {
        lastError: `stuck in SENDING for ${Math.round(age / 1000)} s: the sending process died; not resent`,
      });
      if (!moved) return this.run();
      this.deps.metrics.addMetric(MetricName.BouncesUnknown, MetricUnit.Count, 1);
      this.log('error', 'bounce outcome unknown: a process died during SendBounce', 'UNKNOWN');
      return { kind: 'unknown' };
    }
    // Come back when the holder must have finished, to catch a dead holder.
    const delaySeconds = clampDelay((this.s.stuckAfterMs - age) / 1000 + 1);
    await this.deps.queue.enqueue(this.job, { delaySeconds });
    this.log('info', 'bounce job in flight elsewhere; checking again later', 'SENDING', { delaySeconds });
    return { kind: 'in-flight', delaySeconds };
  }

  private async sendLoop(request: SendBounceCommandInput): Promise<SendOutcome> {
    const { clock, gate, ledger } = this.deps;
    for (let call = 1; ; call++) {
      const now = clock.now();
      if (now >= this.deadline) return this.finish('PENDING', 'EXPIRED');
      const room = this.slotRoom(now);
      if (room < 0) return this.requeue('no-time', 1);
      const acquired = await gate.acquire({
        maxWaitMs: Math.min(this.s.maxSlotWaitMs, this.deadline - now, room),
        transition: { messageId: this.job.messageId, from: ['PENDING'], to: 'SENDING' },
      });
      if (acquired.kind === 'transition-refused') {
        const current = await ledger.get(this.job.messageId);
        this.log('info', 'another consumer took the bounce job', current?.state);
        return { kind: 'duplicate', state: current?.state ?? 'PENDING' };
      }
      if (acquired.kind === 'no-slot') return this.requeue('no-slot', (acquired.nextFreeAt - now) / 1000);

      const started = await this.waitForSlot(acquired.slot);
      if (started === 'no-slot') return this.backToQueue('late', this.s.maxSlotWaitMs / 1000);
      if (started >= this.deadline) return this.finish('SENDING', 'EXPIRED');
      // Only a clock that overshot its sleep gets here; the call would outlive the job.
      if (started > this.latestCallStart) return this.backToQueue('no-time', 1);

      this.deps.metrics.addMetric(MetricName.QueueAgeAtSendMs, MetricUnit.Milliseconds, started - Date.parse(this.job.receivedAt));
      try {
        const { messageId } = await this.deps.sender.send(request);
        return this.sent(messageId);
      } catch (error) {
        const outcome = await this.afterError(error, call);
        if (outcome) return outcome;
      }
    }
  }

  /**
   * Sleeps to the slot; returns the start time, or 'no-slot' after giving the
   * item back to PENDING. A holder that wakes past `latestStartAt` would
   * shorten the gap to the next slot, so it takes a fresh slot instead (the
   * item stays SENDING meanwhile: it is still ours).
   */
  private async waitForSlot(first: Slot): Promise<number | 'no-slot'> {
    const { clock, gate } = this.deps;
    let slot = first;
    for (let lateTries = 0; lateTries < 3; lateTries++) {
      while (clock.now() < slot.startAt) await clock.sleep(slot.startAt - clock.now());
      const now = clock.now();
      if (now <= slot.latestStartAt) return now;
      this.log('warn', 'woke too late for the rate slot; taking another', 'SENDING', { lateMs: now - slot.latestStartAt });
      const room = this.slotRoom(now);
      if (room < 0) break;
      const again = await gate.acquire({ maxWaitMs: Math.min(this.s.maxSlotWaitMs, this.deadline - now, room) });
      if (again.kind !== 'reserved') break;
      slot = again.slot;
    }
    return 'no-slot';
  }

  private async sent(sesMessageId: string): Promise<SendOutcome> {
    const { metrics } = this.deps;
    const moved = await this.recordSent(sesMessageId);
    // Only the UNKNOWN sweep could have moved it meanwhile, and only after stuckAfterMs.
    if (!moved) this.log('error', 'bounce sent but the SENT state could not be recorded', 'SENDING', { sesMessageId });
    metrics.addMetric(MetricName.BouncesSent, MetricUnit.Count, 1);
    this.log('info', 'bounce sent', 'SENT', { sesMessageId });
    return { kind: 'sent', sesMessageId };
  }

  /**
   * SENDING → SENT, retried with backoff while the write throws (DynamoDB
   * throttled or down) for up to `recordRetryMs`. The bounce is out and its
   * MessageId exists only in this process: giving up at the first error
   * would turn a sent bounce into UNKNOWN (and an alarm). Still failing after
   * that, the error propagates and the item becomes UNKNOWN as documented.
   */
  private async recordSent(sesMessageId: string): Promise<boolean> {
    const { clock, ledger } = this.deps;
    const started = clock.now();
    for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 4_000)) {
      try {
        return await ledger.transition(this.job.messageId, ['SENDING'], 'SENT', {
          sesBounceMessageId: sesMessageId,
          attempts: this.attempts + 1,
        });
      } catch (error) {
        if (clock.now() - started + waitMs > this.s.recordRetryMs) throw error;
        this.log('warn', 'bounce sent but the SENT write failed; retrying', 'SENDING', {
          sesMessageId,
          retryInMs: waitMs,
          error: error instanceof Error ? error.message : String(error),
        });
        await clock.sleep(waitMs);
      }
    }
  }

  /** Maps a send failure to the next state; undefined means "try again on a later slot now". */
  private async afterError(error: unknown, call: number): Promise<SendOutcome | undefined> {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof ThrottledError) {
      // Not the job's fault: no attempt counted.
      this.deps.metrics.addMetric(MetricName.SesThrottled, MetricUnit.Count, 1);
      this.log('warn', 'sendbounce throttled by SES; retrying on a later slot', 'PENDING', { error: reason });
      await this.release(reason);
      if (call < this.s.callsPerInvocation && this.slotRoom(this.deps.clock.now()) >= 0) return undefined;
      return this.requeue('throttled', 2);
    }
    if (error instanceof MessageRejectedError || error instanceof PermanentSendError) {
      return this.finish('SENDING', 'FAILED', reason);
    }
    if (error instanceof SendOutcomeUnknownError) {
      // SES may have sent it: resending could bounce twice, so the job ends here.
      return this.unknown(`${reason}; not resent`);
    }
    if (!(error instanceof TransientSendError)) {
      // Unclassified: the adapter maps every SDK error, so this is a bug or a
      // dead dependency. Whether SES got the call is unknown: stay SENDING → UNKNOWN later.
      this.log('error', 'unexpected error from the bounce sender', 'SENDING', { error: reason });
      throw error;
    }
    this.attempts += 1;
    if (this.attempts >= this.s.maxAttempts) {
      const outcome = await this.finish('SENDING', 'FAILED', `${RETRIES_EXHAUSTED} after ${this.attempts} attempts: ${reason}`);
      return outcome.kind === 'failed' ? { kind: 'exhausted', reason: outcome.reason } : outcome;
    }
    await this.release(reason);
    const backoffMs = this.s.backoffBaseMs * 2 ** (this.attempts - 1);
    if (call < this.s.callsPerInvocation && this.slotRoom(this.deps.clock.now() + backoffMs) >= 0) {
      this.log('warn', 'sendbounce failed transiently; retrying on a later slot', 'PENDING', { error: reason, backoffMs });
      await this.deps.clock.sleep(backoffMs);
      return undefined;
    }
    return this.requeue('transient', 5 * 2 ** this.attempts);
  }

  /** SENDING → PENDING after a call that certainly did not send (Throttling, 5xx answer). */
  private async release(reason: string): Promise<void> {
    const moved = await this.deps.ledger.transition(this.job.messageId, ['SENDING'], 'PENDING', {
      attempts: this.attempts,
      lastError: reason,
    });
    if (!moved) this.log('error', 'could not return the bounce job to PENDING', 'SENDING', { error: reason });
  }

  private async backToQueue(cause: RequeueCause, delaySeconds: number): Promise<SendOutcome> {
    await this.release(`gave up the rate slot (${cause})`);
    return this.requeue(cause, delaySeconds);
  }

  private async requeue(cause: RequeueCause, delaySeconds: number): Promise<SendOutcome> {
    const delay = clampDelay(delaySeconds);
    await this.deps.queue.enqueue(this.job, { delaySeconds: delay });
    this.log('info', 'bounce job requeued', 'PENDING', { cause, delaySeconds: delay });
    return { kind: 'requeued', cause, delaySeconds: delay };
  }

  /** SENDING → UNKNOWN: the call may have reached SES. Counted and alarmed (BouncesUnknown), never resent. */
  private async unknown(reason: string): Promise<SendOutcome> {
    this.attempts += 1;
    const moved = await this.deps.ledger.transition(this.job.messageId, ['SENDING'], 'UNKNOWN', {
      attempts: this.attempts,
      lastError: reason,
    });
    if (!moved) {
      const current = await this.deps.ledger.get(this.job.messageId);
      return { kind: 'duplicate', state: current?.state ?? 'SENDING' };
    }
    this.deps.metrics.addMetric(MetricName.BouncesUnknown, MetricUnit.Count, 1);
    this.log('error', 'bounce outcome unknown: the sendbounce answer was lost', 'UNKNOWN', { error: reason });
    return { kind: 'unknown' };
  }

  private async finish(from: BounceState, to: 'EXPIRED' | 'FAILED', reason?: string): Promise<SendOutcome> {
    const moved = await this.deps.ledger.transition(this.job.messageId, [from], to, {
      attempts: this.attempts,
      ...(reason === undefined ? {} : { lastError: reason }),
    });
    if (!moved) {
      const current = await this.deps.ledger.get(this.job.messageId);
      return { kind: 'duplicate', state: current?.state ?? from };
    }
    if (to === 'EXPIRED') {
      this.deps.metrics.addMetric(MetricName.BouncesExpired, MetricUnit.Count, 1);
      this.log('warn', 'bounce expired: past the 24 h SendBounce window', 'EXPIRED');
      return { kind: 'expired' };
    }
    this.deps.metrics.addMetric(MetricName.BouncesFailed, MetricUnit.Count, 1);
    this.log('error', 'bounce failed', 'FAILED', { error: reason });
    return { kind: 'failed', reason: reason ?? 'failed' };
  }

  private log(level: 'info' | 'warn' | 'error', message: string, state: BounceState | undefined, extra?: Record<string, unknown>): void {
    this.deps.logger[level](message, {
      messageId: this.job.messageId,
      state,
      attempts: this.attempts,
      sender: maskAddress(this.job.sender, this.s.logAddresses),
      ...extra,
    });
  }
}

function clampDelay(seconds: number): number {
  return Math.min(MAX_REQUEUE_DELAY_SECONDS, Math.max(1, Math.ceil(seconds)));
}
