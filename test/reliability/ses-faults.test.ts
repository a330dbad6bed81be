/**
 * Issue 7, suite 4: SES misbehaves. A backlog meets a storm of faults from
 * the SES stand-in, in this order: 6 Throttling answers, 2 quick 503s, one
 * 503 that takes 2.5 s to arrive (a slow response), one MessageRejected;
 * then SES is healthy again.
 *
 * Must hold: each message ends in its documented state (Throttling retried
 * on later slots without counting an attempt; 5xx retried with backoff and
 * counted; MessageRejected FAILED, never retried), no message is bounced
 * twice, calls stay ≥ 1000 ms apart through the storm, and after it the pace
 * is back to about one call per interval + margin (1100 ms in the rig).
 *
 * Scale: 14 messages, 3 consumers, 10 faulty calls. The storm hits the
 * first three jobs with three failures each, so each uses up the 3 calls one
 * invocation makes and is requeued (5 × 2^1 = 10 s); 14 messages keep a
 * backlog until those come back, so the pace after the storm is measured
 * under load rather than across an idle queue.
 *
 * @timing-sensitive: asserts real-time spacing at the SES stand-in, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import { MetricName } from '../../lambda/commons/metrics';
import { bounceRule, byArrival, gapsOf, median, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;
const MESSAGES = 14;

describe('ses faults', () => {
  let rig: PipelineRig;
  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 3 });
    await rig.putRule(bounceRule('bounce-all', ['example.com']));
  });
  afterAll(() => rig.close());

  it('ends every message in its documented state, never bounces twice and gets back to ~1 call/s after a storm of Throttling, 5xx, slow and MessageRejected answers', async () => {
    const events: SesLambdaEvent[] = [];
    for (let i = 0; i < MESSAGES; i++) events.push(await rig.arrive({ recipients: [`faults${i}@example.com`] }));
    for (const e of events) await rig.receive(e);

    rig.standIn.injectFaults(6, { code: 'Throttling', status: 400, message: 'Maximum sending rate exceeded.' });
    rig.standIn.injectFaults(2, { code: 'ServiceUnavailable', status: 503 });
    rig.standIn.injectFaults(1, { code: 'InternalFailure', status: 500, delayMs: 2500 });
    rig.standIn.injectFaults(1, { code: 'MessageRejected', status: 400, message: 'Address blacklisted.' });
    const stormCalls = 10;

    const drained = await rig.drain({ timeoutMs: 90_000 });
    const calls = byArrival(rig.standIn.calls);
    const outcomeOf = (c: (typeof calls)[number]) => (c.outcome.kind === 'error' ? c.outcome.code : 'accepted');
    expect(calls.slice(0, stormCalls).map(outcomeOf)).toEqual([
      ...Array(6).fill('Throttling'),
      'ServiceUnavailable',
      'ServiceUnavailable',
      'InternalFailure',
      'MessageRejected',
    ]);
    expect(calls.slice(stormCalls).map(outcomeOf)).toEqual(Array(MESSAGES - 1).fill('accepted'));

    const rejectedId = calls[stormCalls - 1].params.OriginalMessageId;
    for (const e of events) {
      const id = idOf(e);
      const mine = rig.callsFor(id);
      const audit = await rig.audit(id);
      const accepted = mine.filter((c) => c.outcome.kind === 'accepted');
      const serverErrors = mine.filter((c) => c.outcome.kind === 'error' && c.outcome.status >= 500).length;
      if (id === rejectedId) {
        expect(accepted).toEqual([]);
        expect(audit?.state).toBe('FAILED');
        expect(audit?.lastError).toMatch(/ses rejected the bounce: Address blacklisted/);
      } else {
        expect(accepted).toHaveLength(1);
        // Throttling is not the job's fault; every 5xx counts as an attempt.
        expect(audit).toMatchObject({ state: 'SENT', attempts: serverErrors + 1 });
      }
    }
    expect(rig.metrics.get(MetricName.SesThrottled)).toBe(6);
    expect(rig.metrics.get(MetricName.BouncesFailed)).toBe(1);
    expect(rig.queue.deadLetters).toEqual([]);

    // Every call, faulty or not, kept the gate's spacing; none was throttled by the stand-in's own meter.
    const allGaps = gapsOf(calls);
    expect(Math.min(...allGaps)).toBeGreaterThanOrEqual(1000);
    // The pace recovers: after the storm, back to one call per interval + margin.
    const after = calls.slice(stormCalls);
    const afterGaps = gapsOf(after);
    expect(Math.min(...afterGaps)).toBeGreaterThanOrEqual(1000);
    expect(median(afterGaps)).toBeLessThan(1200);
    const perSecond = (after.length - 1) / ((after[after.length - 1].arrivedAt - after[0].arrivedAt) / 1000);
    // 0.909/s on an idle machine (one call per 1100 ms); a late wake under CPU load gives a slot
    // up (CI once measured 0.839/s), so the bound is 88 % of that, well above the storm's own pace.
    expect(perSecond).toBeGreaterThan(0.8);

    const figures = {
      messages: MESSAGES,
      calls: calls.length,
      stormCalls,
      allGapMinMs: Math.min(...allGaps),
      allGapMedianMs: median(allGaps),
      afterStormGapMinMs: Math.min(...afterGaps),
      afterStormGapMedianMs: median(afterGaps),
      afterStormCallsPerSecond: Number(perSecond.toFixed(3)),
      requeues: rig.queue.sent.filter((s) => s.delaySeconds > 0).map((s) => s.delaySeconds),
      drainRealMs: drained.realMs,
      clockJumpedMs: drained.jumpedMs,
    };
    process.stdout.write(`\nses faults figures: ${JSON.stringify(figures)}\n`);
  }, 100_000);
});
