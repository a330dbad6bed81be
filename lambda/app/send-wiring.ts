import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbMessageLedger } from '../adapters/dynamodb/message-ledger';
import { DynamoDbRateGate } from '../adapters/dynamodb/rate-gate';
import { SesBounceSender } from '../adapters/ses/bounce-sender';
import { SqsBounceQueue } from '../adapters/sqs/bounce-queue';
import { InvalidBounceJobError, parseBounceJob } from '../adapters/sqs/bounce-job';
import type { Clients } from '../commons/clients';
import { logger as defaultLogger } from '../commons/logger';
import { metrics as defaultMetrics } from '../commons/metrics';
import type { Config } from '../config/config';
import { systemClock, type Clock } from '../ports/clock';
import { beginInvocation, type InvocationOptions } from './invocation';
import { minJobMs, sendBounce, type LogSink, type MetricsSink, type SendBounceDeps } from './send-bounce';

/**
 * Builds the send use case's dependencies from config and the shared clients:
 * the ledger and the rate gate on the state table, SES, and the bounce queue
 * (for requeues). Called once per process, at module scope of the handler.
 */
export function buildSendDeps(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 'ses' | 'sqs'>,
  overrides: { clock?: Clock; metrics?: MetricsSink; logger?: LogSink } = {},
): SendBounceDeps {
  const clock = overrides.clock ?? systemClock;
  return {
    ledger: new DynamoDbMessageLedger({ client: clients.dynamodb, tableName: config.stateTable, now: () => new Date(clock.now()) }),
    gate: new DynamoDbRateGate({
      client: clients.dynamodb,
      tableName: config.stateTable,
      key: config.rateGateKey,
      intervalMs: config.rateGateIntervalMs,
      marginMs: config.rateGateMarginMs,
      clock,
    }),
    sender: new SesBounceSender(clients.ses),
    queue: new SqsBounceQueue({ client: clients.sqs, queueUrl: config.bounceQueueUrl }),
    clock,
    settings: {
      bounceSender: config.bounceSender,
      bounceSenderArn: config.bounceSenderArn,
      reportingMta: config.reportingMta,
      maxSlotWaitMs: config.maxSlotWaitMs,
      logAddresses: config.logAddresses,
      sesCallMaxMs: config.sesRequestTimeoutMs + 1_000,
    },
    metrics: overrides.metrics ?? defaultMetrics,
    logger: overrides.logger ?? defaultLogger,
  };
}

export interface SendHandlerOptions extends InvocationOptions {
  /** Called after every batch (the handler passes `metrics.publishStoredMetrics`). */
  readonly flush?: () => void;
  /**
   * Records are left for redelivery, untouched, when less than this remains of
   * the invocation: a job may wait this long for its slot. @default 30000
   */
  readonly reserveMs?: number;
}

/**
 * The SQS consumer: parses each record's job and sends it, one record at a
 * time (the rate gate serialises calls anyway). Returns the records SQS must
 * deliver again (`reportBatchItemFailures`): a body that is not a job, a job
 * whose transient retries are exhausted (both end in the DLQ after the
 * queue's maxReceiveCount), any unexpected error, and records not started
 * because the invocation is running out of time.
 */
/** Kept between a job's deadline and the invocation's end (logging, flushing metrics, clock skew). */
export const JOB_SAFETY_MS = 5_000;

/**
 * The least remaining invocation time to start a job with: one read, one
 * slot (waited for at least a second) and the worst case after the call
 * starts (`jobTailMs`), plus {@link JOB_SAFETY_MS}. A job started with more
 * time waits longer for its slot and retries on later slots, but never past
 * its deadline: its waits are cut to what is left. The stack sizes the send
 * function's timeout above this plus the slot wait.
 */
export function sendReserveMs(settings: Parameters<typeof minJobMs>[0] = {}): number {
  return minJobMs(settings) + 1_000 + JOB_SAFETY_MS;
}

export function createSendHandler(deps: SendBounceDeps, options: SendHandlerOptions = {}) {
  const reserveMs = options.reserveMs ?? 30_000;
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const failures: string[] = [];
    try {
      const invocation = await beginInvocation(options, context, 'send');
      await invocation.run(async () => {
        for (const record of event.Records) {
          if (context && context.getRemainingTimeInMillis() < reserveMs) {
            failures.push(record.messageId);
            continue;
          }
          try {
            // The job ends before the invocation does, whatever SES and DynamoDB do (issue 12, defect 4).
            const deadline = context ? deps.clock.now() + context.getRemainingTimeInMillis() - JOB_SAFETY_MS : undefined;
            const job = parseBounceJob(record.body);
            // The SES message id is the correlation id: the receive function's lines for this mail carry the same one.
            const outcome = await invocation.forMessage(job.messageId, () => sendBounce(deps, job, { deadline }));
            if (outcome.kind === 'exhausted') failures.push(record.messageId);
          } catch (error) {
            const invalid = error instanceof InvalidBounceJobError;
            deps.logger.error(invalid ? 'queue record is not a bounce job' : 'bounce job failed unexpectedly', {
              sqsMessageId: record.messageId,
              error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
            });
            failures.push(record.messageId);
          }
        }
      });
    } finally {
      options.flush?.();
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
