import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MAX_SQS_DELAY_SECONDS, SqsBounceQueue } from '../../../../lambda/adapters/sqs/bounce-queue';
import { parseBounceJob } from '../../../../lambda/adapters/sqs/bounce-job';
import type { BounceJob } from '../../../../lambda/ports';

const job: BounceJob = {
  messageId: 'msg-0001',
  receivedAt: '2026-11-26T10:00:00.000Z',
  sender: 'alice@sender.example',
  recipients: [{ recipient: 'bob@example.com', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }],
};

/** A real SQSClient whose `send` is replaced: SQS has no local stand-in, so the test stops at the SDK edge. */
function mockedClient() {
  const client = new SQSClient({ region: 'us-east-1' });
  const send = jest.fn().mockResolvedValue({ MessageId: 'sqs-1' });
  client.send = send as unknown as SQSClient['send'];
  return { client, send };
}

describe('bounce-queue (sqs)', () => {
  describe('SqsBounceQueue.enqueue', () => {
    it('sends the job as the JSON body to the configured queue', async () => {
      const { client, send } = mockedClient();
      await new SqsBounceQueue({ client, queueUrl: 'https://sqs.example/123/bounces' }).enqueue(job);
      expect(send).toHaveBeenCalledTimes(1);
      const command = send.mock.calls[0][0];
      expect(command).toBeInstanceOf(SendMessageCommand);
      expect(command.input.QueueUrl).toBe('https://sqs.example/123/bounces');
      expect(command.input.DelaySeconds).toBeUndefined();
      expect(command.input.MessageGroupId).toBeUndefined();
      expect(command.input.MessageAttributes).toEqual({ messageId: { DataType: 'String', StringValue: 'msg-0001' } });
      expect(parseBounceJob(command.input.MessageBody)).toEqual(job);
    });

    it('rounds the delay up and caps it at the SQS maximum', async () => {
      const { client, send } = mockedClient();
      const queue = new SqsBounceQueue({ client, queueUrl: 'q' });
      await queue.enqueue(job, { delaySeconds: 1.2 });
      await queue.enqueue(job, { delaySeconds: 5000 });
      await queue.enqueue(job, { delaySeconds: -3 });
      expect(send.mock.calls.map((call) => call[0].input.DelaySeconds)).toEqual([2, MAX_SQS_DELAY_SECONDS, 0]);
    });

    it('lets an SQS failure reach the caller', async () => {
      const { client, send } = mockedClient();
      send.mockRejectedValueOnce(Object.assign(new Error('queue does not exist'), { name: 'QueueDoesNotExist' }));
      await expect(new SqsBounceQueue({ client, queueUrl: 'q' }).enqueue(job)).rejects.toThrow('queue does not exist');
    });
  });
});
