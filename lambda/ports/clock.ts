/**
 * Time as the send path sees it. The rate gate and the send use case sleep
 * until their slot and compare epoch milliseconds; tests pass a fake clock
 * whose `sleep` advances time instantly.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds (immediately for `ms <= 0`). */
  sleep(ms: number): Promise<void>;
}

/** The process clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()),
};
