import { DynamoDbMessageLedger } from '../adapters/dynamodb/message-ledger';
import { SqsBounceQueue } from '../adapters/sqs/bounce-queue';
import type { Context } from 'aws-lambda';
import type { Clients } from '../commons/clients';
import { logger as defaultLogger } from '../commons/logger';
import { metrics as defaultMetrics } from '../commons/metrics';
import type { Config } from '../config/config';
import { beginInvocation, type InvocationOptions } from './invocation';
import type { LogSink, MetricsSink } from './send-bounce';
import { sweepStuck, type SweepDeps, type SweepReport } from './sweep-stuck';

/**
 * Builds the sweep's dependencies: the ledger (and its open index) on the
 * state table, the bounce queue. The SENDING stuck age is the send path's
 * default for the configured slot wait, so both call the same items dead.
 */
export function buildSweepDeps(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 'sqs'>,
  overrides: { clock?: { now(): number }; metrics?: MetricsSink; logger?: LogSink } = {},
): SweepDeps {
  const clock = overrides.clock ?? { now: () => Date.now() };
  const ledger = new DynamoDbMessageLedger({ client: clients.dynamodb, tableName: config.stateTable, now: () => new Date(clock.now()) });
  return {
    ledger,
    stale: ledger,
    queue: new SqsBounceQueue({ client: clients.sqs, queueUrl: config.bounceQueueUrl }),
    clock,
    settings: {
      sendingStaleMs: Math.max(5 * 60_000, config.maxSlotWaitMs + 2 * 60_000),
      logAddresses: config.logAddresses,
    },
    metrics: overrides.metrics ?? defaultMetrics,
    logger: overrides.logger ?? defaultLogger,
  };
}

/**
 * The scheduled handler: one sweep per invocation; metrics flushed after it.
 * It handles many messages, so its lines carry the Lambda context but no
 * correlation id.
 */
export function createSweepHandler(deps: SweepDeps, options: InvocationOptions & { flush?: () => void } = {}) {
  return async (_event?: unknown, context?: Context): Promise<SweepReport> => {
    try {
      const invocation = await beginInvocation(options, context, 'sweep');
      return await invocation.run(async () => {
        const report = await sweepStuck(deps);
        deps.logger.info('sweep done', { ...report });
        return report;
      });
    } finally {
      options.flush?.();
    }
  };
}
