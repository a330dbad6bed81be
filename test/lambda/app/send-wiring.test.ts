/**
 * The send function's wiring: the handler over fakes, then the real adapters on
 * DynamoDB Local and the SES stand-in.
 *
 * @timing-sensitive: asserts real-time spacing at the SES stand-in, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { buildSendDeps, createSendHandler } from '../../../lambda/app/send-wiring';
import { loadConfig } from '../../../lambda/config/config';
import { STATE_PARTITION_KEY } from '../../../lambda/config/tables';
import type { BounceJob } from '../../../lambda/ports';
import { TransientSendError } from '../../../lambda/ports/bounce-sender';
import { startSesStandIn } from '../../../local/ses-stand-in';
import type { SesStandIn } from '../../../local/ses-stand-in/types';
import { createTable, deleteTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { lambdaContext, NO_COLD_START_METRIC, SILENT_LOG_CONTEXT } from '../../support/lambda-context';
import { auditFor, harness, job, T0 } from './send-fakes';
import { sesClientFor } from '../../support/ses';

/** The context goes to a logger and a cold-start metric these tests do not look at. */
const QUIET = { logContext: SILENT_LOG_CONTEXT, coldStart: NO_COLD_START_METRIC };

function sqsRecord(id: string, body: string): SQSRecord {
  return { messageId: id, body } as SQSRecord;
}
const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('send-wiring', () => {
  describe('createSendHandler', () => {
    it('sends a valid job and reports no failure', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      const flush = jest.fn();
      const result = await createSendHandler(h.deps, { flush })(event(sqsRecord('r1', JSON.stringify(j))));
      expect(result).toEqual({ batchItemFailures: [] });
      expect(h.sender.calls).toHaveLength(1);
      expect(flush).toHaveBeenCalledTimes(1);
    });

    it('fails a record whose body is not a job, and still handles the others', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      const result = await createSendHandler(h.deps)(event(sqsRecord('bad', '{"messageId":1}'), sqsRecord('good', JSON.stringify(j))));
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
      expect(h.sender.calls).toHaveLength(1);
      expect(h.logs.find((l) => l.level === 'error')?.message).toBe('queue record is not a bounce job');
    });

    it('fails the record of a job whose retries are exhausted (so it reaches the DLQ)', async () => {
      const h = harness([new TransientSendError('503')]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0, { attempts: 4 }));
      const result = await createSendHandler(h.deps)(event(sqsRecord('r1', JSON.stringify(j))));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }]);
      expect((await h.ledger.get('msg-1'))?.state).toBe('FAILED');
    });

    it('fails a record whose job throws, flushing metrics anyway', async () => {
      const h = harness([new Error('bug')]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      const flush = jest.fn();
      const result = await createSendHandler(h.deps, { flush })(event(sqsRecord('r1', JSON.stringify(j))));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'r1' }]);
      expect(flush).toHaveBeenCalled();
    });

    it('leaves the remaining records for redelivery when the invocation is running out of time', async () => {
      const h = harness();
      const a = job('msg-a');
      const b = job('msg-b');
      await h.ledger.claim(auditFor(a, T0));
      await h.ledger.claim(auditFor(b, T0));
      const remaining = [60_000, 5_000];
      const context = lambdaContext({ getRemainingTimeInMillis: () => remaining.shift() ?? 0 });
      const result = await createSendHandler(h.deps, { reserveMs: 30_000, ...QUIET })(
        event(sqsRecord('ra', JSON.stringify(a)), sqsRecord('rb', JSON.stringify(b))),
        context,
      );
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'rb' }]);
      expect((await h.ledger.get('msg-b'))?.state).toBe('PENDING');
    });
  });

  describe('buildSendDeps (DynamoDB Local + SES stand-in)', () => {
    let dynamodb: DynamoDBClient;
    let table: string;
    let standIn: SesStandIn;
    let ses: SESClient;

    beforeAll(async () => {
      dynamodb = localDynamoDbClient();
      table = uniqueTableName('send');
      await createTable(dynamodb, table, STATE_PARTITION_KEY);
    });
    beforeEach(async () => {
      standIn = await startSesStandIn({ minIntervalMs: 1000 });
      ses = sesClientFor(standIn);
    });
    afterEach(async () => {
      ses.destroy();
      await standIn.close();
    });
    afterAll(async () => {
      await deleteTable(dynamodb, table);
      dynamodb.destroy();
    });

    function wire(gateKey: string) {
      const config = loadConfig({
        // The 3 consumers, their DynamoDB calls and the stand-in share one event loop here (on Lambda
        // each instance has its own), so a call's start-to-arrival time varies by more than on Lambda:
        // CI saw a 999 ms gap with the default 40 ms margin and a 919 ms one with 100 ms (181 ms of
        // jitter while another worker synthesized stacks). 200 ms leaves 180 ms of slack.
        RATE_GATE_MARGIN_MS: '200',
        BOUNCE_SENDER: 'mailer-daemon@example.com',
        REPORTING_MTA: 'mx.example.com',
        RULES_TABLE: 'rules',
        STATE_TABLE: table,
        BOUNCE_QUEUE_URL: 'http://127.0.0.1:1/unused',
        MAIL_BUCKET: 'mail',
        RATE_GATE_KEY: gateKey,
        DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
      });
      const queue = new MemoryBounceQueue();
      const deps = { ...buildSendDeps(config, { dynamodb, ses, sqs: new SQSClient({ region: 'us-east-1' }) }, { logger: silent, metrics: { addMetric: () => undefined } }), queue };
      return { deps, queue, ledger: deps.ledger };
    }

    function received(id: string, ageMs = 60_000): BounceJob {
      const j = job(id, new Date(Date.now() - ageMs).toISOString());
      standIn.registerReceived(id, { receivedAt: new Date(j.receivedAt), sender: j.sender });
      return j;
    }

    it('sends one bounce per message, ≥ 1000 ms apart and never throttled, when 3 consumers each get every job twice', async () => {
      const { deps, ledger } = wire('shared-pace');
      const jobs = Array.from({ length: 8 }, (_, i) => received(`pace-${i}`));
      for (const j of jobs) await ledger.claim(auditFor(j, Date.now()));
      // Every job delivered twice, spread over 3 consumers that run concurrently.
      const deliveries = [...jobs, ...jobs].map((j, i) => sqsRecord(`d${i}`, JSON.stringify(j)));
      const consumers = [0, 1, 2].map((c) => deliveries.filter((_, i) => i % 3 === c));
      const handler = createSendHandler(deps);
      const results = await Promise.all(consumers.map((records) => handler(event(...records))));
      expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);

      expect(standIn.calls.filter((c) => c.outcome.kind === 'error')).toEqual([]);
      const bounced = standIn.calls.map((c) => c.params.OriginalMessageId).sort();
      expect(bounced).toEqual(jobs.map((j) => j.messageId).sort());
      const gaps = standIn.calls.slice(1).map((c, i) => c.arrivedAt - standIn.calls[i].arrivedAt);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
      for (const j of jobs) expect((await ledger.get(j.messageId))?.state).toBe('SENT');
    }, 30_000);

    it('records SES MessageId on SENT, FAILED for a rejection, EXPIRED past 24 h, and retries a 5xx', async () => {
      const { deps, ledger } = wire('outcomes');
      const ok = received('out-ok');
      // Received a minute ago by the wall clock (well inside the 24 h window) but never
      // registered with the stand-in: SES answers MessageRejected.
      const rejected = job('out-rejected', new Date(Date.now() - 60_000).toISOString());
      const old = received('out-old', 25 * 3_600_000);
      const flaky = received('out-flaky');
      for (const j of [ok, rejected, old, flaky]) await ledger.claim(auditFor(j, Date.now()));
      const handler = createSendHandler(deps);

      await handler(event(sqsRecord('1', JSON.stringify(ok)), sqsRecord('2', JSON.stringify(rejected)), sqsRecord('3', JSON.stringify(old))));
      standIn.injectFaults(1, { code: 'InternalFailure', status: 500 });
      await handler(event(sqsRecord('4', JSON.stringify(flaky))));

      const accepted = standIn.calls.filter((c) => c.outcome.kind === 'accepted');
      const okCall = accepted.find((c) => c.params.OriginalMessageId === 'out-ok');
      expect(await ledger.get('out-ok')).toMatchObject({ state: 'SENT', sesBounceMessageId: okCall?.outcome.kind === 'accepted' ? okCall.outcome.messageId : 'missing' });
      expect(await ledger.get('out-rejected')).toMatchObject({ state: 'FAILED' });
      expect((await ledger.get('out-rejected'))?.lastError).toMatch(/ses rejected the bounce/);
      expect(await ledger.get('out-old')).toMatchObject({ state: 'EXPIRED' });
      expect(standIn.calls.some((c) => c.params.OriginalMessageId === 'out-old')).toBe(false);
      expect(await ledger.get('out-flaky')).toMatchObject({ state: 'SENT', attempts: 2 });
      // Never a second bounce: one accepted call per sent message (a Throttling answer from
      // start-to-arrival jitter on a loaded machine is retried on a later slot, not resent).
      expect(accepted.map((c) => c.params.OriginalMessageId).sort()).toEqual(['out-flaky', 'out-ok']);
    }, 30_000);
  });
});
