/**
 * Runs the receive path for local mode with the receive Lambda's own code:
 * `buildReceiveDeps` and `createReceiveHandler` from lambda/app, the bounce
 * queue swapped for the in-memory one, and a logger that also records each
 * recipient decision for the local one-line-per-recipient report.
 */
import { buildReceiveDeps, createReceiveHandler } from '../../lambda/app/receive-wiring';
import type { ReceiveLogSink } from '../../lambda/app/receive-message';
import type { Clients } from '../../lambda/commons/clients';
import { logger as projectLogger } from '../../lambda/commons/logger';
import type { Config } from '../../lambda/config/config';
import type { RecipientDecision } from '../../lambda/domain/model';
import type { BounceQueue } from '../../lambda/ports';
import type { LoggedDecision } from './report';

/**
 * A logger that forwards everything to the project logger and keeps the
 * `recipient decision` entries by message id. The use case logs each decision
 * with messageId, ruleId, action and recipient (in clear when LOG_ADDRESSES is
 * true, as local mode sets it).
 */
export class DecisionRecorder implements ReceiveLogSink {
  private readonly decisions = new Map<string, LoggedDecision[]>();

  constructor(private readonly forward: ReceiveLogSink = projectLogger) {}

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
    this.forward.info(message, extra);
  }

  warn(message: string, extra: Record<string, unknown>): void {
    this.forward.warn(message, extra);
  }

  error(message: string, extra: Record<string, unknown>): void {
    this.forward.error(message, extra);
  }

  /** Removes and returns what was recorded for one message. */
  take(messageId: string): LoggedDecision[] {
    const list = this.decisions.get(messageId) ?? [];
    this.decisions.delete(messageId);
    return list;
  }
}

/** A receive invocation's outcome as local mode reports it. */
export interface ReceiveInvocation {
  readonly disposition: string;
  /** Recipient decisions of the invocation's message, as the use case logged them. */
  readonly decisions: readonly LoggedDecision[];
}

/**
 * Builds the receive handler once (like a Lambda's module scope) and returns
 * an invoker for one single-record event.
 */
export function createReceiveInvoker(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 's3' | 'sqs'>,
  queue: BounceQueue,
): (event: unknown, messageId: string) => Promise<ReceiveInvocation> {
  const recorder = new DecisionRecorder();
  const handler = createReceiveHandler({ ...buildReceiveDeps(config, clients, { logger: recorder }), queue });
  return async (event, messageId) => {
    // A retried invocation logs its decisions again: keep only this run's.
    recorder.take(messageId);
    try {
      const { disposition } = await handler(event);
      return { disposition, decisions: recorder.take(messageId) };
    } catch (error) {
      recorder.take(messageId);
      throw error;
    }
  };
}
