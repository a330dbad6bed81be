/**
 * Issue 12, defects 1 and 2: answers lost on the wire, for real. A TCP
 * proxy (test/support/fault-proxy) sits between the functions' SDK clients
 * and the SES stand-in or DynamoDB Local; it forwards a request, lets the
 * service act on it, then resets the connection (or holds the answer) so
 * the client never hears back. No port is mocked: the real SDK clients,
 * their retry strategies and timeouts, and the production wiring run.
 *
 * Must hold:
 * - defect 1: a SendBounce whose answer is lost after SES accepted it is
 *   never sent again; the job ends UNKNOWN and is counted (BouncesUnknown).
 *   A call that provably never left (connection refused) is retried and the
 *   bounce goes out once. A call whose answer never comes ends at the SES
 *   client's request timeout, UNKNOWN, instead of hanging.
 * - defect 2: a claim whose PutItem committed but whose answer was lost
 *   (the SDK retries it, the retry fails its condition against the item the
 *   first attempt wrote) recognises itself: the job is enqueued and sent once.
 */
import { MetricName } from '../../lambda/commons/metrics';
import { bounceRule, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;

describe('lost answers (issue 12)', () => {
  describe('SendBounce behind a proxy that loses answers', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      rig = await PipelineRig.start({ consumers: 1, sesProxy: true, env: { SES_REQUEST_TIMEOUT_MS: '1500' } });
      await rig.putRule(bounceRule('bounce-all', ['example.com']));
    });
    afterAll(() => rig.close());

    it('defect 1: ends UNKNOWN and never resends when the connection is reset after SES accepted the bounce', async () => {
      const event = await rig.arrive({ recipients: ['reset@example.com'] });
      await rig.receive(event);
      rig.sesProxy!.arm({ mode: 'reset', match: /^POST / });

      await rig.drain({ timeoutMs: 30_000 });

      const calls = rig.callsFor(idOf(event));
      // SES got the call and accepted it; the client only saw the reset.
      expect(rig.sesProxy!.lost).toHaveLength(1);
      expect(calls.map((c) => c.outcome.kind)).toEqual(['accepted']);
      const audit = await rig.audit(idOf(event));
      expect(audit).toMatchObject({ state: 'UNKNOWN', attempts: 1 });
      expect(audit?.lastError).toMatch(/answer lost.*ECONNRESET.*not resent/);
      expect(rig.metrics.get(MetricName.BouncesUnknown)).toBe(1);
      expect(rig.queue.deadLetters).toEqual([]);
    }, 40_000);

    it('defect 1: ends UNKNOWN at the request timeout when SES accepted the bounce and the answer never comes', async () => {
      const before = rig.metrics.get(MetricName.BouncesUnknown);
      const event = await rig.arrive({ recipients: ['hold@example.com'] });
      await rig.receive(event);
      rig.sesProxy!.arm({ mode: 'hold', match: /^POST / });

      const started = Date.now();
      await rig.drain({ timeoutMs: 30_000 });
      const waitedMs = Date.now() - started;

      expect(rig.callsFor(idOf(event)).map((c) => c.outcome.kind)).toEqual(['accepted']);
      const audit = await rig.audit(idOf(event));
      expect(audit?.state).toBe('UNKNOWN');
      expect(audit?.lastError).toMatch(/requestTimeout/);
      expect(rig.metrics.get(MetricName.BouncesUnknown)).toBe(before + 1);
      // Bounded by the 1.5 s request timeout (plus the slot wait), not by the function timeout.
      expect(waitedMs).toBeLessThan(10_000);
    }, 40_000);

    it('defect 1: retries a call refused before it left (ECONNREFUSED) and sends the bounce exactly once', async () => {
      const event = await rig.arrive({ recipients: ['refused@example.com'] });
      await rig.receive(event);
      await rig.sesProxy!.refuse();
      let reopened = false;
      let reopening: Promise<void> | undefined;

      // The first invocation's calls are all refused; the job is requeued with a delay.
      // Before the clock jumps to it, the proxy listens again.
      await rig.drain({
        timeoutMs: 30_000,
        jumpTime: () => {
          reopening ??= rig.sesProxy!.accepting().then(() => {
            reopened = true;
          });
          return reopened;
        },
      });

      const calls = rig.callsFor(idOf(event));
      expect(calls.map((c) => c.outcome.kind)).toEqual(['accepted']);
      const audit = await rig.audit(idOf(event));
      // Three refused calls in the first invocation (each an attempt), then the one that went out.
      expect(audit).toMatchObject({ state: 'SENT', attempts: 4 });
      expect(rig.queue.deadLetters).toEqual([]);
    }, 40_000);
  });

  describe('the claim behind a proxy that loses answers', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      rig = await PipelineRig.start({ consumers: 1, dynamoDbProxy: true });
      await rig.putRule(bounceRule('bounce-all', ['example.com']));
    });
    afterAll(() => rig.close());

    it('defect 2: queues and sends the bounce once when the claim committed but its answer was lost', async () => {
      const event = await rig.arrive({ recipients: ['claim@example.com'] });
      rig.dynamoDbProxy!.arm({ mode: 'reset', match: /x-amz-target: DynamoDB_20120810\.PutItem/i });

      const answer = await rig.receive(event);

      expect(rig.dynamoDbProxy!.lost).toHaveLength(1);
      expect(answer.disposition).toBe('STOP_RULE_SET');
      // The SDK's retry met the item its first attempt wrote, and knew it.
      expect(rig.queue.sent.map((s) => s.job.messageId)).toEqual([idOf(event)]);
      expect(rig.metrics.get(MetricName.BouncesQueued)).toBe(1);

      await rig.drain({ timeoutMs: 30_000 });
      expect(rig.callsFor(idOf(event)).map((c) => c.outcome.kind)).toEqual(['accepted']);
      expect((await rig.audit(idOf(event)))?.state).toBe('SENT');
    }, 40_000);

    it('defect 2: a transition whose answer was lost counts as done (FAILED is counted, not taken for a race)', async () => {
      const event = await rig.arrive({ recipients: ['rejected@example.com'] });
      await rig.receive(event);
      rig.standIn.injectFaults(1, { code: 'MessageRejected', status: 400, message: 'Address blacklisted.' });
      const failedBefore = rig.metrics.get(MetricName.BouncesFailed);
      // The SENDING → FAILED update: the only UpdateItem whose body sets FAILED.
      rig.dynamoDbProxy!.arm({ mode: 'reset', match: /DynamoDB_20120810\.UpdateItem[\s\S]*"S":"FAILED"/i });

      await rig.drain({ timeoutMs: 30_000 });

      expect(rig.dynamoDbProxy!.lost).toHaveLength(2);
      expect((await rig.audit(idOf(event)))?.state).toBe('FAILED');
      expect(rig.metrics.get(MetricName.BouncesFailed)).toBe(failedBefore + 1);
    }, 40_000);
  });
});

