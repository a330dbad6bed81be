/**
 * Runs the receive path for local mode: the same use case and adapters as the
 * receive Lambda, built from config and the shared clients, with the bounce
 * queue swapped for the in-memory one and a logger that also records each
 * recipient decision for the local one-line-per-recipient report.
 */
import { DynamoDbRuleSource } from '../../lambda/adapters/dynamodb/rule-source';
import { DynamoDbSenderBudget } from '../../lambda/adapters/dynamodb/sender-budget';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { S3MailStore } from '../../lambda/adapters/s3/mail-store';
import { receiveMessage, type ReceiveLogSink, type ReceiveResult } from '../../lambda/app/receive-message';
import type { Clients } from '../../lambda/commons/clients';
import { logger as projectLogger } from '../../lambda/commons/logger';
import type { Config } from '../../lambda/config/config';
import { parseSesEvent } from '../../lambda/domain/event/ses-event';
import { checkSender } from '../../lambda/domain/guard';
import type { RecipientDecision } from '../../lambda/domain/model';
import type { BounceQueue } from '../../lambda/ports';
import type { LoggedDecision } from './report';

/** What one invocation decided, per message id of the event's records. */
export interface ReceiveInvocation {
  readonly results: readonly ReceiveResult[];
  /** Recipient decisions by message id, as the use case logged them. */
  readonly decisions: ReadonlyMap<string, LoggedDecision[]>;
}

/**
 * A logger that forwards everything to the project logger and keeps the
 * `recipient decision` entries of the current invocation. The use case logs
 * each decision with messageId, ruleId, action and recipient (in clear when
 * `LOG_ADDRESSES` is true, as local mode sets it).
 */
class DecisionRecorder implements ReceiveLogSink {
  decisions = new Map<string, LoggedDecision[]>();

  info(message: string, extra: Record<string, unknown>): void {
    if (message === 'recipient decision' && typeof extra.messageId === 'string') {
      const list = this.decisions.get(extra.messageId) ?? [];
      list.push({
        recipient: String(extra.recipient),
        action: extra.action as RecipientDecision['action'],
        ...(typeof extra.ruleId === 'string' ? { ruleId: extra.ruleId } : {}),
      });
      this.decisions.set(extra.messageId, list);
    }
    projectLogger.info(message, extra);
  }

  warn(message: string, extra: Record<string, unknown>): void {
    projectLogger.warn(message, extra);
  }

  error(message: string, extra: Record<string, unknown>): void {
    projectLogger.error(message, extra);
  }
}

/**
 * Builds the receive invoker once (like a Lambda's module scope): validates
 * the event with the handler's schema and runs the use case on each record.
 */
export function createReceiveInvoker(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 's3'>,
  queue: BounceQueue,
): (event: unknown) => Promise<ReceiveInvocation> {
  const rules = new DynamoDbRuleSource({ client: clients.dynamodb, tableName: config.rulesTable, cacheMs: config.rulesCacheMs });
  const deps = {
    rules,
    mail: new S3MailStore({ client: clients.s3, bucket: config.mailBucket, prefix: config.mailPrefix }),
    ledger: new DynamoDbMessageLedger({ client: clients.dynamodb, tableName: config.stateTable }),
    budget: new DynamoDbSenderBudget({
      client: clients.dynamodb,
      tableName: config.stateTable,
      perAddress: config.senderBudgetPerAddress,
      perDomain: config.senderBudgetPerDomain,
      windowMs: config.senderBudgetWindowMs,
    }),
    queue,
    checkSender,
    policy: { senderAuth: config.senderAuthPolicy },
    clock: { now: () => Date.now() },
    auditTtlDays: config.auditTtlDays,
    logAddresses: config.logAddresses,
  };
  return async (event) => {
    const recorder = new DecisionRecorder();
    const parsed = parseSesEvent(event);
    const results: ReceiveResult[] = [];
    for (const record of parsed.Records) results.push(await receiveMessage({ ...deps, logger: recorder }, record));
    return { results, decisions: recorder.decisions };
  };
}
