import { MemoryBounceQueue } from '../../../../lambda/adapters/memory/bounce-queue';
import { job } from '../../app/send-fakes';

describe('bounce-queue (memory)', () => {
  describe('enqueue', () => {
    it('keeps a copy of each job with its delay, in order, until taken', async () => {
      const queue = new MemoryBounceQueue();
      const j = job();
      await queue.enqueue(j);
      await queue.enqueue(job('msg-2'), { delaySeconds: 30 });
      (j.recipients as unknown[]).length = 0;
      const taken = queue.take();
      expect(taken.map((q) => [q.job.messageId, q.delaySeconds])).toEqual([['msg-1', 0], ['msg-2', 30]]);
      expect(taken[0].job.recipients).toHaveLength(1);
      expect(queue.jobs).toHaveLength(0);
    });
  });
});
