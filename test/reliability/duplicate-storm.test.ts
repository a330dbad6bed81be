/**
 * Issue 7, suite 1: a duplicate storm. SES and Lambda deliver at least once,
 * so one message may arrive many times at once; the queue may deliver every
 * job more than once. Exactly one SendBounce per message must come out.
 *
 * Scale: 5 messages × 50 concurrent duplicate events (250 receive
 * invocations at once, each its own Lambda instance), every queue message
 * delivered 4 times (3 redeliveries), 4 concurrent consumers.
 *
 * @timing-sensitive: asserts real-time spacing at the SES stand-in, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import { bounceRule, gapsOf, median, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const MESSAGES = 5;
const DUPLICATES = 50;
const REDELIVERIES = 3;

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;

describe('duplicate storm', () => {
  let rig: PipelineRig;
  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 4, redeliveries: REDELIVERIES });
    await rig.putRule(bounceRule('bounce-all', ['example.com']));
  });
  afterAll(() => rig.close());

  it(`sends exactly one SendBounce per message when each of ${MESSAGES} messages arrives ${DUPLICATES} times at once and every job is delivered ${REDELIVERIES + 1} times`, async () => {
    const events: SesLambdaEvent[] = [];
    for (let i = 0; i < MESSAGES; i++) events.push(await rig.arrive({ recipients: [`storm${i}@example.com`], source: `s${i}@example.org` }));

    const startedAt = Date.now();
    const storm = events.flatMap((e) => Array.from({ length: DUPLICATES }, () => structuredClone(e)));
    const receives = await rig.receiveAll(storm);
    const receiveMs = Date.now() - startedAt;
    expect(receives.filter((r) => r.status === 'rejected')).toEqual([]);
    const claimAttempts = rig.dynamoDbRequests.filter((r) => r.command === 'PutItemCommand').length;
    expect(claimAttempts).toBe(MESSAGES * DUPLICATES);
    // One winner per message: only the winners enqueued.
    expect(rig.queue.sent).toHaveLength(MESSAGES);

    const drained = await rig.drain({ timeoutMs: 60_000 });

    // A second storm after the bounces went out: late SES retries find SENT and do nothing.
    const late = await rig.receiveAll(events.flatMap((e) => Array.from({ length: 10 }, () => structuredClone(e))));
    expect(late.filter((r) => r.status === 'rejected')).toEqual([]);
    await rig.drain();

    const perMessage = events.map((e) => rig.callsFor(idOf(e)).length);
    expect(perMessage).toEqual(Array(MESSAGES).fill(1));
    expect(rig.standIn.calls).toHaveLength(MESSAGES);
    expect(rig.answered('Throttling')).toEqual([]);
    for (const e of events) expect((await rig.audit(idOf(e)))?.state).toBe('SENT');
    expect(rig.queue.deadLetters).toEqual([]);
    const gaps = gapsOf(rig.standIn.calls);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);

    const figures = {
      receiveInvocations: storm.length + late.length,
      concurrentStormReceiveMs: receiveMs,
      claimsWon: rig.queue.sent.filter((s) => s.delaySeconds === 0).length,
      queueDeliveries: drained.deliveries,
      sendBounceCalls: rig.standIn.calls.length,
      gapMinMs: Math.min(...gaps),
      gapMedianMs: median(gaps),
      drainRealMs: drained.realMs,
    };
    process.stdout.write(`\nduplicate storm figures: ${JSON.stringify(figures)}\n`);
  }, 90_000);
});
