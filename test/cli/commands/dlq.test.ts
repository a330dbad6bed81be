/**
 * Defect 17 (issue 12): `ses-bouncer dlq list|redrive`. SQS and Lambda have no
 * local stand-in here, so they are mocked at the SDK edge (aws-sdk-client-mock)
 * by a small queue model: received messages are hidden until released or
 * deleted, as SQS does. The "never twice" proof runs the redriven job through
 * the real send wiring against DynamoDB Local and the SES stand-in.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import type { SESClient } from '@aws-sdk/client-ses';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { buildSendDeps, createSendHandler } from '../../../lambda/app/send-wiring';
import { loadConfig } from '../../../lambda/config/config';
import { STATE_PARTITION_KEY } from '../../../lambda/config/tables';
import type { BounceJob } from '../../../lambda/ports';
import { startSesStandIn } from '../../../local/ses-stand-in';
import type { SesStandIn } from '../../../local/ses-stand-in/types';
import { createTable, deleteTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { auditFor } from '../../lambda/app/send-fakes';
import { runCli } from '../support';
import { sesClientFor } from '../../support/ses';

const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ses-bouncer-dlq';
const JOB_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ses-bouncer-jobs';
const RECEIVE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:ses-bouncer-receive:$LATEST';
const HOUR = 3_600_000;

const iso = (ageMs: number) => new Date(Date.now() - ageMs).toISOString();

function jobBody(messageId: string, ageMs = HOUR): string {
  const job: BounceJob = {
    messageId,
    receivedAt: iso(ageMs),
    sender: 'alice@sender.example',
    recipients: [{ recipient: 'bob@example.com', ruleId: 'former', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }],
  };
  return JSON.stringify(job);
}

/** A Lambda on-failure destination record of the receive function, as Lambda writes it. */
function receiveFailureBody(messageId: string, ageMs = HOUR, errorMessage = 'rules table unreadable'): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: iso(ageMs - 60_000),
    requestContext: { requestId: 'b5c6…', functionArn: RECEIVE_ARN, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: { Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail: { messageId, timestamp: iso(ageMs) }, receipt: { timestamp: iso(ageMs) } } }] },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'MailStoreError', errorMessage, trace: [] },
  });
}

/** Just enough of SQS: a DLQ and a job queue; a received message stays hidden until released or deleted. */
class QueueModel {
  readonly dlq = new Map<string, { body: string; hidden: boolean; receives: number }>();
  readonly sentToJobs: SendMessageCommandInput[] = [];
  readonly deleted: string[] = [];
  private seq = 0;

  add(body: string): string {
    const id = `sqs-${++this.seq}`;
    this.dlq.set(id, { body, hidden: false, receives: 5 });
    return id;
  }

  receive(max: number): Message[] {
    const out: Message[] = [];
    for (const [id, m] of this.dlq) {
      if (m.hidden || out.length >= max) continue;
      m.hidden = true;
      m.receives++;
      out.push({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: m.body, Attributes: { ApproximateReceiveCount: String(m.receives), SentTimestamp: String(Date.now() - HOUR) } });
    }
    return out;
  }

  visibleCount(): number {
    return [...this.dlq.values()].filter((m) => !m.hidden).length;
  }
}

describe('cli dlq (defect 17, issue 12)', () => {
  const sqs = mockClient(SQSClient);
  const lambda = mockClient(LambdaClient);
  let model: QueueModel;
  let invoked: InvokeCommandInput[];
  let invokeFails: boolean;

  beforeEach(() => {
    model = new QueueModel();
    invoked = [];
    invokeFails = false;
    sqs.reset();
    lambda.reset();
    sqs.on(ReceiveMessageCommand).callsFake((input) => {
      if (input.QueueUrl !== DLQ_URL) throw new Error(`received from ${input.QueueUrl}`);
      return { Messages: model.receive(input.MaxNumberOfMessages ?? 1) };
    });
    sqs.on(ChangeMessageVisibilityCommand).callsFake((input) => {
      const m = model.dlq.get(String(input.ReceiptHandle).replace(/^rh-/, ''));
      if (m && input.VisibilityTimeout === 0) m.hidden = false;
      return {};
    });
    sqs.on(DeleteMessageCommand).callsFake((input) => {
      const id = String(input.ReceiptHandle).replace(/^rh-/, '');
      model.deleted.push(id);
      model.dlq.delete(id);
      return {};
    });
    sqs.on(SendMessageCommand).callsFake((input) => {
      model.sentToJobs.push(input);
      return { MessageId: `job-copy-${model.sentToJobs.length}` };
    });
    lambda.on(InvokeCommand).callsFake((input) => {
      if (invokeFails) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      invoked.push(input);
      return { StatusCode: 202 };
    });
  });

  afterAll(() => {
    sqs.restore();
    lambda.restore();
  });

  const cli = (...argv: string[]) => runCli(['dlq', ...argv, '--region', 'us-east-1'], { env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });

  describe('dlq list', () => {
    it('tells bounce jobs, failed receive invocations and unknown bodies apart, says why each failed, and leaves the queue as it was', async () => {
      model.add(jobBody('ses-job-1'));
      model.add(receiveFailureBody('ses-recv-1'));
      model.add('{"hello":"world"}');

      const out = await cli('list', '--queue-url', DLQ_URL);

      expect(out.code).toBe(0);
      const lines = out.stdout.split('\n');
      expect(lines.find((l) => l.includes('ses-job-1'))).toMatch(/bounce-job .*the send function failed it on every delivery \(6 receives\).*ses-bouncer explain ses-job-1/);
      expect(lines.find((l) => l.includes('ses-recv-1'))).toMatch(/receive-failure .*RetriesExhausted, 3 attempts: MailStoreError: rules table unreadable/);
      expect(lines.find((l) => l.includes('unknown'))).toMatch(/neither a bounce job nor a Lambda destination record/);
      expect(out.stdout).toContain('3 messages: 1 bounce jobs, 1 failed receive invocations, 1 unknown');
      expect(model.visibleCount()).toBe(3);
      expect(model.deleted).toEqual([]);
      expect(model.sentToJobs).toEqual([]);
      expect(invoked).toEqual([]);
    });

    it('prints one JSON document with --json, without the SES event payload', async () => {
      model.add(receiveFailureBody('ses-recv-2'));
      const out = await cli('list', '--queue-url', DLQ_URL, '--json');
      expect(out.code).toBe(0);
      const doc = JSON.parse(out.stdout);
      expect(doc.counts).toEqual({ 'bounce-job': 0, 'receive-failure': 1, unknown: 0 });
      expect(doc.messages[0]).toMatchObject({ kind: 'receive-failure', messageIds: ['ses-recv-2'], functionArn: RECEIVE_ARN, receiveCount: 6 });
      expect(doc.messages[0].payload).toBeUndefined();
    });

    it('escapes control characters from a dead letter instead of printing them to the terminal', async () => {
      model.add(receiveFailureBody('ses-recv-3', HOUR, 'boom\u001b[2J\r\nforged line'));
      const out = await cli('list', '--queue-url', DLQ_URL);
      expect(out.stdout).not.toMatch(/\u001b|\r/);
      expect(out.stdout).toContain('boom\\u001b[2J\\u000d\\u000aforged line');
    });

    it('is a usage error (exit 2) without a queue URL', async () => {
      const out = await cli('list');
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('no dead-letter queue: pass --queue-url URL or set SES_BOUNCER_DLQ_URL');
    });
  });

  describe('dlq redrive', () => {
    it('changes nothing with --dry-run and says what it would do', async () => {
      model.add(jobBody('ses-job-2'));
      model.add(receiveFailureBody('ses-recv-4'));
      const out = await cli('redrive', '--dry-run', '--queue-url', DLQ_URL, '--job-queue-url', JOB_QUEUE_URL);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/ses-job-2 .*requeue-job .*planned/);
      expect(out.stdout).toMatch(/ses-recv-4 .*invoke-receive .*planned/);
      expect(out.stdout).toContain('dry run: 2 would be redriven, 0 left in the queue; nothing was changed');
      expect(model.sentToJobs).toEqual([]);
      expect(invoked).toEqual([]);
      expect(model.deleted).toEqual([]);
      expect(model.visibleCount()).toBe(2);
    });

    it('sends jobs back to the job queue and re-invokes failed receives (Event) with their SES event, deleting each only after', async () => {
      const body = jobBody('ses-job-3');
      const jobId = model.add(body);
      const recvId = model.add(receiveFailureBody('ses-recv-5'));
      const out = await cli('redrive', '--queue-url', DLQ_URL, '--job-queue-url', JOB_QUEUE_URL);

      expect(out.code).toBe(0);
      expect(model.sentToJobs).toEqual([{ QueueUrl: JOB_QUEUE_URL, MessageBody: body }]);
      expect(invoked).toHaveLength(1);
      expect(invoked[0]).toMatchObject({ FunctionName: RECEIVE_ARN, InvocationType: 'Event' });
      const payload = JSON.parse(Buffer.from(invoked[0].Payload as Uint8Array).toString());
      expect(payload.Records[0].ses.mail.messageId).toBe('ses-recv-5');
      expect(model.deleted.sort()).toEqual([jobId, recvId].sort());
      expect(out.stdout).toContain('2 redriven, 0 left in the queue, 0 failed');
    });

    it('leaves mail older than 24 h, unknown bodies, and jobs without a job queue in the DLQ, saying why', async () => {
      model.add(jobBody('ses-old-job', 25 * HOUR));
      model.add(receiveFailureBody('ses-old-recv', 25 * HOUR));
      model.add('not json');
      model.add(jobBody('ses-job-4'));
      const out = await cli('redrive', '--queue-url', DLQ_URL, '--json');

      expect(out.code).toBe(0);
      const doc = JSON.parse(out.stdout);
      const by = (id: string) => doc.results.find((r: { messageIds: string[] }) => r.messageIds.includes(id));
      expect(by('ses-old-job')).toMatchObject({ action: 'skip', outcome: 'skipped', why: expect.stringMatching(/more than 24 h ago/) });
      expect(by('ses-old-recv')).toMatchObject({ action: 'skip', why: expect.stringMatching(/more than 24 h ago/) });
      expect(by('ses-job-4')).toMatchObject({ action: 'skip', why: expect.stringMatching(/pass --job-queue-url/) });
      expect(doc.results.find((r: { kind: string }) => r.kind === 'unknown')).toMatchObject({ action: 'skip' });
      expect(doc.skipped).toBe(4);
      expect(model.sentToJobs).toEqual([]);
      expect(invoked).toEqual([]);
      expect(model.deleted).toEqual([]);
      expect(model.visibleCount()).toBe(4);
    });

    it('keeps a letter whose re-invocation failed in the DLQ and exits 1', async () => {
      invokeFails = true;
      model.add(receiveFailureBody('ses-recv-6'));
      const out = await cli('redrive', '--queue-url', DLQ_URL);
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(/ses-recv-6 .*failed .*TooManyRequestsException: Rate exceeded/);
      expect(model.deleted).toEqual([]);
      expect(model.visibleCount()).toBe(1);
    });

    it('refuses the DLQ itself as the job queue (exit 2)', async () => {
      const out = await cli('redrive', '--queue-url', DLQ_URL, '--job-queue-url', DLQ_URL);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('--job-queue-url is the dead-letter queue itself');
    });
  });

  describe('a redriven job through the real send function (DynamoDB Local + SES stand-in)', () => {
    let dynamodb: DynamoDBClient;
    let table: string;
    let standIn: SesStandIn;
    let ses: SESClient;

    beforeAll(async () => {
      dynamodb = localDynamoDbClient();
      table = uniqueTableName('dlq-send');
      await createTable(dynamodb, table, STATE_PARTITION_KEY);
      standIn = await startSesStandIn({ minIntervalMs: 0 });
      ses = sesClientFor(standIn);
    });
    afterAll(async () => {
      ses.destroy();
      await standIn.close();
      await deleteTable(dynamodb, table);
      dynamodb.destroy();
    });

    function sendHandler() {
      const config = loadConfig({
        BOUNCE_SENDER: 'mailer-daemon@example.com',
        REPORTING_MTA: 'mx.example.com',
        RULES_TABLE: 'rules',
        STATE_TABLE: table,
        BOUNCE_QUEUE_URL: JOB_QUEUE_URL,
        MAIL_BUCKET: 'mail',
        RATE_GATE_KEY: 'dlq-redrive',
        DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
      });
      const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const queue = new MemoryBounceQueue();
      const deps = { ...buildSendDeps(config, { dynamodb, ses, sqs: new SQSClient({ region: 'us-east-1' }) }, { logger: silent, metrics: { addMetric: () => undefined } }), queue };
      const handler = createSendHandler(deps);
      const once = (body: string) => handler({ Records: [{ messageId: `rec-${Math.random()}`, body }] } as unknown as SQSEvent);
      /**
       * Delivers a body as SQS would: again after a batch item failure, and any
       * job the handler put back on the queue (a far rate slot on a busy machine),
       * until the message's audit item leaves PENDING (at most 5 rounds).
       */
      const deliver = async (body: string) => {
        const { messageId } = JSON.parse(body) as BounceJob;
        const pending = [body];
        for (let round = 0; round < 5 && pending.length > 0; round++) {
          const failed = (await once(pending.shift() as string)).batchItemFailures.length > 0;
          pending.push(...queue.take().map((q) => JSON.stringify(q.job)));
          if (failed && pending.length === 0 && (await deps.ledger.get(messageId))?.state === 'PENDING') pending.push(body);
        }
      };
      return { handler, ledger: deps.ledger, deliver };
    }

    it('sends a job that was never sent exactly once, and never again a job already SENT', async () => {
      const { ledger, deliver } = sendHandler();
      const sentBody = jobBody('ses-sent-before');
      const pendingBody = jobBody('ses-never-sent');
      for (const body of [sentBody, pendingBody]) {
        const job = JSON.parse(body) as BounceJob;
        standIn.registerReceived(job.messageId, { receivedAt: new Date(job.receivedAt), sender: job.sender });
        await ledger.claim(auditFor(job, Date.now()));
      }
      await deliver(sentBody);
      expect((await ledger.get('ses-sent-before'))?.state).toBe('SENT');
      const callsBefore = standIn.calls.length;

      // Both end up in the DLQ (say the SENT one's acknowledgement was lost) and are redriven.
      model.add(sentBody);
      model.add(pendingBody);
      const out = await cli('redrive', '--queue-url', DLQ_URL, '--job-queue-url', JOB_QUEUE_URL);
      expect(out.code).toBe(0);
      expect(model.sentToJobs).toHaveLength(2);
      for (const copy of model.sentToJobs) await deliver(String(copy.MessageBody));

      const calls = standIn.calls.slice(callsBefore).filter((c) => c.outcome.kind === 'accepted').map((c) => c.params.OriginalMessageId);
      expect(calls).toEqual(['ses-never-sent']);
      expect((await ledger.get('ses-sent-before'))?.state).toBe('SENT');
      expect((await ledger.get('ses-never-sent'))?.state).toBe('SENT');
    }, 30_000);
  });
});
