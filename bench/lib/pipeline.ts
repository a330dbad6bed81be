/**
 * The functions' own wiring pointed at local stand-ins: config through
 * loadConfig, clients through createClients, the send handler through
 * buildSendDeps/createSendHandler, with the bounce queue in memory.
 */
import { createSendHandler, buildSendDeps } from '../../lambda/app/send-wiring';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { MemoryBounceQueue } from '../../lambda/adapters/memory/bounce-queue';
import { createClients, type Clients } from '../../lambda/commons/clients';
import { loadConfig, type Config, type ConfigEnv } from '../../lambda/config/config';
import type { AuditRecord, BounceJob } from '../../lambda/ports';
import type { LocalTableNames } from '../../local/tables';
import { silentLogger, silentMetrics } from './fixtures';

export function localConfig(options: { dynamodb: string; ses?: string; s3?: string; tables: LocalTableNames; bucket?: string; env?: ConfigEnv }): Config {
  return loadConfig({
    BOUNCE_SENDER: 'mailer-daemon@shop.example',
    REPORTING_MTA: 'mx.shop.example',
    RULES_TABLE: options.tables.rules,
    STATE_TABLE: options.tables.state,
    BOUNCE_QUEUE_URL: 'local://queue',
    MAIL_BUCKET: options.bucket ?? 'bench-mail',
    DYNAMODB_ENDPOINT: options.dynamodb,
    SES_ENDPOINT: options.ses,
    S3_ENDPOINT: options.s3,
    // Many bounces from one test sender: the budget must not be what the figures measure.
    SENDER_BUDGET_PER_ADDRESS: '1000000',
    SENDER_BUDGET_PER_DOMAIN: '1000000',
    ...options.env,
  });
}

/** The send Lambda's handler on these clients, its requeues going to an in-memory queue. */
export function localSendHandler(config: Config, clients: Clients, queue: MemoryBounceQueue) {
  const deps = { ...buildSendDeps(config, clients, { logger: silentLogger, metrics: silentMetrics }), queue };
  return createSendHandler(deps);
}

export { createClients };

/** A bounce job for one recipient, as the receive side enqueues it. */
export function bounceJob(messageId: string, recipient: string, receivedAt: Date): BounceJob {
  return {
    messageId,
    receivedAt: receivedAt.toISOString(),
    sender: 'sender@example.com',
    recipients: [{ recipient, ruleId: 'bench', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }],
  };
}

/** Claims the job's message PENDING, as the receive side would have before enqueueing it. */
export async function claimPending(ledger: DynamoDbMessageLedger, job: BounceJob, now: Date): Promise<void> {
  const r = job.recipients[0];
  const record: AuditRecord = {
    messageId: job.messageId,
    receivedAt: job.receivedAt,
    sender: job.sender,
    decisions: [{ recipient: r.recipient, action: 'bounce', ruleId: r.ruleId, bounce: r.bounce }],
    guard: { allowed: true, reasons: [] },
    state: 'PENDING',
    attempts: 0,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + 86_400,
  };
  const claimed = await ledger.claim(record);
  if (!claimed.claimed) throw new Error(`message ${job.messageId} was already claimed`);
}
