/**
 * Issue 4's "Must show", end to end: the receive and send functions' real
 * wiring on DynamoDB Local, s3rver and the SES stand-in through the real SDK
 * clients; only the queue is the rig's SQS look-alike.
 *
 * @timing-sensitive: asserts real-time spacing at the SES stand-in, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import { ValidationError, MailNotFoundError } from '../../lambda/commons/errors';
import { MetricName } from '../../lambda/commons/metrics';
import {
  bounceRule,
  gapsOf,
  median,
  PipelineRig,
  SAMPLE_RECEIVED_AT,
  sampleEvent,
  type SesLambdaEvent,
} from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;

describe('pipeline (receive → queue → send)', () => {
  describe('the documented sample event', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      rig = await PipelineRig.start({ consumers: 2 });
      // A size condition makes the receive side read the stored object's metadata from S3.
      await rig.putRule(bounceRule('no-such-mailbox', ['recipient@example.com'], { maxSizeBytes: 10_485_760 }));
    });
    afterAll(() => rig.close());

    it('sends exactly one SendBounce with the right fields and records SENT with SES MessageId when the sample event and its .eml come in', async () => {
      const event = sampleEvent();
      const messageId = idOf(event);
      await rig.storeMail(messageId, rig.emlFor(event));
      rig.registerReceived(event);

      const writesBefore = rig.writeRequests().length;
      await expect(rig.receive(event)).resolves.toEqual({ disposition: 'STOP_RULE_SET' });
      await rig.drain();
      // docs/pipeline.md's cost table: claim, budget, slot + SENDING, SENT; plus one
      // gate write per late wake (a loaded machine can wake a consumer > 20 ms late).
      const lateWakes = rig.logs.entries.filter((l) => l.message === 'woke too late for the rate slot; taking another').length;
      expect(rig.writeRequests(0).slice(writesBefore).map((r) => r.command)).toEqual([
        'PutItemCommand',
        'UpdateItemCommand',
        'TransactWriteItemsCommand',
        ...Array(lateWakes).fill('UpdateItemCommand'),
        'UpdateItemCommand',
      ]);

      expect(rig.standIn.calls).toHaveLength(1);
      const [call] = rig.standIn.calls;
      expect(call.outcome.kind).toBe('accepted');
      expect(call.params).toMatchObject({
        Action: 'SendBounce',
        OriginalMessageId: messageId,
        BounceSender: 'mailer-daemon@example.com',
        Explanation: 'The mailbox does not exist.',
        'MessageDsn.ReportingMta': 'dns; mx.example.com',
        'MessageDsn.ArrivalDate': '2019-08-05T21:30:02.028Z',
        'BouncedRecipientInfoList.member.1.Recipient': 'recipient@example.com',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.Action': 'failed',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.Status': '5.1.1',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.DiagnosticCode': 'smtp; 550 5.1.1 mailbox unavailable',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.FinalRecipient': 'recipient@example.com',
      });
      expect(Object.keys(call.params).filter((k) => k.startsWith('BouncedRecipientInfoList.member.2'))).toEqual([]);
      expect(call.params['BouncedRecipientInfoList.member.1.BounceType']).toBeUndefined();

      const audit = await rig.audit(messageId);
      expect(audit).toMatchObject({
        messageId,
        receivedAt: '2019-08-05T21:30:02.028Z',
        state: 'SENT',
        attempts: 1,
        sesBounceMessageId: call.outcome.kind === 'accepted' ? call.outcome.messageId : 'not accepted',
        guard: { allowed: true, reasons: [] },
        decisions: [{ recipient: 'recipient@example.com', action: 'bounce', ruleId: 'no-such-mailbox' }],
      });
      expect(audit?.expiresAt).toBeGreaterThan(SAMPLE_RECEIVED_AT / 1000 + 29 * 86_400);
      // The S3 read happened (HeadObject for the size condition) and found the stored object.
      expect(rig.metrics.get(MetricName.MailReadFailed)).toBe(0);
    });

    it('sends exactly one SendBounce when 20 duplicate invocations of one event run concurrently', async () => {
      const event = await rig.arrive({ recipients: ['recipient@example.com'] });
      const messageId = idOf(event);
      const results = await rig.receiveAll(Array.from({ length: 20 }, () => structuredClone(event)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill('fulfilled'));
      expect(rig.queue.sent.filter((s) => s.job.messageId === messageId)).toHaveLength(1);

      await rig.drain();
      expect(rig.callsFor(messageId)).toHaveLength(1);
      expect((await rig.audit(messageId))?.state).toBe('SENT');
    });
  });

  describe('defect 10: a recipient SES cannot take', () => {
    it('bounces former@ and records and counts jürgen@ when one message goes to both', async () => {
      const rig = await PipelineRig.start({ consumers: 1 });
      try {
        await rig.putRule(bounceRule('bounce-all', ['example.com']));
        const event = await rig.arrive({ recipients: ['former@example.com', 'jürgen@example.com'] });
        await rig.receive(event);
        await rig.drain();

        const calls = rig.callsFor(idOf(event));
        expect(calls).toHaveLength(1);
        expect(calls[0].outcome.kind).toBe('accepted');
        expect(calls[0].params['BouncedRecipientInfoList.member.1.Recipient']).toBe('former@example.com');
        expect(Object.keys(calls[0].params).filter((k) => k.startsWith('BouncedRecipientInfoList.member.2'))).toEqual([]);
        const audit = await rig.audit(idOf(event));
        expect(audit).toMatchObject({ state: 'SENT', unbounceable: ['jürgen@example.com'] });
        expect(audit?.decisions.map((d) => d.action)).toEqual(['bounce', 'bounce']);
        expect(rig.metrics.get(MetricName.RecipientsUnbounceable)).toBe(1);
        expect(rig.metrics.get(MetricName.BouncesFailed)).toBe(0);
      } finally {
        await rig.close();
      }
    });
  });

  describe('at-least-once queue', () => {
    it('sends one SendBounce per message when every job is delivered three times to two concurrent consumers', async () => {
      const rig = await PipelineRig.start({ consumers: 2, redeliveries: 2 });
      try {
        await rig.putRule(bounceRule('bounce-all', ['example.com']));
        const events = [];
        for (let i = 0; i < 5; i++) events.push(await rig.arrive({ recipients: [`user${i}@example.com`] }));
        for (const e of events) await rig.receive(e);

        const report = await rig.drain();
        expect(report.deliveries).toBeGreaterThanOrEqual(15);
        for (const e of events) {
          expect(rig.callsFor(idOf(e))).toHaveLength(1);
          expect((await rig.audit(idOf(e)))?.state).toBe('SENT');
        }
        expect(rig.standIn.calls).toHaveLength(5);
        expect(rig.answered('Throttling')).toEqual([]);
        expect(rig.queue.deadLetters).toEqual([]);
      } finally {
        await rig.close();
      }
    });
  });

  describe('pace', () => {
    it('makes 30 SendBounce calls at least 1000 ms apart with no Throttling when 4 consumers share a backlog of 30 bounces', async () => {
      const rig = await PipelineRig.start({ consumers: 4 });
      try {
        await rig.putRule(bounceRule('bounce-all', ['example.com']));
        const events = [];
        for (let i = 0; i < 30; i++) events.push(await rig.arrive({ recipients: [`user${i}@example.com`], source: `sender${i}@example.org` }));
        const received = await rig.receiveAll(events);
        expect(received.filter((r) => r.status === 'rejected')).toEqual([]);

        await rig.drain({ timeoutMs: 60_000 });
        const calls = rig.standIn.calls;
        expect(calls).toHaveLength(30);
        expect(new Set(calls.map((c) => c.params.OriginalMessageId)).size).toBe(30);
        expect(rig.answered('Throttling')).toEqual([]);
        const gaps = gapsOf(calls);
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
        // Under a backlog the gate keeps close to one call per interval + margin (1100 ms in the rig).
        expect(median(gaps)).toBeGreaterThanOrEqual(1080);
        expect(median(gaps)).toBeLessThan(1300);
        const spanS = (calls[calls.length - 1].arrivedAt - calls[0].arrivedAt) / 1000;
        process.stdout.write(
          `\npace figures: ${JSON.stringify({ calls: calls.length, gapMinMs: Math.min(...gaps), gapMedianMs: median(gaps), gapMaxMs: Math.max(...gaps), callsPerSecond: Number(((calls.length - 1) / spanS).toFixed(3)) })}\n`,
        );
      } finally {
        await rig.close();
      }
    }, 60_000);
  });

  describe('documented end states (docs/pipeline.md)', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      rig = await PipelineRig.start({ consumers: 2, maxReceiveCount: 3 });
      await rig.putRule(bounceRule('bounce-all', ['example.com']));
      await rig.putRule({ ruleId: 'allow-vip', recipients: ['vip@example.com'], action: 'allow', priority: 10 });
    });
    afterAll(() => rig.close());

    async function received(overrides: Parameters<PipelineRig['arrive']>[0] = {}) {
      const event = await rig.arrive(overrides);
      await rig.receive(event);
      return idOf(event);
    }

    it('retries a throttled call on a later slot without counting an attempt, and ends SENT', async () => {
      const id = await received({ recipients: ['throttled@example.com'] });
      rig.standIn.injectFaults(1, { code: 'Throttling', status: 400, message: 'Maximum sending rate exceeded.' });
      await rig.drain();
      const calls = rig.callsFor(id);
      expect(calls.map((c) => (c.outcome.kind === 'error' ? c.outcome.code : 'accepted'))).toEqual(['Throttling', 'accepted']);
      expect(await rig.audit(id)).toMatchObject({ state: 'SENT', attempts: 1 });
      expect(rig.metrics.get(MetricName.SesThrottled)).toBe(1);
      expect(gapsOf(calls)[0]).toBeGreaterThanOrEqual(1000);
    });

    it('records FAILED with the reason and never retries when SES answers MessageRejected', async () => {
      const id = await received({ recipients: ['rejected@example.com'] });
      rig.standIn.injectFaults(1, { code: 'MessageRejected', status: 400, message: 'Email address is not verified.' });
      await rig.drain();
      expect(rig.callsFor(id)).toHaveLength(1);
      const audit = await rig.audit(id);
      expect(audit?.state).toBe('FAILED');
      expect(audit?.lastError).toMatch(/ses rejected the bounce: Email address is not verified/);
      expect(rig.queue.deadLetters).toEqual([]);
    });

    it('records EXPIRED without a call when the message is 24 h old', async () => {
      const id = await received({
        recipients: ['late@example.com'],
        timestamp: new Date(rig.clock.now() - 24 * 3_600_000).toISOString(),
      });
      await rig.drain();
      expect(rig.callsFor(id)).toEqual([]);
      expect(await rig.audit(id)).toMatchObject({ state: 'EXPIRED', attempts: 0 });
    });

    it('retries a 5xx storm with backoff, then records FAILED "retries exhausted" and dead-letters the record', async () => {
      const id = await received({ recipients: ['storm@example.com'] });
      rig.standIn.injectFaults(5, { code: 'ServiceUnavailable', status: 503 });
      const report = await rig.drain();
      expect(rig.callsFor(id)).toHaveLength(5);
      const audit = await rig.audit(id);
      expect(audit).toMatchObject({ state: 'FAILED', attempts: 5 });
      expect(audit?.lastError).toMatch(/^retries exhausted after 5 attempts/);
      expect(rig.queue.deadLetters.map((d) => d.record.job.messageId)).toEqual([id]);
      // Three calls in the first invocation, a requeue with 5 × 2^3 s, two more calls.
      expect(rig.queue.sent.filter((s) => s.job.messageId === id).map((s) => s.delaySeconds)).toEqual([0, 40]);
      expect(report.jumpedMs).toBeGreaterThanOrEqual(40_000);
    });

    it('claims nothing and rejects (so Lambda retries, then dead-letters) when the stored message is missing', async () => {
      // Truncated event headers: the guard must read the full header block from S3.
      const event = rig.eventFor({ recipients: ['nomail@example.com'], headersTruncated: true });
      rig.registerReceived(event);
      const writesBefore = rig.writeRequests().length;
      await expect(rig.receive(event)).rejects.toBeInstanceOf(MailNotFoundError);
      expect(await rig.audit(idOf(event))).toBeUndefined();
      expect(rig.writeRequests().length).toBe(writesBefore);
      expect(rig.metrics.get(MetricName.MailReadFailed)).toBe(1);
      expect(rig.logs.entries.some((l) => l.message === 'stored message not found; not bouncing' && l.extra.messageId === idOf(event))).toBe(true);
      await rig.drain();
      expect(rig.callsFor(idOf(event))).toEqual([]);
    });

    it('rejects a malformed event with an error naming the field, writing and sending nothing', async () => {
      const event = rig.eventFor({ edit: (e) => delete (e.Records[0].ses.mail as Partial<SesLambdaEvent['Records'][0]['ses']['mail']>).messageId });
      const writesBefore = rig.writeRequests().length;
      const callsBefore = rig.standIn.calls.length;
      const error = await rig.receive(event).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/Records\[0\]\.ses\.mail\.messageId is required/);
      expect(rig.writeRequests().length).toBe(writesBefore);
      await rig.drain();
      expect(rig.standIn.calls.length).toBe(callsBefore);
    });

    it('skips an invalid rule item (logged with its ruleId, counted in InvalidRules) and bounces nothing because of it', async () => {
      await rig.putRule({ ruleId: 'broken', recipients: ['broken@example.net'], action: 'bounce', status: '2.0.0' });
      const event = await rig.arrive({ recipients: ['broken@example.net'] });
      try {
        await expect(rig.receive(event)).resolves.toEqual({ disposition: 'CONTINUE' });
        expect(rig.logs.entries.some((l) => l.message === 'invalid rule skipped' && l.extra.ruleId === 'broken')).toBe(true);
        expect(rig.metrics.get(MetricName.InvalidRules)).toBeGreaterThanOrEqual(1);
        expect(await rig.audit(idOf(event))).toBeUndefined();
      } finally {
        await rig.deleteRule('broken');
      }
    });

    it('writes nothing to DynamoDB when the mail is allowed by a rule or matched by no rule', async () => {
      const allowed = await rig.arrive({ recipients: ['vip@example.com'] });
      const unmatched = await rig.arrive({ recipients: ['someone@example.net'] });
      const before = rig.dynamoDbRequests.length;
      await expect(rig.receive(allowed)).resolves.toEqual({ disposition: 'CONTINUE' });
      await expect(rig.receive(unmatched)).resolves.toEqual({ disposition: 'CONTINUE' });
      const requests = rig.dynamoDbRequests.slice(before).map((r) => r.command);
      // Reads (the rules Scan) happen; writes do not.
      expect(requests).toContain('ScanCommand');
      expect(rig.writeRequests(before)).toEqual([]);
      expect(await rig.audit(idOf(allowed))).toBeUndefined();
      expect(await rig.audit(idOf(unmatched))).toBeUndefined();
      expect(rig.queue.sent.filter((s) => [idOf(allowed), idOf(unmatched)].includes(s.job.messageId))).toEqual([]);
    });
  });
});
