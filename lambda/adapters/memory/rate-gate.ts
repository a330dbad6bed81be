import type { Clock } from '../../ports/clock';
import {
  DEFAULT_LATE_TOLERANCE_MS,
  DEFAULT_SLOT_MARGIN_MS,
  assertSlotSpacing,
  type AcquireOptions,
  type AcquireResult,
  type RateGate,
} from '../../ports/rate-gate';
import type { MemoryMessageLedger } from './message-ledger';

export interface MemoryRateGateOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Applies transitions atomically with the reservation. */
  readonly ledger: MemoryMessageLedger;
  readonly marginMs?: number;
  readonly lateToleranceMs?: number;
}

/**
 * The slot-reservation gate of `dynamodb/rate-gate.ts` for one process: same
 * arithmetic, no races (the check and the write happen without an `await`).
 */
export class MemoryRateGate implements RateGate {
  private nextSlotAt = 0;
  private readonly marginMs: number;
  private readonly lateToleranceMs: number;

  constructor(private readonly options: MemoryRateGateOptions) {
    this.marginMs = options.marginMs ?? DEFAULT_SLOT_MARGIN_MS;
    this.lateToleranceMs = options.lateToleranceMs ?? DEFAULT_LATE_TOLERANCE_MS;
    assertSlotSpacing(this.marginMs, this.lateToleranceMs);
  }

  /** Reservations made so far, in order (start times), for assertions. */
  readonly reservations: number[] = [];

  async acquire({ maxWaitMs, transition }: AcquireOptions): Promise<AcquireResult> {
    const now = this.options.clock.now();
    const startAt = Math.max(now, this.nextSlotAt);
    if (startAt - now > maxWaitMs) return { kind: 'no-slot', nextFreeAt: startAt };
    if (transition) {
      if (!this.options.ledger.canTransition(transition.messageId, transition.from)) return { kind: 'transition-refused' };
      this.options.ledger.transitionNow(transition.messageId, transition.from, transition.to, transition.patch);
    }
    this.nextSlotAt = startAt + this.options.intervalMs + this.marginMs;
    this.reservations.push(startAt);
    return { kind: 'reserved', slot: { startAt, latestStartAt: startAt + this.lateToleranceMs } };
  }
}
