/**
 * Runs the receive path for local mode with the receive Lambda's own code:
 * `buildReceiveDeps` and `createReceiveHandler` from lambda/app, with the
 * bounce queue swapped for the in-memory one. The handler's `onResult` hook
 * hands back each record's recipient decisions for the local report.
 */
import { buildReceiveDeps, createReceiveHandler } from '../../lambda/app/receive-wiring';
import type { Clients } from '../../lambda/commons/clients';
import type { Config } from '../../lambda/config/config';
import type { RecipientDecision } from '../../lambda/domain/model';
import type { BounceQueue } from '../../lambda/ports';

/** A receive invocation's outcome as local mode reports it. */
export interface ReceiveInvocation {
  readonly disposition: string;
  /** Recipient decisions of the invocation's message. */
  readonly decisions: readonly RecipientDecision[];
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
  const results = new Map<string, readonly RecipientDecision[]>();
  const handler = createReceiveHandler(
    // Rules edited while local mode runs are compiled from the stream; the next message after the
    // cache time reads the new pointer and snapshot, as on AWS.
    { ...buildReceiveDeps(config, clients), queue },
    { onResult: (messageId, result) => results.set(messageId, result.decisions) },
  );
  return async (event, messageId) => {
    try {
      const { disposition } = await handler(event);
      return { disposition, decisions: results.get(messageId) ?? [] };
    } finally {
      results.delete(messageId);
    }
  };
}
