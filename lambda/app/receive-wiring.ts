import type { Context } from 'aws-lambda';
import { DynamoDbMessageLedger } from '../adapters/dynamodb/message-ledger';
import { DynamoDbRuleSource } from '../adapters/dynamodb/rule-source';
import { DynamoDbSenderBudget } from '../adapters/dynamodb/sender-budget';
import { S3MailStore } from '../adapters/s3/mail-store';
import { SqsBounceQueue } from '../adapters/sqs/bounce-queue';
import type { Clients } from '../commons/clients';
import { logger as defaultLogger } from '../commons/logger';
import { metrics as defaultMetrics } from '../commons/metrics';
import type { Config } from '../config/config';
import { parseSesEvent } from '../domain/event/ses-event';
import { checkSender } from '../domain/guard';
import {
  receiveMessage,
  type Disposition,
  type ReceiveDeps,
  type ReceiveLogSink,
  type ReceiveMetricsSink,
  type ReceiveResult,
} from './receive-message';
import { beginInvocation, type Invocation, type InvocationOptions } from './invocation';

/**
 * Builds the receive use case's dependencies from config and the shared
 * clients: rules and budget and ledger on DynamoDB, the stored mail on S3,
 * the bounce queue on SQS. Called once per process at module scope of the
 * handler; local mode passes its own clients (and clock, logger, metrics).
 */
export function buildReceiveDeps(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 's3' | 'sqs'>,
  overrides: {
    clock?: { now(): number };
    logger?: ReceiveLogSink;
    metrics?: ReceiveMetricsSink;
  } = {},
): ReceiveDeps {
  const clock = overrides.clock ?? { now: () => Date.now() };
  return {
    rules: new DynamoDbRuleSource({
      client: clients.dynamodb,
      tableName: config.rulesTable,
      cacheMs: config.rulesCacheMs,
      now: () => clock.now(),
      // The same sinks as the use case: rule-load logs and InvalidRules go where the caller said.
      ...(overrides.logger ? { logger: overrides.logger } : {}),
      ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
    }),
    mail: new S3MailStore({ client: clients.s3, bucket: config.mailBucket, prefix: config.mailPrefix }),
    ledger: new DynamoDbMessageLedger({ client: clients.dynamodb, tableName: config.stateTable, now: () => new Date(clock.now()) }),
    budget: new DynamoDbSenderBudget({
      client: clients.dynamodb,
      tableName: config.stateTable,
      perAddress: config.senderBudgetPerAddress,
      perDomain: config.senderBudgetPerDomain,
      windowMs: config.senderBudgetWindowMs,
    }),
    queue: new SqsBounceQueue({ client: clients.sqs, queueUrl: config.bounceQueueUrl }),
    checkSender,
    policy: { senderAuth: config.senderAuthPolicy },
    clock,
    auditTtlDays: config.auditTtlDays,
    logAddresses: config.logAddresses,
    shadowMode: config.shadowMode,
    logger: overrides.logger ?? defaultLogger,
    metrics: overrides.metrics ?? defaultMetrics,
  };
}

export type { LogContext } from './invocation';

export interface ReceiveHandlerOptions extends InvocationOptions {
  /** Called after every invocation (the handler passes `metrics.publishStoredMetrics`). */
  readonly flush?: () => void;
  /** Where an invalid event is reported. @default the project logger */
  readonly logger?: ReceiveLogSink;
  /** Told each record's result (local mode prints one line per recipient from it). */
  readonly onResult?: (messageId: string, result: ReceiveResult) => void;
}

/**
 * The function the receipt rule's Lambda action invokes. Validates the event
 * (an invalid one throws `ValidationError`: with the Event invocation type
 * Lambda retries and then dead-letters it, nothing is bounced), decides every
 * record, and answers `STOP_RULE_SET` only when every record says so (SES
 * reads the answer with RequestResponse and ignores it otherwise).
 *
 * Every record is attempted even if an earlier one fails, so one missing
 * object does not hold up the others; the first error is rethrown at the end
 * so Lambda retries, and the claims make the retry skip what was done.
 */
export function createReceiveHandler(deps: ReceiveDeps, options: ReceiveHandlerOptions = {}) {
  const log = options.logger ?? deps.logger ?? defaultLogger;
  return async (event: unknown, context?: Context): Promise<{ disposition: Disposition }> => {
    try {
      const invocation = await beginInvocation(options, context, 'receive');
      return await invocation.run(() => receiveAll(event, invocation));
    } finally {
      options.flush?.();
    }
  };

  async function receiveAll(event: unknown, invocation: Invocation): Promise<{ disposition: Disposition }> {
    let parsed;
    try {
      parsed = parseSesEvent(event);
    } catch (err) {
      log.error('invalid ses event', { error: (err as Error).message });
      throw err;
    }
    let stopAll = true;
    let failure: unknown;
    for (const record of parsed.Records) {
      const messageId = record.ses.mail.messageId;
      await invocation.forMessage(messageId, async () => {
        try {
          const result = await receiveMessage(deps, record);
          options.onResult?.(messageId, result);
          if (result.disposition !== 'STOP_RULE_SET') stopAll = false;
        } catch (err) {
          stopAll = false;
          failure ??= err;
          log.error('message not processed', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        }
      });
    }
    if (failure !== undefined) throw failure;
    return { disposition: stopAll ? 'STOP_RULE_SET' : 'CONTINUE' };
  }
}
