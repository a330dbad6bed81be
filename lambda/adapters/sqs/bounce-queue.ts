import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BounceJob, BounceQueue } from '../../ports';
import { encodeBounceJob } from './bounce-job';

/** SQS refuses delays above 15 minutes. */
export const MAX_SQS_DELAY_SECONDS = 900;

export interface SqsBounceQueueOptions {
  readonly client: SQSClient;
  /** Config `bounceQueueUrl`; a standard queue (jobs are deduplicated by the ledger, not by FIFO). */
  readonly queueUrl: string;
}

/**
 * The durable queue between receiving and sending: one SendMessage per job,
 * the job as its compact JSON body (`encodeBounceJob`, read back with `parseBounceJob`).
 */
export class SqsBounceQueue implements BounceQueue {
  constructor(private readonly options: SqsBounceQueueOptions) {}

  async enqueue(job: BounceJob, options?: { delaySeconds?: number }): Promise<void> {
    const delay = options?.delaySeconds;
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.queueUrl,
        MessageBody: encodeBounceJob(job),
        // Only send a delay when asked: otherwise the queue's own default applies.
        DelaySeconds:
          delay === undefined ? undefined : Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil(delay))),
        MessageAttributes: { messageId: { DataType: 'String', StringValue: job.messageId } },
      }),
    );
  }
}
