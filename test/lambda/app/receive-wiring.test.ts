import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbMessageLedger } from '../../../lambda/adapters/dynamodb/message-ledger';
import { DynamoDbRuleSource } from '../../../lambda/adapters/dynamodb/rule-source';
import { DynamoDbSenderBudget } from '../../../lambda/adapters/dynamodb/sender-budget';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { MemoryMailStore } from '../../../lambda/adapters/memory/mail-store';
import { MemoryMessageLedger } from '../../../lambda/adapters/memory/message-ledger';
import { S3MailStore } from '../../../lambda/adapters/s3/mail-store';
import { SnapshotRuleSource } from '../../../lambda/adapters/snapshot/snapshot-rule-source';
import { SqsBounceQueue } from '../../../lambda/adapters/sqs/bounce-queue';
import type { ReceiveDeps } from '../../../lambda/app/receive-message';
import { buildReceiveDeps, buildRuleSource, createReceiveHandler, type LogContext } from '../../../lambda/app/receive-wiring';
import { ValidationError, MailNotFoundError } from '../../../lambda/commons/errors';
import { loadConfig } from '../../../lambda/config/config';
import type { MessageFacts, RecipientDecision } from '../../../lambda/domain/model';
import { NO_NEEDS } from '../../../lambda/domain/model';
import type { CompiledRules } from '../../../lambda/domain/rules';
import { RECEIVE_ENV as ENV } from '../../support/env';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../fixtures/ses', name), 'utf8'));

/** Bounces recipients whose local part starts with `bounce`, delivers the rest; body rules when asked. */
function rules(needsBody = false): CompiledRules {
  return {
    size: 1,
    needsFor: () => ({ ...NO_NEEDS, body: needsBody }),
    evaluate: (facts: MessageFacts) =>
      facts.recipients.map((recipient): RecipientDecision =>
        recipient.startsWith('bounce')
          ? { recipient, action: 'bounce', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }
          : { recipient, action: 'default', defaultAction: 'deliver' },
      ),
  };
}

function memoryDeps(compiled: CompiledRules, mail = new MemoryMailStore()): ReceiveDeps & { queue: MemoryBounceQueue } {
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const noMetrics = { addMetric: () => {}, singleMetric: () => ({ addDimension: () => {}, addMetric: () => {} }) };
  return {
    rules: { current: async () => compiled },
    mail,
    ledger: new MemoryMessageLedger(),
    budget: { consume: async () => true },
    queue: new MemoryBounceQueue(),
    checkSender: () => ({ allowed: true, reasons: [] }),
    policy: { senderAuth: 'spf-pass' },
    clock: { now: () => Date.parse('2019-08-05T21:30:05Z') },
    auditTtlDays: 30,
    logger: silent,
    metrics: noMetrics,
  };
}

function recordingContext(): LogContext & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    addContext: (context) => events.push(`context ${context.awsRequestId}`),
    appendKeys: (keys) => events.push(`+${keys.messageId}`),
    setCorrelationId: (id) => events.push(`correlation ${id}`),
    removeKeys: (keys) => events.push(`-${keys.join(',')}`),
  };
}

describe('receive-wiring', () => {
  describe('buildReceiveDeps', () => {
    it('builds the AWS adapters from config when given the shared clients', () => {
      const config = loadConfig(ENV);
      const clients = { dynamodb: new DynamoDBClient({}), s3: new S3Client({}), sqs: new SQSClient({}) };
      const deps = buildReceiveDeps(config, clients);
      expect(deps.rules).toBeInstanceOf(DynamoDbRuleSource);
      expect(deps.mail).toBeInstanceOf(S3MailStore);
      expect((deps.mail as S3MailStore).keyOf('abc')).toBe('inbound/abc');
      expect(deps.ledger).toBeInstanceOf(DynamoDbMessageLedger);
      expect(deps.budget).toBeInstanceOf(DynamoDbSenderBudget);
      expect(deps.queue).toBeInstanceOf(SqsBounceQueue);
      expect(deps.policy).toEqual({ senderAuth: 'spf-pass' });
      expect(deps.auditTtlDays).toBe(30);
    });
  });

  describe('buildRuleSource', () => {
    it('reads the compiled snapshot when RULES_SNAPSHOT_BUCKET is set, else Scans the rules table', () => {
      const clients = { dynamodb: new DynamoDBClient({}), s3: new S3Client({}) };
      expect(buildRuleSource(loadConfig(ENV), clients, { cacheMs: 60_000 })).toBeInstanceOf(DynamoDbRuleSource);
      expect(buildRuleSource(loadConfig({ ...ENV, RULES_SNAPSHOT_BUCKET: 'bouncer-rules' }), clients, { cacheMs: 60_000 })).toBeInstanceOf(SnapshotRuleSource);
    });
  });

  describe('createReceiveHandler', () => {
    it('throws ValidationError naming the field and flushes metrics when the event is invalid', async () => {
      let flushed = 0;
      const deps = memoryDeps(rules());
      const handler = createReceiveHandler(deps, { flush: () => flushed++, logContext: recordingContext() });
      const event = fixture('lambda-action-event.json');
      delete event.Records[0].ses.mail.messageId;
      const err = await handler(event).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('Records[0].ses.mail.messageId is required');
      expect(flushed).toBe(1);
      expect(deps.queue.jobs).toEqual([]);
    });

    it('answers STOP_RULE_SET when every record bounces every recipient', async () => {
      const event = fixture('request-response.json');
      event.Records[0].ses.receipt.recipients = ['bounce-me@example.com'];
      const deps = memoryDeps(rules());
      const handler = createReceiveHandler(deps, { logContext: recordingContext() });
      expect(await handler(event)).toEqual({ disposition: 'STOP_RULE_SET' });
      expect(deps.queue.jobs).toHaveLength(1);
    });

    it('answers CONTINUE when any record has a recipient to deliver', async () => {
      const event = fixture('multiple-records.json');
      event.Records[0].ses.receipt.recipients = ['bounce-1@example.com'];
      event.Records[1].ses.receipt.recipients = ['bounce-2@example.com'];
      // The third record keeps a deliverable recipient.
      const deps = memoryDeps(rules());
      const context = recordingContext();
      const handler = createReceiveHandler(deps, { logContext: context });
      expect(await handler(event)).toEqual({ disposition: 'CONTINUE' });
      expect(deps.queue.jobs.map((q) => q.job.messageId)).toEqual([
        'multi00001-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
        'multi00002-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      ]);
      // Each record's SES message id is the correlation id while it is handled, and is removed after it.
      expect(context.events).toEqual(
        [1, 2, 3].flatMap((n) => {
          const id = `multi0000${n}-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000`;
          return [`+${id}`, `correlation ${id}`, '-messageId,correlation_id'];
        }),
      );
    });

    it("tells onResult each record's recipient decisions", async () => {
      const event = fixture('multiple-records.json');
      event.Records[0].ses.receipt.recipients = ['bounce-1@example.com', 'keep@example.com'];
      const seen: [string, string[]][] = [];
      const handler = createReceiveHandler(memoryDeps(rules()), {
        logContext: recordingContext(),
        onResult: (messageId, result) => seen.push([messageId, result.decisions.map((d) => `${d.recipient}:${d.action}`)]),
      });
      await handler(event);
      expect(seen).toHaveLength(event.Records.length);
      expect(seen[0]).toEqual(['multi00001-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', ['bounce-1@example.com:bounce', 'keep@example.com:default']]);
    });

    it('processes the other records and then throws when one stored message is missing', async () => {
      const event = fixture('multiple-records.json');
      for (const [i, r] of event.Records.entries()) r.ses.receipt.recipients = [`bounce-${i}@example.com`];
      const mail = new MemoryMailStore()
        .put('multi00001-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', 'Subject: a\r\n\r\nbody')
        .put('multi00003-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', 'Subject: c\r\n\r\nbody');
      const deps = memoryDeps(rules(true), mail);
      const handler = createReceiveHandler(deps, { logContext: recordingContext() });
      await expect(handler(event)).rejects.toBeInstanceOf(MailNotFoundError);
      expect(deps.queue.jobs.map((q) => q.job.messageId)).toEqual([
        'multi00001-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
        'multi00003-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      ]);

      // Lambda's retry, once the object is there, bounces the missing one and nothing twice.
      mail.put('multi00002-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', 'Subject: b\r\n\r\nbody');
      expect(await handler(event)).toEqual({ disposition: 'STOP_RULE_SET' });
      expect(deps.queue.jobs).toHaveLength(3);
    });
  });
});
