/**
 * The Lambda context and the correlation id in the functions' logs, and the
 * cold-start metric, as Powertools users expect them: the real project
 * logger and a real Powertools Metrics instance, their output captured.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { MemoryMailStore } from '../../../lambda/adapters/memory/mail-store';
import { MemoryMessageLedger } from '../../../lambda/adapters/memory/message-ledger';
import { beginInvocation } from '../../../lambda/app/invocation';
import { createReceiveHandler } from '../../../lambda/app/receive-wiring';
import { createSendHandler } from '../../../lambda/app/send-wiring';
import { createSweepHandler } from '../../../lambda/app/sweep-wiring';
import { logger } from '../../../lambda/commons/logger';
import type { InvocationTracer } from '../../../lambda/commons/tracing';
import { checkSender } from '../../../lambda/domain/guard';
import { NO_NEEDS, type MessageFacts, type RecipientDecision } from '../../../lambda/domain/model';
import { captureOutput, type OutputCapture } from '../../reliability/log-capture';
import { lambdaContext, NO_COLD_START_METRIC } from '../../support/lambda-context';
import { auditFor, harness, job, T0 } from './send-fakes';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../fixtures/ses', name), 'utf8'));
const noMetrics = { addMetric: () => undefined, singleMetric: () => ({ addDimension: () => undefined, addMetric: () => undefined }) };

/** Receive dependencies in memory that bounce every recipient whose local part starts with "bounce", logging through the project logger. */
function receiveDeps() {
  return {
    rules: {
      current: async () => ({
        size: 1,
        needsFor: () => NO_NEEDS,
        evaluate: (facts: MessageFacts) =>
          facts.recipients.map((recipient): RecipientDecision =>
            recipient.startsWith('bounce')
              ? { recipient, action: 'bounce', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }
              : { recipient, action: 'default', defaultAction: 'deliver' },
          ),
      }),
    },
    mail: new MemoryMailStore(),
    ledger: new MemoryMessageLedger(),
    budget: { consume: async () => true, peek: async () => true },
    queue: new MemoryBounceQueue(),
    checkSender,
    policy: { senderAuth: 'none' as const },
    clock: { now: () => Date.now() },
    auditTtlDays: 30,
    logger,
    metrics: noMetrics,
  };
}

describe('invocation', () => {
  let out: OutputCapture;
  beforeEach(() => {
    out = captureOutput();
  });
  afterEach(() => out.restore());

  describe('createReceiveHandler', () => {
    it("logs each record's lines with the Lambda context and the record's SES message id as correlation id", async () => {
      const event = fixture('multiple-records.json');
      const ids: string[] = event.Records.map((r: { ses: { mail: { messageId: string } } }) => r.ses.mail.messageId);
      const handler = createReceiveHandler(receiveDeps(), { coldStart: NO_COLD_START_METRIC });
      await handler(event, lambdaContext({ awsRequestId: 'req-receive-1' }, 'bouncer-receive'));

      const lines = out.logs().filter((l) => l.messageId !== undefined);
      expect(new Set(lines.map((l) => l.messageId))).toEqual(new Set(ids));
      for (const line of lines) {
        expect(line.correlation_id).toBe(line.messageId);
        expect(line).toMatchObject({ function_name: 'bouncer-receive', function_request_id: 'req-receive-1' });
        expect(typeof line.cold_start).toBe('boolean');
      }
      // Removed after the record: the next invocation's lines do not carry the last message's id.
      expect(logger.getCorrelationId()).toBeUndefined();
    });

    it('keeps the correlation id off the line that reports an invalid event', async () => {
      const handler = createReceiveHandler(receiveDeps(), { coldStart: NO_COLD_START_METRIC });
      await expect(handler({ Records: 'nope' }, lambdaContext({ awsRequestId: 'req-bad' }))).rejects.toThrow();
      const line = out.logs().find((l) => l.message === 'invalid ses event');
      expect(line).toMatchObject({ function_request_id: 'req-bad' });
      expect(line).not.toHaveProperty('correlation_id');
    });
  });

  describe('createSendHandler', () => {
    it("logs each job's lines with the Lambda context and the job's SES message id as correlation id", async () => {
      const h = harness();
      const jobs = [job('send-corr-a'), job('send-corr-b')];
      for (const j of jobs) await h.ledger.claim(auditFor(j, T0));
      const deps = { ...h.deps, logger };
      const event = { Records: jobs.map((j, i) => ({ messageId: `sqs-${i}`, body: JSON.stringify(j) })) } as SQSEvent;
      await createSendHandler(deps, { coldStart: NO_COLD_START_METRIC })(event, lambdaContext({ awsRequestId: 'req-send-1' }, 'bouncer-send'));

      const lines = out.logs().filter((l) => l.messageId !== undefined);
      expect(new Set(lines.map((l) => l.correlation_id))).toEqual(new Set(['send-corr-a', 'send-corr-b']));
      for (const line of lines) {
        expect(line.correlation_id).toBe(line.messageId);
        expect(line).toMatchObject({ function_name: 'bouncer-send', function_request_id: 'req-send-1' });
      }
      expect(logger.getCorrelationId()).toBeUndefined();
    });

    it('reports a record that is not a job with the Lambda context and no correlation id', async () => {
      const h = harness();
      const event = { Records: [{ messageId: 'sqs-bad', body: '{"messageId":1}' }] } as SQSEvent;
      await createSendHandler({ ...h.deps, logger }, { coldStart: NO_COLD_START_METRIC })(event, lambdaContext({ awsRequestId: 'req-send-bad' }));
      const line = out.logs().find((l) => l.message === 'queue record is not a bounce job');
      expect(line).toMatchObject({ sqsMessageId: 'sqs-bad', function_request_id: 'req-send-bad' });
      expect(line).not.toHaveProperty('correlation_id');
    });
  });

  describe('createSweepHandler', () => {
    it('logs its report with the Lambda context and no correlation id (it handles many messages)', async () => {
      const h = harness();
      const deps = {
        ledger: h.ledger,
        stale: { stale: async () => [] },
        queue: h.queue,
        clock: h.clock,
        settings: { sendingStaleMs: 5 * 60_000 },
        metrics: { addMetric: () => undefined },
        logger,
      };
      await createSweepHandler(deps, { coldStart: NO_COLD_START_METRIC })(undefined, lambdaContext({ awsRequestId: 'req-sweep-1' }, 'bouncer-sweep'));
      const line = out.logs().find((l) => l.message === 'sweep done');
      expect(line).toMatchObject({ function_name: 'bouncer-sweep', function_request_id: 'req-sweep-1', requeued: 0 });
      expect(line).not.toHaveProperty('correlation_id');
    });
  });

  describe('beginInvocation', () => {
    /** A Metrics instance as Lambda's on-demand initialization creates it (Powertools counts no cold start under provisioned concurrency). */
    function onDemandMetrics(): Metrics {
      const before = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
      process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
      try {
        return new Metrics({ namespace: 'SesBouncerTest', serviceName: 'ses-bouncer' });
      } finally {
        if (before === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
        else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = before;
      }
    }

    it('emits one ColdStart metric per process, with the function name, on the first invocation only', async () => {
      const metrics = onDemandMetrics();
      const options = { coldStart: metrics, logContext: logger };
      await beginInvocation(options, lambdaContext({}, 'bouncer-send'), 'send');
      await beginInvocation(options, lambdaContext({}, 'bouncer-send'), 'send');
      const coldStarts = out.emf().filter((doc) => 'ColdStart' in doc);
      expect(coldStarts).toHaveLength(1);
      expect(coldStarts[0]).toMatchObject({ ColdStart: 1, function_name: 'bouncer-send', service: 'ses-bouncer' });
    });

    it('emits no ColdStart metric without a Lambda context (local mode, tests)', async () => {
      const metrics = onDemandMetrics();
      await beginInvocation({ coldStart: metrics, logContext: logger }, undefined, 'receive');
      expect(out.emf()).toEqual([]);
    });

    it('runs the invocation and each message in their own subsegments, the message annotated with its id, when tracing is on', async () => {
      const spans: string[] = [];
      const tracer: InvocationTracer = {
        trace: async (name, work) => {
          spans.push(`open ${name}`);
          try {
            return await work();
          } finally {
            spans.push(`close ${name}`);
          }
        },
        annotate: (key, value) => spans.push(`${key}=${value}`),
      };
      const invocation = await beginInvocation({ coldStart: NO_COLD_START_METRIC, tracer: Promise.resolve(tracer) }, lambdaContext(), 'receive');
      await invocation.run(() => invocation.forMessage('m-1', async () => spans.push('work')));
      expect(spans).toEqual(['open ## receive', 'open message', 'messageId=m-1', 'work', 'close message', 'close ## receive']);
    });
  });
});
