/**
 * Figure 5 — pace of the rate gate. A backlog of bounce jobs (all PENDING in
 * DynamoDB Local) is drained by 4 concurrent consumers running the send
 * Lambda's handler and wiring, against the SES stand-in, which answers
 * Throttling to any call closer than 1 s to the previous one. The local send
 * worker plays SQS and the event source mapping.
 */
import { DynamoDbMessageLedger } from '../lambda/adapters/dynamodb/message-ledger';
import { MemoryBounceQueue } from '../lambda/adapters/memory/bounce-queue';
import { DEFAULT_SLOT_MARGIN_MS } from '../lambda/ports/rate-gate';
import { startSendWorker } from '../local/pipeline/send-worker';
import { withDynamoDbAndSes } from './lib/local-services';
import { bounceJob, claimPending, createClients, localConfig, localSendHandler } from './lib/pipeline';
import type { Benchmark } from './lib/result';
import { countDynamoDbRequests } from './lib/sdk-edge';
import { fmt, summarize } from './lib/stats';

const CONSUMERS = 4;

export const rateGatePace: Benchmark = async ({ quick, log }) => {
  const backlog = quick ? 20 : 120;
  return withDynamoDbAndSes('bench-pace', async ({ db, ses, tables }) => {
    const config = localConfig({ dynamodb: db.endpoint, ses: ses.endpoint, tables });
    const setupLedger = new DynamoDbMessageLedger({ client: db.client(), tableName: tables.state });
    const receivedAt = new Date();
    const queue = new MemoryBounceQueue();
    for (let i = 0; i < backlog; i++) {
      const job = bounceJob(`bench-pace-${String(i).padStart(4, '0')}`, `gone-${i}@shop.example`, receivedAt);
      await claimPending(setupLedger, job, receivedAt);
      ses.registerReceived(job.messageId, { receivedAt, sender: job.sender, recipients: [job.recipients[0].recipient] });
      await queue.enqueue(job);
    }

    const clients = createClients(config);
    const counter = countDynamoDbRequests(clients.dynamodb);
    const handler = localSendHandler(config, clients, queue);
    let deadLetters = 0;
    let handlerErrors = 0;
    log(`rate gate: ${backlog} jobs, ${CONSUMERS} consumers (about ${Math.ceil(backlog * 1.04)} s)`);
    const t0 = Date.now();
    const worker = startSendWorker({
      queue,
      handle: handler,
      concurrency: CONSUMERS,
      pollMs: 20,
      visibilityTimeoutMs: 1000,
      onDeadLetter: () => deadLetters++,
      onError: () => handlerErrors++,
    });
    const deadline = t0 + backlog * 1500 + 60_000;
    const accepted = () => ses.calls.filter((c) => c.outcome.kind === 'accepted').length;
    while ((accepted() < backlog || worker.pending() > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await worker.stop();
    for (const c of Object.values(clients)) c.destroy();

    const calls = [...ses.calls];
    const ok = calls.filter((c) => c.outcome.kind === 'accepted');
    const throttled = calls.filter((c) => c.outcome.kind === 'error' && c.outcome.code === 'Throttling').length;
    const otherErrors = calls.filter((c) => c.outcome.kind === 'error' && c.outcome.code !== 'Throttling').length;
    const perMessage = new Map<string, number>();
    for (const c of ok) perMessage.set(c.params.OriginalMessageId, (perMessage.get(c.params.OriginalMessageId) ?? 0) + 1);
    const duplicates = [...perMessage.values()].reduce((sum, n) => sum + (n - 1), 0);
    const gaps = calls.slice(1).map((c, i) => c.arrivedAt - calls[i].arrivedAt);
    const gap = summarize(gaps.length ? gaps : [0]);
    const spanMs = ok.length > 1 ? ok[ok.length - 1].arrivedAt - ok[0].arrivedAt : Number.NaN;
    const rate = ((ok.length - 1) / spanMs) * 1000;
    const designRate = 1000 / (config.rateGateIntervalMs + DEFAULT_SLOT_MARGIN_MS);
    const requests = counter.snapshot();
    const done = ok.length === backlog;
    return {
      id: 'rate-gate-pace',
      title: `5. Rate gate pace (${backlog}-bounce backlog, ${CONSUMERS} consumers)`,
      rows: [
        {
          measure: 'achieved bounces per second (first to last accepted call)',
          value: `${fmt(rate, 4)}/s (${ok.length} sent in ${fmt(spanMs / 1000, 4)} s)`,
          baseline: `SES limit 1.0/s; gate design ${fmt(designRate, 4)}/s (interval ${config.rateGateIntervalMs} + margin ${DEFAULT_SLOT_MARGIN_MS} ms)`,
          target: '≥ 0.95/s, all sent',
          met: done && rate >= 0.95,
        },
        {
          measure: 'spacing between consecutive SendBounce calls: min, median [p10–p90]',
          value: `min ${fmt(gap.min, 4)} ms; ${fmt(gap.median, 4)} ms [${fmt(gap.p10, 4)}–${fmt(gap.p90, 4)}]`,
          baseline: `SES minimum ${config.rateGateIntervalMs} ms`,
          target: 'min ≥ 1000 ms',
          met: gap.min >= 1000,
        },
        { measure: 'Throttling answers', value: String(throttled), target: '0', met: throttled === 0 },
        { measure: 'duplicate bounces (same OriginalMessageId accepted twice)', value: String(duplicates), target: '0', met: duplicates === 0 },
        {
          measure: 'DynamoDB requests per bounce (send side): reads, writes',
          value: `${fmt(requests.reads / backlog)} reads, ${fmt(requests.writes / backlog)} writes (${Object.entries(requests.byOperation).map(([op, n]) => `${op} ${n}`).join(', ')})`,
        },
      ],
      notes: [
        `Send handler and wiring of the Lambda (buildSendDeps, createSendHandler) on DynamoDB Local and the SES stand-in (Throttling below 1000 ms); the local send worker delivers jobs one per batch to ${CONSUMERS} concurrent handlers, like SQS with reserved concurrency ${CONSUMERS}.`,
        `Spacing and rate are taken from the stand-in's arrival times. Other SES errors: ${otherErrors}; dead letters: ${deadLetters}; handler errors: ${handlerErrors}.`,
        `\`npm run bench -- --quick\` drains 20 jobs instead of 120 (about 21 s instead of 2 min); the rate is then less precise.`,
      ],
      data: { backlog, consumers: CONSUMERS, rate, designRate, spanMs, gaps: gap, throttled, duplicates, otherErrors, deadLetters, requests, arrivals: calls.map((c) => c.arrivedAt) },
    };
  });
};
