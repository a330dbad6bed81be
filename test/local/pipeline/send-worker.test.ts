import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { parseBounceJob } from '../../../lambda/adapters/sqs/bounce-job';
import type { BounceJob } from '../../../lambda/ports';
import { startSendWorker, type SendWorker } from '../../../local/pipeline/send-worker';

const job = (messageId: string): BounceJob => ({
  messageId,
  receivedAt: '2026-03-01T10:00:00.000Z',
  sender: 'alice@sender.example',
  recipients: [{ recipient: 'former@example.com', ruleId: 'former-employee', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }],
});

const until = async (cond: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('send-worker', () => {
  describe('startSendWorker', () => {
    let worker: SendWorker | undefined;
    afterEach(async () => {
      await worker?.stop();
      worker = undefined;
    });

    it('hands each queued job to the handler as an SQS record whose body is the job', async () => {
      const queue = new MemoryBounceQueue();
      const events: SQSEvent[] = [];
      worker = startSendWorker({ queue, handle: async (e) => (events.push(e), { batchItemFailures: [] }), pollMs: 5 });
      await queue.enqueue(job('m1'));
      await until(() => events.length === 1);
      const record = events[0].Records[0];
      expect(events[0].Records).toHaveLength(1);
      expect(parseBounceJob(record.body)).toEqual(job('m1'));
      expect(record.eventSource).toBe('aws:sqs');
      expect(record.attributes.ApproximateReceiveCount).toBe('1');
      await until(() => worker!.pending() === 0);
    });

    it('waits for the delay a job was enqueued with', async () => {
      const queue = new MemoryBounceQueue();
      const seenAt: number[] = [];
      worker = startSendWorker({ queue, handle: async () => (seenAt.push(Date.now()), { batchItemFailures: [] }), pollMs: 5 });
      const start = Date.now();
      await queue.enqueue(job('m1'), { delaySeconds: 1 });
      await until(() => seenAt.length === 1);
      expect(seenAt[0] - start).toBeGreaterThanOrEqual(950);
    });

    it('runs no more handlers at once than the concurrency', async () => {
      const queue = new MemoryBounceQueue();
      let now = 0;
      let peak = 0;
      let done = 0;
      worker = startSendWorker({
        queue,
        concurrency: 2,
        pollMs: 5,
        handle: async () => {
          now += 1;
          peak = Math.max(peak, now);
          await new Promise((r) => setTimeout(r, 30));
          now -= 1;
          done += 1;
          return { batchItemFailures: [] };
        },
      });
      for (let i = 0; i < 6; i++) await queue.enqueue(job(`m${i}`));
      await until(() => done === 6);
      expect(peak).toBe(2);
    });

    it('delivers a failed record again after the visibility timeout, then dead-letters it', async () => {
      const queue = new MemoryBounceQueue();
      const counts: string[] = [];
      const dead: BounceJob[] = [];
      worker = startSendWorker({
        queue,
        pollMs: 5,
        visibilityTimeoutMs: 50,
        maxReceiveCount: 3,
        handle: async (e): Promise<SQSBatchResponse> => {
          counts.push(e.Records[0].attributes.ApproximateReceiveCount);
          return { batchItemFailures: [{ itemIdentifier: e.Records[0].messageId }] };
        },
        onDeadLetter: (j) => dead.push(j),
      });
      await queue.enqueue(job('m1'));
      await until(() => dead.length === 1);
      expect(counts).toEqual(['1', '2', '3']);
      expect(dead[0].messageId).toBe('m1');
    });

    it('counts a thrown handler as a failed delivery and reports the error', async () => {
      const queue = new MemoryBounceQueue();
      const errors: unknown[] = [];
      const delivered: boolean[] = [];
      worker = startSendWorker({
        queue,
        pollMs: 5,
        maxReceiveCount: 1,
        handle: async () => {
          throw new Error('boom');
        },
        onError: (e) => errors.push(e),
        onDelivered: (_j, failed) => void delivered.push(failed),
      });
      await queue.enqueue(job('m1'));
      await until(() => delivered.length === 1);
      expect(delivered).toEqual([true]);
      expect(String(errors[0])).toContain('boom');
    });
  });
});
