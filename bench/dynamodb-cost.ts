/**
 * Figure 6 — DynamoDB requests per message, counted by middleware on the real
 * DynamoDBClient against DynamoDB Local: an allowed message through the
 * receive handler, and a bounced one through the receive handler and then
 * the send handler (SES stand-in). Rules are loaded before counting (a warm
 * function's cache); the Scan of a cache refresh is reported apart.
 * Issue 15 adds a shadow-matched message (a shadow rule), a dropped one (a
 * drop rule) and a would-be bounce under the stack-wide shadow switch
 * (SHADOW_MODE=true), each through the receive handler.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { buildReceiveDeps, createReceiveHandler } from '../lambda/app/receive-wiring';
import { MemoryBounceQueue } from '../lambda/adapters/memory/bounce-queue';
import { parseBounceJob } from '../lambda/adapters/sqs/bounce-job';
import { startSendWorker } from '../local/pipeline/send-worker';
import { sesEvent, silentLogger, silentMetrics } from './lib/fixtures';
import { withDynamoDbAndSes } from './lib/local-services';
import { createClients, localConfig, localSendHandler } from './lib/pipeline';
import type { Benchmark } from './lib/result';
import { countDynamoDbRequests, type DynamoDbCounts } from './lib/sdk-edge';

const ALLOWED = 'team@shop.example';
const BOUNCED = 'former@shop.example';
const SHADOWED = 'trial@shop.example';
const DROPPED = 'trap@shop.example';

const byOp = (c: DynamoDbCounts) =>
  Object.entries(c.byOperation)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ') || 'none';

export const dynamoDbCost: Benchmark = async ({ quick, log }) => {
  const messages = quick ? 3 : 5;
  return withDynamoDbAndSes('bench-cost', async ({ db, ses, tables }) => {
    const setup = db.client();
    const rules = [
      { ruleId: 'team', recipients: [ALLOWED], action: 'allow' },
      { ruleId: 'former', recipients: [BOUNCED], action: 'bounce', bounceType: 'DoesNotExist' },
      { ruleId: 'spam-words', recipients: ['shop.example'], subject: ['*lottery*'], action: 'bounce', bounceType: 'ContentRejected' },
      { ruleId: 'trial', recipients: [SHADOWED], action: 'bounce', mode: 'shadow' },
      { ruleId: 'trap', recipients: [DROPPED], action: 'drop' },
    ];
    for (const item of rules) await setup.send(new PutItemCommand({ TableName: tables.rules, Item: marshall(item) }));

    const config = localConfig({ dynamodb: db.endpoint, ses: ses.endpoint, s3: 'http://127.0.0.1:9', tables });
    const clients = createClients(config);
    const counter = countDynamoDbRequests(clients.dynamodb);
    const queue = new MemoryBounceQueue();
    const receive = createReceiveHandler({ ...buildReceiveDeps(config, clients, { logger: silentLogger, metrics: silentMetrics }), queue }, { logger: silentLogger });
    const send = localSendHandler(config, clients, queue);

    // Warm-up message: loads and caches the rules (one Scan).
    counter.reset();
    await receive(sesEvent({ messageId: 'bench-cost-warm', recipients: [ALLOWED] }));
    const warm = counter.snapshot();

    const allowed: DynamoDbCounts[] = [];
    for (let i = 0; i < messages; i++) {
      counter.reset();
      const out = await receive(sesEvent({ messageId: `bench-cost-allowed-${i}`, recipients: [ALLOWED, 'someone-else@shop.example'] }));
      if (out.disposition !== 'CONTINUE' || queue.jobs.length > 0) throw new Error('the allowed message was not allowed');
      allowed.push(counter.snapshot());
    }

    const receiveSide: DynamoDbCounts[] = [];
    const total: DynamoDbCounts[] = [];
    log(`dynamodb cost: ${messages} allowed, ${messages} bounced messages`);
    for (let i = 0; i < messages; i++) {
      const messageId = `bench-cost-bounced-${i}`;
      const receivedAt = new Date();
      ses.registerReceived(messageId, { receivedAt, sender: 'sender@example.com', recipients: [BOUNCED] });
      counter.reset();
      const out = await receive(sesEvent({ messageId, recipients: [BOUNCED], timestamp: receivedAt.toISOString() }));
      if (out.disposition !== 'STOP_RULE_SET' || queue.jobs.length !== 1) throw new Error('the bounced message was not queued');
      receiveSide.push(counter.snapshot());
      // One consumer, one job: the send Lambda as SQS would invoke it.
      const job = parseBounceJob(JSON.stringify(queue.jobs[0].job));
      const worker = startSendWorker({ queue, handle: send, concurrency: 1, pollMs: 10 });
      while (!ses.calls.some((c) => c.params.OriginalMessageId === job.messageId && c.outcome.kind === 'accepted') || worker.pending() > 0) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await worker.stop();
      total.push(counter.snapshot());
    }

    // Issue 15: one receive each; nothing is queued, nothing reaches the send side.
    const receiveOnly = async (handler: typeof receive, label: string, recipients: string[], expected: string) => {
      const list: DynamoDbCounts[] = [];
      const jobsBefore = queue.jobs.length;
      for (let i = 0; i < messages; i++) {
        counter.reset();
        const out = await handler(sesEvent({ messageId: `bench-cost-${label}-${i}`, recipients }));
        if (out.disposition !== expected || queue.jobs.length !== jobsBefore) throw new Error(`the ${label} message was not ${label}`);
        list.push(counter.snapshot());
      }
      return list;
    };
    const shadowed = await receiveOnly(receive, 'shadowed', [SHADOWED], 'CONTINUE');
    const dropped = await receiveOnly(receive, 'dropped', [DROPPED], 'STOP_RULE_SET');
    // The stack-wide switch: the same tables and client, SHADOW_MODE=true; the bounce rule's message is only recorded.
    const stackConfig = localConfig({ dynamodb: db.endpoint, ses: ses.endpoint, s3: 'http://127.0.0.1:9', tables, env: { SHADOW_MODE: 'true' } });
    const stackReceive = createReceiveHandler(
      { ...buildReceiveDeps(stackConfig, clients, { logger: silentLogger, metrics: silentMetrics }), queue },
      { logger: silentLogger },
    );
    await stackReceive(sesEvent({ messageId: 'bench-cost-stack-warm', recipients: [ALLOWED] }));
    const stackWide = await receiveOnly(stackReceive, 'stack-shadowed', [BOUNCED], 'CONTINUE');
    for (const c of Object.values(clients)) c.destroy();

    const maxOf = (list: DynamoDbCounts[], key: 'reads' | 'writes') => Math.max(...list.map((c) => c[key]));
    const aW = maxOf(allowed, 'writes');
    const tW = maxOf(total, 'writes');
    return {
      id: 'dynamodb-cost',
      title: '6. DynamoDB requests per message (counted at the SDK edge)',
      rows: [
        {
          measure: 'allowed message (receive): reads, writes',
          value: `${maxOf(allowed, 'reads')} reads, ${aW} writes (${byOp(allowed[0])})`,
          target: '0 writes',
          met: aW === 0,
        },
        {
          measure: 'bounced message, receive side: reads, writes',
          value: `${maxOf(receiveSide, 'reads')} reads, ${maxOf(receiveSide, 'writes')} writes (${byOp(receiveSide[0])})`,
        },
        {
          measure: 'bounced message, receive + send: reads, writes',
          value: `${maxOf(total, 'reads')} reads, ${tW} writes (${byOp(total[0])})`,
          target: '≤ 4 writes',
          met: tW <= 4,
        },
        {
          measure: 'shadow-matched message (receive; nothing sent): reads, writes',
          value: `${maxOf(shadowed, 'reads')} reads, ${maxOf(shadowed, 'writes')} writes (${byOp(shadowed[0])})`,
          target: '1 write, budget read not written',
          met: maxOf(shadowed, 'writes') === 1 && (shadowed[0].byOperation.UpdateItem ?? 0) === 0,
        },
        {
          measure: 'dropped message (receive; nothing sent): reads, writes',
          value: `${maxOf(dropped, 'reads')} reads, ${maxOf(dropped, 'writes')} writes (${byOp(dropped[0])})`,
          target: '1 write',
          met: maxOf(dropped, 'writes') === 1,
        },
        {
          measure: 'stack-wide shadow (SHADOW_MODE=true), a bounce rule\'s message: reads, writes',
          value: `${maxOf(stackWide, 'reads')} reads, ${maxOf(stackWide, 'writes')} writes (${byOp(stackWide[0])})`,
          target: '1 write',
          met: maxOf(stackWide, 'writes') === 1,
        },
        { measure: 'rules cache refresh (first message, then every RULES_CACHE_SECONDS)', value: `+${warm.reads} reads (${byOp(warm)})` },
      ],
      notes: [
        `${messages} messages of each kind; the table shows the largest count (they were ${allowed.every((c) => c.writes === allowed[0].writes && c.reads === allowed[0].reads) && total.every((c) => c.writes === total[0].writes && c.reads === total[0].reads) ? 'identical' : 'not all identical; see latest.json'}).`,
        'Counted by middleware on the DynamoDBClient that buildReceiveDeps and buildSendDeps use, inside the retry middleware (every HTTP attempt counts); a TransactWriteItems is one request (it consumes 2 WCU per item).',
        'Bounced path: claim (PutItem), sender budget (UpdateItem), then on the send side the message read (GetItem), the gate read (GetItem), slot + PENDING→SENDING (TransactWriteItems) and SENT (UpdateItem).',
        'Shadow-matched and stack-wide shadow paths: the SHADOW item (PutItem, conditional like the claim) and the sender budget read without spending it (GetItem). Dropped path: the DROPPED item (PutItem) only; a drop consults neither guard nor budget.',
      ],
      data: { warm, allowed, receiveSide, total, shadowed, dropped, stackWide },
    };
  });
};
