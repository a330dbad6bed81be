/**
 * Issue 12, defect 3, through the whole pipeline: a claim whose every
 * receive attempt failed before the enqueue (SQS down for the three
 * attempts Lambda makes) used to wait PENDING for a duplicate event that
 * never comes. The scheduled sweep finds it in the open index and hands its
 * job to the queue again; the bounce goes out once.
 */
import { MetricName } from '../../lambda/commons/metrics';
import { bounceRule, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;

describe('stuck claims (issue 12, defect 3)', () => {
  let rig: PipelineRig;
  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 1 });
    await rig.putRule(bounceRule('bounce-all', ['example.com']));
  });
  afterAll(() => rig.close());

  it('defect 3: the sweep re-enqueues a claim whose receive attempts all failed before the enqueue, and it is sent once', async () => {
    const event = await rig.arrive({ recipients: ['stuck@example.com'] });
    const sqsDown = rig.inject({ side: 'receive', port: 'queue', method: 'enqueue', when: 'before', effect: () => new Error('sqs unavailable'), times: 3 });
    // Lambda's async invocation: the first attempt and two retries, a minute or two apart.
    for (const wait of [0, 60_000, 120_000]) {
      rig.clock.advance(wait);
      await expect(rig.receive(structuredClone(event))).rejects.toThrow(/sqs unavailable/);
    }
    expect(sqsDown.fired()).toBe(3);
    expect((await rig.audit(idOf(event)))?.state).toBe('PENDING');
    await rig.drain();
    expect(rig.callsFor(idOf(event))).toEqual([]);

    // Before the stale age nothing moves; after it, one run re-enqueues the job.
    expect(await rig.sweep()).toEqual({ requeued: 0, expired: 0, unknown: 0, raced: 0 });
    rig.clock.advance(21 * 60_000);
    expect(await rig.sweep()).toEqual({ requeued: 1, expired: 0, unknown: 0, raced: 0 });
    await rig.drain({ timeoutMs: 30_000 });

    expect(rig.callsFor(idOf(event)).map((c) => c.outcome.kind)).toEqual(['accepted']);
    expect((await rig.audit(idOf(event)))?.state).toBe('SENT');
    expect(rig.metrics.get(MetricName.ClaimsRequeued)).toBe(1);
    // A later run finds nothing open.
    rig.clock.advance(30 * 60_000);
    expect(await rig.sweep()).toEqual({ requeued: 0, expired: 0, unknown: 0, raced: 0 });
  }, 60_000);
});
