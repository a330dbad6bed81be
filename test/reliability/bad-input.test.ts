/**
 * Reliability suite 5: the bad-input corpus (test/fixtures/corpus) through the
 * real code. MIME messages are stored in s3rver and decided by the receive
 * handler with rules from DynamoDB Local that read headers, size and
 * attachments; SES events go through the same handler; rule items are put
 * into DynamoDB Local as an operator would and loaded by DynamoDbRuleSource.
 *
 * What must hold for every input: no unhandled error, the outcome the
 * manifest states (so no wrong bounce), a log line that says why, and an
 * answer within the time bound (a hang or a pathological parse fails here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { MemoryBounceQueue } from '../../lambda/adapters/memory/bounce-queue';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { MemoryMailStore } from '../../lambda/adapters/memory/mail-store';
import { DynamoDbRuleSource } from '../../lambda/adapters/dynamodb/rule-source';
import type { ReceiveResult } from '../../lambda/app/receive-message';
import { buildReceiveDeps, createReceiveHandler } from '../../lambda/app/receive-wiring';
import { ValidationError } from '../../lambda/commons/errors';
import { metrics } from '../../lambda/commons/metrics';
import { loadConfig } from '../../lambda/config/config';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY } from '../../lambda/config/tables';
import { VERDICT_NAMES, type MessageFacts } from '../../lambda/domain/model';
import { compileRules } from '../../lambda/domain/rules';
import type { EventEntry, MimeEntry, RuleEntry } from '../fixtures/corpus/generate';
import { createTable, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { factsFor } from '../support/facts';
import { startLocalS3, type LocalS3 } from '../support/s3';
import { captureOutput, type OutputCapture } from './log-capture';

const CORPUS = join(__dirname, '../fixtures/corpus');
const manifest = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as {
  mimeRules: Record<string, unknown>[];
  mimeRecipients: string[];
  mime: MimeEntry[];
  events: EventEntry[];
  rules: RuleEntry[];
};

/** Longest any single input may take through the handler: catches hangs and pathological parses. */
const PER_INPUT_MS = 2000;
const PREFIX = 'inbound/';
const DEFAULT_SENDER = 'someone@sender.example';

const idOf = (file: string) => `corpus-${file.replace(/[^A-Za-z0-9]+/g, '-')}-000000`;

/** The SES event for a stored message: headers truncated, so every header the rules or the guard read comes from S3. */
function mimeEvent(entry: MimeEntry, messageId: string): Record<string, unknown> {
  const verdict = (name: string) => ({ status: (entry.verdicts as Record<string, string> | undefined)?.[name] ?? 'PASS' });
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: {
            timestamp: '2026-01-05T10:00:00.000Z',
            source: entry.sender ?? DEFAULT_SENDER,
            messageId,
            destination: manifest.mimeRecipients,
            headersTruncated: true,
            headers: [],
          },
          receipt: {
            recipients: manifest.mimeRecipients,
            ...Object.fromEntries(VERDICT_NAMES.map((n) => [`${n}Verdict`, verdict(n)])),
            action: { type: 'Lambda', invocationType: 'Event' },
          },
        },
      },
    ],
  };
}

/** Every message id an event names, whatever its shape. */
function messageIdsIn(event: unknown): string[] {
  const records = (event as { Records?: unknown })?.Records;
  if (!Array.isArray(records)) return [];
  return records.flatMap((r) => {
    const id = (r as { ses?: { mail?: { messageId?: unknown } } })?.ses?.mail?.messageId;
    return typeof id === 'string' && id !== '' && id.length < 1000 ? [id] : [];
  });
}

describe('bad-input (reliability suite 5)', () => {
  jest.setTimeout(120_000);

  let s3: LocalS3;
  let db: DynamoDBClient;
  let out: OutputCapture;
  let bucket: string;
  let rulesTable: string;
  let stateTable: string;
  let queue: MemoryBounceQueue;
  let ledger: DynamoDbMessageLedger;
  let handler: ReturnType<typeof createReceiveHandler>;
  /** The same wiring with the in-memory mail store, for objects s3rver cannot serve like S3 (see the manifest). */
  let memoryHandler: ReturnType<typeof createReceiveHandler>;
  const results = new Map<string, ReceiveResult>();
  const timings: { file: string; ms: number }[] = [];

  /** Runs the handler on one event, timed, with stdout captured from a clean slate. */
  async function invoke(file: string, event: unknown, via = handler): Promise<{ error?: unknown; ms: number }> {
    out.clear();
    const started = performance.now();
    let error: unknown;
    try {
      await via(event);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - started;
    timings.push({ file, ms });
    return { error, ms };
  }

  const logsFor = (messageId: string) => out.logs().filter((l) => l.messageId === messageId);

  beforeAll(async () => {
    s3 = await startLocalS3();
    bucket = await s3.createBucket(`corpus-${Date.now()}`);
    db = localDynamoDbClient();
    rulesTable = uniqueTableName('corpus-rules');
    stateTable = uniqueTableName('corpus-state');
    await createTable(db, rulesTable, RULES_PARTITION_KEY);
    await createTable(db, stateTable, STATE_PARTITION_KEY);
    for (const rule of manifest.mimeRules) {
      await db.send(new PutItemCommand({ TableName: rulesTable, Item: marshall(rule) }));
    }
    const config = loadConfig({
      BOUNCE_SENDER: 'mailer-daemon@corpus.example',
      REPORTING_MTA: 'mx.corpus.example',
      RULES_TABLE: rulesTable,
      STATE_TABLE: stateTable,
      BOUNCE_QUEUE_URL: 'local://queue',
      MAIL_BUCKET: bucket,
      MAIL_PREFIX: PREFIX,
      RULES_CACHE_SECONDS: '3600',
      // One sender sends the whole corpus: the budget is not what this suite tests.
      SENDER_BUDGET_PER_ADDRESS: '1000000',
      SENDER_BUDGET_PER_DOMAIN: '1000000',
    });
    queue = new MemoryBounceQueue();
    ledger = new DynamoDbMessageLedger({ client: db, tableName: stateTable });
    const deps = { ...buildReceiveDeps(config, { dynamodb: db, s3: s3.client(), sqs: new SQSClient({}) }), queue };
    const options = {
      flush: () => metrics.publishStoredMetrics(),
      onResult: (messageId: string, result: ReceiveResult) => results.set(messageId, result),
    };
    handler = createReceiveHandler(deps, options);
    const memoryMail = new MemoryMailStore();
    memoryHandler = createReceiveHandler({ ...deps, mail: memoryMail }, options);
    const put = s3.client();
    for (const entry of manifest.mime) {
      const raw = readFileSync(join(CORPUS, entry.file));
      if (entry.store === 'memory') memoryMail.put(idOf(entry.file), raw);
      else await put.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}${idOf(entry.file)}`, Body: raw }));
    }
    // One untimed message first: cold start (module loads, first connections) is not the first input's cost.
    const warmUp = manifest.mime[0];
    await put.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}warm-up-000000`, Body: readFileSync(join(CORPUS, warmUp.file)) }));
    out = captureOutput();
    await handler(mimeEvent(warmUp, 'warm-up-000000'));
  });

  afterAll(async () => {
    out?.restore();
    db?.destroy();
    await s3?.stop();
    const slowest = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 3);
    // Figures for RELIABILITY.md.
    console.info(
      `bad-input: ${timings.length} inputs, total ${Math.round(timings.reduce((s, t) => s + t.ms, 0))} ms; slowest ${slowest
        .map((t) => `${t.file} ${Math.round(t.ms)} ms`)
        .join(', ')}`,
    );
  });

  it('has at least 50 MIME messages, 20 events and 30 rule items, each with an expected outcome', () => {
    expect(manifest.mime.length).toBeGreaterThanOrEqual(50);
    expect(manifest.events.filter((e) => e.expect === 'rejected-event').length).toBeGreaterThanOrEqual(20);
    expect(manifest.rules.filter((r) => r.expect !== 'valid').length).toBeGreaterThanOrEqual(30);
    for (const e of [...manifest.mime, ...manifest.events, ...manifest.rules]) expect(e.note).toBeTruthy();
  });

  describe('MIME corpus', () => {
    describe.each(manifest.mime.map((e) => [e.file, e] as const))('%s', (file, entry) => {
      it(`gives ${entry.expect}${entry.reasons ? ` (${entry.reasons.join(', ')})` : ''} without throwing, within ${PER_INPUT_MS} ms, with the reason logged`, async () => {
        const messageId = idOf(file);
        const { error, ms } = await invoke(file, mimeEvent(entry, messageId), entry.store === 'memory' ? memoryHandler : handler);
        expect(error).toBeUndefined();
        expect(ms).toBeLessThan(PER_INPUT_MS);

        const result = results.get(messageId);
        const jobs = queue.jobs.filter((q) => q.job.messageId === messageId);
        const audit = await ledger.get(messageId);
        const logs = logsFor(messageId);
        if (entry.decided) {
          expect(Object.fromEntries((result?.decisions ?? []).map((d) => [d.recipient, d.action]))).toEqual(entry.decided);
        }

        if (entry.expect === 'bounce') {
          expect(result?.outcome.kind).toBe('queued');
          expect(jobs).toHaveLength(1);
          expect(Object.fromEntries(jobs[0].job.recipients.map((r) => [r.recipient, r.ruleId]))).toEqual(entry.bounced);
          expect(audit?.state).toBe('PENDING');
          expect(logs.map((l) => l.message)).toContain('bounce queued');
          // Every recipient has a decision: a parser refusal never wipes them out (defect 7).
          expect(result?.decisions.map((d) => d.recipient)).toEqual(manifest.mimeRecipients);
        } else {
          expect(result?.outcome).toEqual({ kind: 'skipped', reasons: expect.any(Array) });
          expect(jobs).toHaveLength(0);
          expect(audit?.state).toBe('SKIPPED');
          expect([...(audit?.guard.reasons ?? [])].sort()).toEqual([...(entry.reasons ?? [])].sort());
          const skipped = logs.find((l) => l.message === 'bounce skipped');
          expect([...((skipped?.reasons as string[]) ?? [])].sort()).toEqual([...(entry.reasons ?? [])].sort());
        }
      });
    });

    it('bounced nothing the manifest does not list', () => {
      const expected = new Set(manifest.mime.filter((e) => e.expect === 'bounce').map((e) => idOf(e.file)));
      const wrong = queue.jobs.map((q) => q.job.messageId).filter((id) => id.startsWith('corpus-mime-') && !expected.has(id));
      expect(wrong).toEqual([]);
    });
  });

  describe('SES event corpus', () => {
    describe.each(manifest.events.map((e) => [e.file, e] as const))('%s', (file, entry) => {
      it(
        entry.expect === 'rejected-event'
          ? `throws ValidationError naming ${JSON.stringify(entry.field)}, claims and queues nothing`
          : `is accepted and ${entry.outcome === 'queued' ? 'queues the bounce' : 'writes nothing'}`,
        async () => {
          const event = JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as unknown;
          const ids = messageIdsIn(event);
          const before = queue.jobs.length;
          const { error, ms } = await invoke(file, event);
          expect(ms).toBeLessThan(PER_INPUT_MS);
          // A polluted prototype would show on every object from here on.
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();

          if (entry.expect === 'rejected-event') {
            expect(error).toBeInstanceOf(ValidationError);
            expect((error as ValidationError).field).toBe(entry.field);
            expect((error as Error).message).toMatch(/^invalid ses event: /);
            expect(queue.jobs.length).toBe(before);
            for (const id of ids) expect(await ledger.get(id)).toBeUndefined();
            const logged = out.logs().find((l) => l.message === 'invalid ses event');
            expect(logged?.level).toBe('ERROR');
            expect(logged?.error).toBe((error as Error).message);
          } else {
            expect(error).toBeUndefined();
            const [id] = ids;
            expect(results.get(id)?.outcome.kind).toBe(entry.outcome);
            const jobs = queue.jobs.slice(before);
            if (entry.outcome === 'queued') {
              expect(jobs.map((j) => j.job.messageId)).toEqual([id]);
              expect((await ledger.get(id))?.state).toBe('PENDING');
            } else {
              expect(jobs).toEqual([]);
              expect(await ledger.get(id)).toBeUndefined();
            }
          }
        },
      );
    });
  });

  describe('rule item corpus', () => {
    /** Every item of the corpus, plus a catch-all bounce behind them: an invalid item must hold it (defect 5). */
    let table: string;
    /** Only the valid items: what each decides on its own. */
    let validTable: string;
    let loadLogs: Record<string, unknown>[];
    let invalidCount: number[];
    let source: DynamoDbRuleSource;
    let validSource: DynamoDbRuleSource;
    const putErrors = new Map<string, string>();
    const itemOf = (entry: RuleEntry) => JSON.parse(readFileSync(join(CORPUS, entry.file), 'utf8')) as Record<string, AttributeValue>;
    const CATCH_ALL = { ruleId: 'corpus-catch-all', recipients: ['*@rules.example'], action: 'bounce', priority: 500 };

    beforeAll(async () => {
      table = uniqueTableName('corpus-rule-items');
      validTable = uniqueTableName('corpus-valid-rule-items');
      await createTable(db, table, RULES_PARTITION_KEY);
      await createTable(db, validTable, RULES_PARTITION_KEY);
      await db.send(new PutItemCommand({ TableName: table, Item: marshall(CATCH_ALL) }));
      for (const entry of manifest.rules) {
        const item = itemOf(entry);
        try {
          await db.send(new PutItemCommand({ TableName: table, Item: item }));
        } catch (error) {
          putErrors.set(entry.file, (error as Error).name);
        }
        if (entry.expect === 'valid') await db.send(new PutItemCommand({ TableName: validTable, Item: item }));
      }
      invalidCount = [];
      source = new DynamoDbRuleSource({
        client: db,
        tableName: table,
        cacheMs: 60_000,
        metrics: { addMetric: (name, _unit, value) => name === 'InvalidRules' && invalidCount.push(value) },
      });
      validSource = new DynamoDbRuleSource({ client: db, tableName: validTable, cacheMs: 60_000, metrics: { addMetric: () => undefined } });
      out.clear();
      await source.current();
      loadLogs = out.logs();
    });

    it('reports one InvalidRules count equal to the invalid items stored', () => {
      expect(invalidCount).toEqual([manifest.rules.filter((r) => r.expect === 'invalid-rule').length]);
      const loaded = loadLogs.find((l) => l.message === 'rules loaded');
      expect(loaded).toMatchObject({ rules: manifest.rules.filter((r) => r.expect === 'valid').length + 1 });
    });

    it('defect 5: bounces no recipient of the table while items whose recipients cannot be read are invalid', async () => {
      const recipients = [...manifest.rules.map((r) => r.recipient), 'anyone-else@rules.example'];
      const decisions = (await source.current()).evaluate(probeFacts(recipients), new Date(Date.now()));
      expect(decisions.filter((d) => d.action === 'bounce')).toEqual([]);
    });

    describe.each(manifest.rules.map((r) => [r.file, r] as const))('%s', (file, entry) => {
      if (entry.expect === 'put-rejected') {
        it('is refused by DynamoDB itself and so never reaches the rule source', () => {
          expect(putErrors.get(file)).toMatch(/ValidationException|SerializationException/);
        });
        return;
      }
      if (entry.expect === 'invalid-rule') {
        it(`is skipped with its ruleId and the field ${JSON.stringify(entry.field)} logged, and holds the catch-all's bounce for its recipient`, async () => {
          expect(putErrors.get(file)).toBeUndefined();
          const logged = loadLogs.find((l) => l.message === 'invalid rule skipped' && l.ruleId === entry.ruleId);
          expect(logged?.level).toBe('WARN');
          const problems = logged?.problems as string[];
          expect(problems.some((p) => p.startsWith(`${entry.field}: `))).toBe(true);
          expect(String(logged?.holdsBouncesFor)).toMatch(/\S/);
          // On its own behind the catch-all, as the rule source reads it: the recipient it was meant for is not bounced.
          const alone = compileRules([CATCH_ALL, unmarshall(itemOf(entry), { wrapNumbers: true })]);
          const [decision] = alone.rules.evaluate(probeFacts(entry.recipient), new Date(Date.now()));
          expect(decision).toMatchObject({ recipient: entry.recipient, action: 'default', heldBy: entry.ruleId });
        });
        return;
      }
      it(`loads and ${entry.action}s its recipient`, async () => {
        expect(putErrors.get(file)).toBeUndefined();
        expect(loadLogs.some((l) => l.message === 'invalid rule skipped' && l.ruleId === entry.ruleId)).toBe(false);
        const [decision] = (await validSource.current()).evaluate(probeFacts(entry.recipient), new Date(Date.now()));
        expect(decision).toMatchObject({ recipient: entry.recipient, action: entry.action, ruleId: entry.ruleId });
      });
    });
  });
});

function probeFacts(recipients: string | string[]): MessageFacts {
  return factsFor(recipients, { messageId: 'rule-probe', receivedAt: new Date(Date.now()).toISOString(), sender: 'someone@sender.example' });
}
