/**
 * The receive use case on in-memory state, as the benchmarks run it: the
 * production guard and budget defaults, silent sinks, and the rules and mail
 * store each figure chooses.
 */
import type { ReceiveDeps } from '../../lambda/app/receive-message';
import { MemoryBounceQueue } from '../../lambda/adapters/memory/bounce-queue';
import { MemoryMessageLedger } from '../../lambda/adapters/memory/message-ledger';
import { MemorySenderBudget } from '../../lambda/adapters/memory/sender-budget';
import { checkSender } from '../../lambda/domain/guard';
import type { MailStore, RuleSource } from '../../lambda/ports';
import { silentLogger, silentMetrics } from './fixtures';

/** ReceiveDeps with a fresh in-memory ledger, budget and queue, exposed so a figure can check what was written. */
export function memoryReceiveDeps(rules: RuleSource, mail: MailStore): ReceiveDeps & { readonly ledger: MemoryMessageLedger; readonly queue: MemoryBounceQueue } {
  return {
    rules,
    mail,
    ledger: new MemoryMessageLedger(),
    budget: new MemorySenderBudget({ perAddress: 5, perDomain: 50, windowMs: 3_600_000 }),
    queue: new MemoryBounceQueue(),
    checkSender,
    policy: { senderAuth: 'spf-pass' },
    clock: { now: () => Date.now() },
    auditTtlDays: 30,
    logger: silentLogger,
    metrics: silentMetrics,
  };
}
