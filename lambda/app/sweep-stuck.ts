import { maskAddress } from '../commons/logger';
import { MetricName, MetricUnit } from '../commons/metrics';
import type { AuditRecord, BounceQueue, MessageLedger, StaleClaims } from '../ports';
import { jobFrom } from './receive-message';
import { SEND_WINDOW_MS, type LogSink, type MetricsSink } from './send-bounce';

/** Tunables of the sweep. */
export interface SweepSettings {
  /**
   * A PENDING claim untouched this long has lost its job: longer than the
   * longest requeue delay (15 min) plus a backlog's usual wait. @default 20 min
   */
  readonly pendingStaleMs?: number;
  /** A SENDING item older than this belongs to a dead process (the send path's stuck age). @default 5 min */
  readonly sendingStaleMs?: number;
  /** Stop this long before SES's 24 h limit, as the send path does. @default 60000 */
  readonly expirySafetyMs?: number;
  /** Items handled per state per run; the next run takes the rest. @default 200 */
  readonly batchLimit?: number;
  /** Log addresses in clear. @default false */
  readonly logAddresses?: boolean;
}

export interface SweepDeps {
  readonly ledger: MessageLedger;
  readonly stale: StaleClaims;
  readonly queue: BounceQueue;
  /** Epoch milliseconds. */
  readonly clock: { now(): number };
  readonly settings: SweepSettings;
  readonly metrics: MetricsSink;
  readonly logger: LogSink;
}

/** What one run did; every count is also a metric. */
export interface SweepReport {
  /** Stale PENDING claims within the 24 h window whose job went back on the queue (ClaimsRequeued). */
  readonly requeued: number;
  /** Stale PENDING claims past the window: EXPIRED (BouncesExpired). */
  readonly expired: number;
  /** Stale SENDING items: UNKNOWN, never resent (BouncesUnknown). */
  readonly unknown: number;
  /** Items another process moved first (the conditional write lost): left alone. */
  readonly raced: number;
}

/**
 * The scheduled sweep of claims nobody will come back for (issue 12,
 * defect 3): a PENDING claim whose receive retries all failed before the
 * enqueue, a job lost on the way, a SENDING item whose process died. It
 * reads only the sparse open index (no Scan), oldest first:
 * - PENDING, within SES's 24 h window: touched (PENDING → PENDING, so the
 *   next run leaves it alone for `pendingStaleMs`) and enqueued again. A
 *   second job for a message is harmless: the sender moves PENDING → SENDING
 *   conditionally, so it is sent at most once.
 * - PENDING, past the window: EXPIRED.
 * - SENDING, older than the stuck age: UNKNOWN (the call may have gone out;
 *   it is never resent).
 */
export async function sweepStuck(deps: SweepDeps): Promise<SweepReport> {
  const s = {
    pendingStaleMs: deps.settings.pendingStaleMs ?? 20 * 60_000,
    sendingStaleMs: deps.settings.sendingStaleMs ?? 5 * 60_000,
    expirySafetyMs: deps.settings.expirySafetyMs ?? 60_000,
    batchLimit: deps.settings.batchLimit ?? 200,
  };
  const now = deps.clock.now();
  let requeued = 0;
  let expired = 0;
  let unknown = 0;
  let raced = 0;
  const log = (level: 'info' | 'warn' | 'error', message: string, record: AuditRecord, extra: Record<string, unknown> = {}) =>
    deps.logger[level](message, {
      messageId: record.messageId,
      state: record.state,
      updatedAt: record.updatedAt,
      sender: maskAddress(record.sender, deps.settings.logAddresses ?? false),
      ...extra,
    });

  for (const record of await deps.stale.stale('PENDING', new Date(now - s.pendingStaleMs), s.batchLimit)) {
    const ageMs = now - Date.parse(record.updatedAt);
    if (now >= Date.parse(record.receivedAt) + SEND_WINDOW_MS - s.expirySafetyMs) {
      const moved = await deps.ledger.transition(record.messageId, ['PENDING'], 'EXPIRED', {
        lastError: `expired in PENDING: the sweep found it ${Math.round(ageMs / 1000)} s after its last change, past the 24 h sendbounce window`,
      });
      if (!moved) raced += 1;
      else {
        expired += 1;
        log('warn', 'sweep: stale pending claim expired', record, { ageMs });
      }
      continue;
    }
    const touched = await deps.ledger.transition(record.messageId, ['PENDING'], 'PENDING', {
      lastError: `re-enqueued by the sweep after ${Math.round(ageMs / 1000)} s in PENDING`,
    });
    if (!touched) {
      raced += 1;
      continue;
    }
    await deps.queue.enqueue(jobFrom(record));
    requeued += 1;
    log('warn', 'sweep: stale pending claim re-enqueued', record, { ageMs });
  }

  for (const record of await deps.stale.stale('SENDING', new Date(now - s.sendingStaleMs), s.batchLimit)) {
    const ageMs = now - Date.parse(record.updatedAt);
    const moved = await deps.ledger.transition(record.messageId, ['SENDING'], 'UNKNOWN', {
      lastError: `stuck in SENDING for ${Math.round(ageMs / 1000)} s (found by the sweep): the sending process died; not resent`,
    });
    if (!moved) raced += 1;
    else {
      unknown += 1;
      log('error', 'sweep: bounce outcome unknown: a process died during SendBounce', record, { ageMs });
    }
  }

  if (requeued) deps.metrics.addMetric(MetricName.ClaimsRequeued, MetricUnit.Count, requeued);
  if (expired) deps.metrics.addMetric(MetricName.BouncesExpired, MetricUnit.Count, expired);
  if (unknown) deps.metrics.addMetric(MetricName.BouncesUnknown, MetricUnit.Count, unknown);
  return { requeued, expired, unknown, raced };
}
