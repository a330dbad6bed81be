/**
 * The local stand-in for SQS and its Lambda event source mapping: drains the
 * in-memory bounce queue, honours each job's delay, and hands jobs to the send
 * handler as SQS records (one per batch, like a batch size of 1), with up to
 * `concurrency` handlers running at once, as Lambda's reserved concurrency
 * allows. A record the handler reports as failed comes back after the
 * visibility timeout until `maxReceiveCount`, then goes to the "dead-letter
 * queue" (a callback).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MemoryBounceQueue } from '../../lambda/adapters/memory/bounce-queue';
import type { BounceJob } from '../../lambda/ports';

/** The queue ARN the local records claim to come from. */
export const LOCAL_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:ses-bouncer-local-bounces';

export interface SendWorkerOptions {
  readonly queue: MemoryBounceQueue;
  /** The send handler (the same code as the SQS-triggered Lambda). */
  readonly handle: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** @default 2 */
  readonly concurrency?: number;
  /** How often the queue is drained. @default 50 */
  readonly pollMs?: number;
  /** Delay before a failed record is delivered again. @default 5000 */
  readonly visibilityTimeoutMs?: number;
  /** Deliveries before a record goes to the dead-letter callback. @default 3 */
  readonly maxReceiveCount?: number;
  /** After each delivery, whatever the handler answered. */
  readonly onDelivered?: (job: BounceJob, failed: boolean) => void | Promise<void>;
  readonly onDeadLetter?: (job: BounceJob) => void;
  /** Unexpected errors of the loop itself (the handler threw). */
  readonly onError?: (error: unknown) => void;
}

export interface SendWorker {
  /** Jobs waiting (delayed or ready) plus those being handled. */
  pending(): number;
  /** Stops polling and waits for running handlers; delayed jobs are dropped. */
  stop(): Promise<void>;
}

interface Delivery {
  readonly sqsMessageId: string;
  readonly body: string;
  readonly job: BounceJob;
  readonly sentAt: number;
  receiveCount: number;
  visibleAt: number;
}

function recordOf(d: Delivery): SQSRecord {
  return {
    messageId: d.sqsMessageId,
    receiptHandle: `local-${d.sqsMessageId}-${d.receiveCount}`,
    body: d.body,
    attributes: {
      ApproximateReceiveCount: String(d.receiveCount),
      SentTimestamp: String(d.sentAt),
      SenderId: 'LOCAL',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(d.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: LOCAL_QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

/** Starts draining the queue. */
export function startSendWorker(options: SendWorkerOptions): SendWorker {
  const concurrency = options.concurrency ?? 2;
  const visibilityMs = options.visibilityTimeoutMs ?? 5000;
  const maxReceives = options.maxReceiveCount ?? 3;
  const waiting: Delivery[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;

  const deliver = async (d: Delivery): Promise<void> => {
    d.receiveCount += 1;
    let failed = true;
    try {
      const response = await options.handle({ Records: [recordOf(d)] });
      failed = response.batchItemFailures.some((f) => f.itemIdentifier === d.sqsMessageId);
    } catch (error) {
      options.onError?.(error);
    }
    if (failed) {
      if (d.receiveCount >= maxReceives) options.onDeadLetter?.(d.job);
      else {
        d.visibleAt = Date.now() + visibilityMs;
        waiting.push(d);
      }
    }
    await options.onDelivered?.(d.job, failed);
  };

  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    for (const { job, delaySeconds } of options.queue.take()) {
      waiting.push({ sqsMessageId: randomUUID(), body: JSON.stringify(job), job, sentAt: now, receiveCount: 0, visibleAt: now + delaySeconds * 1000 });
    }
    waiting.sort((a, b) => a.visibleAt - b.visibleAt);
    while (running.size < concurrency && waiting.length > 0 && waiting[0].visibleAt <= now) {
      const d = waiting.shift() as Delivery;
      const run: Promise<void> = deliver(d)
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => running.delete(run));
      running.add(run);
    }
  };

  const timer = setInterval(tick, options.pollMs ?? 50);
  return {
    pending: () => waiting.length + running.size + options.queue.jobs.length,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...running]);
    },
  };
}
