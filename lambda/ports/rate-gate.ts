import type { AuditRecord, BounceState } from './index';

/**
 * A state change of the message ledger that the gate applies in the same
 * atomic write as the slot reservation, so that "take the next SendBounce slot"
 * and "PENDING → SENDING" cost one write request and cannot half-happen.
 */
export interface GatedTransition {
  readonly messageId: string;
  readonly from: readonly BounceState[];
  readonly to: BounceState;
  readonly patch?: Partial<Pick<AuditRecord, 'attempts' | 'sesBounceMessageId' | 'lastError'>>;
}

/** A reserved start time for one SendBounce call. */
export interface Slot {
  /** Epoch ms: the call must not start before this. */
  readonly startAt: number;
  /**
   * Epoch ms: the call must not start after this either. A late start would
   * shorten the gap to the next holder's slot below the interval; a holder
   * that misses this deadline gives the slot up and acquires another.
   */
  readonly latestStartAt: number;
}

export type AcquireResult =
  /** The slot is ours and, when asked, the transition was applied with it. */
  | { readonly kind: 'reserved'; readonly slot: Slot }
  /** The next free slot is further away than `maxWaitMs`: nothing was written. */
  | { readonly kind: 'no-slot'; readonly nextFreeAt: number }
  /** The transition's condition failed (another consumer moved the message): nothing was written. */
  | { readonly kind: 'transition-refused' };

export interface AcquireOptions {
  /** Give up (`no-slot`) rather than reserve a slot starting later than now + this. */
  readonly maxWaitMs: number;
  /** Applied atomically with the reservation; omitted when the caller already holds the message. */
  readonly transition?: GatedTransition;
}

/**
 * The shared pace-maker for SendBounce: every sender instance (and every stack
 * configured with the same gate key) reserves slots from one counter, so that
 * consecutive calls start at least the configured interval apart.
 *
 * The gate only hands out start times; the holder sleeps until `startAt` and
 * must start before `latestStartAt` (see {@link Slot}).
 */
export interface RateGate {
  acquire(options: AcquireOptions): Promise<AcquireResult>;
}

/** Extra spacing added after every slot; must be ≥ the lateness tolerance (gap ≥ interval + margin − tolerance). */
export const DEFAULT_SLOT_MARGIN_MS = 40;
/** How late a holder may start its call before it must give the slot up. */
export const DEFAULT_LATE_TOLERANCE_MS = 20;

/** Throws when a gate's margin is below its lateness tolerance: calls could then start closer than the interval. */
export function assertSlotSpacing(marginMs: number, lateToleranceMs: number): void {
  if (!(marginMs >= lateToleranceMs && lateToleranceMs >= 0)) {
    throw new RangeError(
      `rate gate margin ${marginMs} ms is below the lateness tolerance ${lateToleranceMs} ms: calls could start closer than the interval`,
    );
  }
}
