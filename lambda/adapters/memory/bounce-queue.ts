import type { BounceJob, BounceQueue } from '../../ports';

/** One enqueued job with the delay it asked for. */
export interface QueuedJob {
  readonly job: BounceJob;
  readonly delaySeconds: number;
}

/** BounceQueue in an array, for unit tests and local mode; `take()` drains it in order. */
export class MemoryBounceQueue implements BounceQueue {
  readonly jobs: QueuedJob[] = [];

  async enqueue(job: BounceJob, options?: { delaySeconds?: number }): Promise<void> {
    // A deep copy, like a real queue's serialisation: later mutations of the caller's object do not leak in.
    this.jobs.push({ job: JSON.parse(JSON.stringify(job)) as BounceJob, delaySeconds: options?.delaySeconds ?? 0 });
  }

  /** Removes and returns every queued job. */
  take(): QueuedJob[] {
    return this.jobs.splice(0, this.jobs.length);
  }
}
