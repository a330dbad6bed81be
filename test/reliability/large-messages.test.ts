/**
 * Issue 12, defect 9: the largest messages SES can deliver, by recipient
 * count, through the real pipeline (DynamoDB Local, with its 400 KB item
 * limit; a queue that refuses SQS's 256 KiB body limit; the SES stand-in).
 *
 * Must hold: the claim never fails for size (it used to, and the event
 * retried into the DLQ with nothing bounced); rule texts are stored once per
 * rule; what one job cannot carry is not bounced, and is counted and
 * recorded; nothing is bounced twice.
 */
import { MAX_DIAGNOSTIC_CODE_LENGTH, MAX_EXPLANATION_LENGTH } from '../../lambda/domain/rules/rule-schema';
import { MetricName } from '../../lambda/commons/metrics';
import { encodeBounceJob } from '../../lambda/adapters/sqs/bounce-job';
import type { SendBounceCall } from '../../local/ses-stand-in';
import { bounceRule, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;
const recipientsOf = (call: { params: Readonly<Record<string, string>> }) =>
  Object.keys(call.params).filter((k) => /^BouncedRecipientInfoList\.member\.\d+\.Recipient$/.test(k)).length;

/**
 * The one accepted call of a message. A call the stand-in answered with
 * Throttling (start-to-arrival jitter on a loaded machine) is retried on a
 * later slot and is not a second bounce; anything else is.
 */
function acceptedOnce(calls: readonly SendBounceCall[]): SendBounceCall[] {
  expect(calls.filter((c) => !(c.outcome.kind === 'error' && c.outcome.code === 'Throttling')).map((c) => c.outcome.kind)).toEqual(['accepted']);
  return calls.filter((c) => c.outcome.kind === 'accepted');
}

describe('large messages (issue 12, defect 9)', () => {
  let rig: PipelineRig;
  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 1 });
    // The longest texts a rule may carry, so a per-recipient copy would cost 4 KB each.
    await rig.putRule(bounceRule('bounce-typical', ['typical.example']));
    await rig.putRule(
      bounceRule('bounce-all', ['example.com'], {
        diagnosticCode: `smtp; 550 5.1.1 ${'d'.repeat(MAX_DIAGNOSTIC_CODE_LENGTH - 20)}`,
        explanation: 'e'.repeat(MAX_EXPLANATION_LENGTH),
      }),
    );
  });
  afterAll(() => rig.close());

  it('defect 9: bounces all 2,000 recipients of one message, once, in one job under the SQS limit', async () => {
    const recipients = Array.from({ length: 2000 }, (_, i) => `user${i}@typical.example`);
    const event = await rig.arrive({ recipients });

    await rig.receive(event);

    const queued = rig.queue.sent.find((s) => s.job.messageId === idOf(event))!;
    expect(queued.job.recipients).toHaveLength(2000);
    const body = Buffer.byteLength(encodeBounceJob(queued.job));
    expect(body).toBeLessThan(256 * 1024);
    await rig.drain({ timeoutMs: 30_000 });
    const calls = acceptedOnce(rig.callsFor(idOf(event)));
    expect(recipientsOf(calls[0])).toBe(2000);
    expect((await rig.audit(idOf(event)))?.state).toBe('SENT');
    expect(rig.metrics.get(MetricName.RecipientsOverLimit)).toBe(0);
    process.stdout.write(`\nlarge messages: 2,000 recipients → job ${body} bytes\n`);
  }, 60_000);

  it('defect 9: stores 2 KB rule texts once, bounces what one SendBounce can carry of 2,000 recipients and counts the rest', async () => {
    const before = rig.metrics.get(MetricName.RecipientsOverLimit);
    const recipients = Array.from({ length: 2000 }, (_, i) => `user${i}@example.com`);
    const event = await rig.arrive({ recipients });

    await rig.receive(event);

    const queued = rig.queue.sent.find((s) => s.job.messageId === idOf(event))!;
    const bounced = queued.job.recipients.length;
    expect(bounced).toBeGreaterThan(100);
    expect(bounced).toBeLessThan(2000);
    expect(rig.metrics.get(MetricName.RecipientsOverLimit) - before).toBe(2000 - bounced);
    const item = await rig.rawItem(idOf(event));
    // One copy of the texts, under the rule's id.
    expect(Object.keys(item?.bounces as object)).toEqual(['bounce-all']);
    expect(item?.unbouncedRecipients).toBe(2000 - bounced);
    await rig.drain({ timeoutMs: 30_000 });
    const calls = acceptedOnce(rig.callsFor(idOf(event)));
    expect(recipientsOf(calls[0])).toBe(bounced);
    expect((await rig.audit(idOf(event)))?.state).toBe('SENT');
    process.stdout.write(`\nlarge messages: 2,000 recipients with 2 KB texts → ${bounced} bounced, item texts stored once\n`);
  }, 60_000);

  it('defect 9: bounces what one job can carry of 6,000 long recipients, records and counts the rest, and never fails the claim', async () => {
    const before = rig.metrics.get(MetricName.RecipientsOverLimit);
    const recipients = Array.from({ length: 6000 }, (_, i) => `${'long-local-part-'.repeat(3)}${String(i).padStart(6, '0')}@typical.example`);
    const event = await rig.arrive({ recipients });

    await rig.receive(event);

    const queued = rig.queue.sent.find((s) => s.job.messageId === idOf(event))!;
    const bounced = queued.job.recipients.length;
    const body = Buffer.byteLength(encodeBounceJob(queued.job));
    expect(body).toBeLessThan(256 * 1024);
    expect(bounced).toBeGreaterThan(1000);
    expect(bounced).toBeLessThan(6000);
    // The first recipients, in order: a prefix, so what was bounced is easy to tell.
    expect(queued.job.recipients.map((r) => r.recipient)).toEqual(recipients.slice(0, bounced));
    expect(rig.metrics.get(MetricName.RecipientsOverLimit) - before).toBe(6000 - bounced);
    const audit = await rig.audit(idOf(event));
    expect(audit).toMatchObject({ state: 'PENDING', unbouncedRecipients: 6000 - bounced });
    expect(audit?.decisions).toHaveLength(bounced);

    await rig.drain({ timeoutMs: 30_000 });
    const calls = acceptedOnce(rig.callsFor(idOf(event)));
    expect(recipientsOf(calls[0])).toBe(bounced);
    expect((await rig.audit(idOf(event)))?.state).toBe('SENT');
    process.stdout.write(`\nlarge messages: 6,000 long recipients → ${bounced} bounced, job ${body} bytes\n`);
  }, 60_000);

  it('defect 9: keeps the claim under the item limit when thousands of recipients are ones SES cannot take (non-ASCII)', async () => {
    const recipients = ['ascii@typical.example', ...Array.from({ length: 3000 }, (_, i) => `jürgen-${'ü'.repeat(40)}-${i}@typical.example`)];
    const event = await rig.arrive({ recipients });

    await rig.receive(event);

    const item = await rig.rawItem(idOf(event));
    expect(item?.state).toBe('PENDING');
    expect((item?.unbounceable as string[]).length).toBeLessThanOrEqual(100);
    expect(item?.unbounceableCount).toBe(3000);
    await rig.drain({ timeoutMs: 30_000 });
    const calls = acceptedOnce(rig.callsFor(idOf(event)));
    expect(recipientsOf(calls[0])).toBe(1);
  }, 60_000);
});
