/**
 * Issue 7, suite 2: crash at every step. For each step, the instance running
 * it dies right after the step took effect (every later port call of that
 * instance fails, the invocation answers nothing). Then the platform's
 * retries run as they would on AWS:
 * - receive side: Lambda's async retries of the SES event, about 1 and 2
 *   minutes later, and a late SES duplicate;
 * - send side: SQS redelivers the record after the visibility timeout.
 * The rig clock jumps over the waits (recovery age 60 s, visibility timeout
 * 150 s, stuck age 5 min), so the suite runs in seconds.
 *
 * Expected outcomes (docs/pipeline.md, "The crash window: at most once"):
 * a crash never causes a second bounce; a crash while SENDING loses at most
 * the bounce or its audit confirmation (UNKNOWN, metric BouncesUnknown).
 */
import { MetricName } from '../../lambda/commons/metrics';
import { bounceRule, CRASH_POINTS, PipelineRig, SimulatedCrash, type CrashPoint, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;

/** What a reader of the table wants to know per step. */
interface Row {
  step: CrashPoint;
  outcome: 'sent once' | 'not sent' | 'sent more than once';
  calls: number;
  audit: string;
  receiveAttempts: number;
  queueDeliveries: number;
  clockJumpedS: number;
}

const EXPECTED: Record<CrashPoint, { outcome: Row['outcome']; audit: string }> = {
  // Lambda's retry a minute later finds the claim PENDING past the recovery age and re-enqueues the job.
  'after the claim': { outcome: 'sent once', audit: 'SENT' },
  // The job is on the queue; the retry's second job finds the item moved on.
  'after the enqueue': { outcome: 'sent once', audit: 'SENT' },
  // SENDING without a call: nobody can prove it was not sent → UNKNOWN, never resent.
  'after the rate slot': { outcome: 'not sent', audit: 'UNKNOWN' },
  // The documented window: the bounce went out, the SENT write did not → UNKNOWN, never resent.
  'after SendBounce': { outcome: 'sent once', audit: 'UNKNOWN' },
  'after the audit write': { outcome: 'sent once', audit: 'SENT' },
};

describe('crash at every step', () => {
  let rig: PipelineRig;
  const rows: Row[] = [];

  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 2 });
    await rig.putRule(bounceRule('bounce-all', ['example.com']));
  });
  afterAll(async () => {
    await rig.close();
    if (rows.length) {
      const lines = [
        '| step | outcome | SendBounce calls | audit state | receive attempts | queue deliveries | clock jumped (s) |',
        '|---|---|---|---|---|---|---|',
        ...rows.map((r) => `| ${r.step} | ${r.outcome} | ${r.calls} | ${r.audit} | ${r.receiveAttempts} | ${r.queueDeliveries} | ${r.clockJumpedS} |`),
      ];
      process.stdout.write(`\ncrash-at-every-step outcomes:\n${lines.join('\n')}\n`);
    }
  });

  /** Invokes like Lambda's async invocation: on failure, retries about 1 and then 2 minutes later. */
  async function receiveWithLambdaRetries(event: SesLambdaEvent): Promise<number> {
    const waits = [0, 60_000, 120_000];
    let attempts = 0;
    for (const wait of waits) {
      rig.clock.advance(wait);
      attempts += 1;
      try {
        await rig.receive(structuredClone(event));
        return attempts;
      } catch (error) {
        expect(error).toBeInstanceOf(SimulatedCrash);
      }
    }
    return attempts;
  }

  it.each(Object.keys(CRASH_POINTS) as CrashPoint[])('never bounces twice when the process dies %s', async (step) => {
    const event = await rig.arrive({ recipients: [`crash-${step.replace(/\W+/g, '-')}@example.com`] });
    const id = idOf(event);
    const fault = rig.inject(CRASH_POINTS[step]);
    const clockBefore = rig.clock.now();

    const receiveAttempts = await receiveWithLambdaRetries(event);
    const first = await rig.drain();
    // SES may still deliver a late duplicate of the event, after everything settled.
    rig.clock.advance(10 * 60_000);
    await rig.receive(structuredClone(event));
    const second = await rig.drain();

    expect(fault.fired()).toBe(1);
    const calls = rig.callsFor(id).filter((c) => c.outcome.kind === 'accepted').length;
    const audit = await rig.audit(id);
    const row: Row = {
      step,
      outcome: calls === 0 ? 'not sent' : calls === 1 ? 'sent once' : 'sent more than once',
      calls,
      audit: audit?.state ?? '(none)',
      receiveAttempts,
      queueDeliveries: first.deliveries + second.deliveries,
      clockJumpedS: Math.round((rig.clock.now() - clockBefore) / 1000),
    };
    rows.push(row);
    expect({ outcome: row.outcome, audit: row.audit }).toEqual(EXPECTED[step]);
    expect(rig.queue.deadLetters).toEqual([]);
    if (row.audit === 'UNKNOWN') expect(audit?.lastError).toMatch(/stuck in SENDING .* not resent/);
  }, 30_000);

  it('counts every UNKNOWN in the BouncesUnknown metric', () => {
    expect(rig.metrics.get(MetricName.BouncesUnknown)).toBe(rows.filter((r) => r.audit === 'UNKNOWN').length);
  });
});
