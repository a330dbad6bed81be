/**
 * Issue 12, defect 4: a job must never outlive its invocation. A timeout
 * mid-job leaves the item SENDING (then UNKNOWN): a bounce lost for no reason.
 *
 * The adversary makes every part take its worst case, on a fake clock: each
 * DynamoDB/SQS request takes `opMaxMs`, each SendBounce call takes
 * `sesCallMaxMs`, every slot is handed out as late as the job allows, the
 * holder wakes late for it, SES fails in every way, the SENT write fails for
 * as long as it is retried. Whatever the invocation's remaining time, the
 * handler's records end before `remaining - JOB_SAFETY_MS`.
 */
import { createSendHandler, JOB_SAFETY_MS, sendReserveMs } from '../../../lambda/app/send-wiring';
import { DEFAULT_OP_MAX_MS, jobTailMs } from '../../../lambda/app/send-bounce';
import type { BounceQueue, MessageLedger } from '../../../lambda/ports';
import {
  SendOutcomeUnknownError,
  ThrottledError,
  TransientSendError,
  type BounceSender,
} from '../../../lambda/ports/bounce-sender';
import type { AcquireOptions, AcquireResult, RateGate } from '../../../lambda/ports/rate-gate';
import { lambdaContext, NO_COLD_START_METRIC, SILENT_LOG_CONTEXT } from '../../support/lambda-context';
import { auditFor, harness, job, T0, type FakeClock } from './send-fakes';

/** The context goes to a logger and a cold-start metric these tests do not look at. */
const QUIET = { logContext: SILENT_LOG_CONTEXT, coldStart: NO_COLD_START_METRIC };

const OP = DEFAULT_OP_MAX_MS;
const SES_CALL = 11_000;

type SesBehaviour = 'accepts' | 'transient' | 'throttled' | 'unknown';

/** Every request takes the longest it can. */
function slow<T extends object>(clock: FakeClock, port: T, failSent = false): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await clock.sleep(OP);
        if (failSent && prop === 'transition' && args[2] === 'SENT') throw new Error('ProvisionedThroughputExceededException');
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Hands out every slot as late as asked (`maxWaitMs` from now), applying the transition as the real gate does. */
class LatestSlotGate implements RateGate {
  readonly waits: number[] = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly ledger: MessageLedger,
  ) {}
  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    await this.clock.sleep(OP);
    if (options.maxWaitMs < 0) return { kind: 'no-slot', nextFreeAt: this.clock.now() + 1000 };
    const t = options.transition;
    if (t && !(await this.ledger.transition(t.messageId, t.from, t.to, t.patch))) return { kind: 'transition-refused' };
    this.waits.push(options.maxWaitMs);
    const startAt = this.clock.now() + options.maxWaitMs;
    return { kind: 'reserved', slot: { startAt, latestStartAt: startAt + 20 } };
  }
}

class WorstSes implements BounceSender {
  calls = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly behaviour: SesBehaviour,
  ) {}
  async send(): Promise<{ messageId: string }> {
    this.calls += 1;
    await this.clock.sleep(SES_CALL);
    switch (this.behaviour) {
      case 'transient':
        throw new TransientSendError('sendbounce could not reach ses (ECONNREFUSED)');
      case 'throttled':
        throw new ThrottledError('ses throttled sendbounce', 'Throttling');
      case 'unknown':
        throw new SendOutcomeUnknownError('answer lost');
      default:
        return { messageId: `ses-${this.calls}` };
    }
  }
}

describe('send job bound', () => {
  const remainders = [sendReserveMs(), 75_000, 120_000, 300_000];
  const behaviours: SesBehaviour[] = ['accepts', 'transient', 'throttled', 'unknown'];
  const worst: { remainingMs: number; behaviour: string; lateWakes: boolean; failSent: boolean; usedMs: number; calls: number }[] = [];

  afterAll(() => {
    const top = [...worst].sort((a, b) => b.usedMs / b.remainingMs - a.usedMs / a.remainingMs).slice(0, 5);
    process.stdout.write(`\nsend job bound: ${worst.length} cases; tail ${jobTailMs()} ms, reserve ${sendReserveMs()} ms; closest to the limit:\n${JSON.stringify(top)}\n`);
  });

  for (const remainingMs of remainders) {
    for (const behaviour of behaviours) {
      for (const lateWakes of [false, true]) {
        for (const failSent of [false, true]) {
          it(`defect 4: ends 3 queued jobs within ${remainingMs} ms less the safety when SES ${behaviour}${lateWakes ? ', every wake is late' : ''}${failSent ? ', the SENT write keeps failing' : ''}`, async () => {
            const h = harness([{ messageId: 'unused' }], { maxSlotWaitMs: 20_000 });
            const clock = h.clock;
            const jobs = ['a', 'b', 'c'].map((id) => job(`bound-${id}`));
            for (const j of jobs) await h.ledger.claim(auditFor(j, T0 - 1000));
            const gate = new LatestSlotGate(clock, h.ledger);
            const ses = new WorstSes(clock, behaviour);
            if (lateWakes) {
              const sleep = clock.sleep.bind(clock);
              clock.sleep = async (ms: number) => {
                clock.overshootMs = ms > 0 ? 25 : 0;
                await sleep(ms);
              };
            }
            const deps = {
              ...h.deps,
              ledger: slow(clock, h.ledger as MessageLedger, failSent),
              queue: slow(clock, h.queue as BounceQueue),
              gate,
              sender: ses,
            };
            const started = clock.now();
            const context = lambdaContext({ getRemainingTimeInMillis: () => remainingMs - (clock.now() - started) });
            const handler = createSendHandler(deps, { reserveMs: sendReserveMs(), ...QUIET });

            await handler({ Records: jobs.map((j, i) => sqsRecord(`sqs-${i}`, JSON.stringify(j))) } as never, context);

            const usedMs = clock.now() - started;
            worst.push({ remainingMs, behaviour, lateWakes, failSent, usedMs, calls: ses.calls });
            expect(usedMs).toBeLessThanOrEqual(remainingMs - JOB_SAFETY_MS);
            // Never a job left SENDING by the handler itself.
            const sending = (await Promise.all(jobs.map((j) => h.ledger.get(j.messageId)))).filter((r) => r?.state === 'SENDING');
            if (!failSent) expect(sending).toEqual([]);
          });
        }
      }
    }
  }

  it('defect 4: starts at least one call when started with the reserve, so a job is never starved', async () => {
    const h = harness([{ messageId: 'ses-1' }], { maxSlotWaitMs: 20_000 });
    const j = job('bound-min');
    await h.ledger.claim(auditFor(j, T0 - 1000));
    const gate = new LatestSlotGate(h.clock, h.ledger);
    const ses = new WorstSes(h.clock, 'accepts');
    const deps = { ...h.deps, ledger: slow(h.clock, h.ledger as MessageLedger), queue: slow(h.clock, h.queue as BounceQueue), gate, sender: ses };
    const started = h.clock.now();
    const remainingMs = sendReserveMs();
    await createSendHandler(deps, { reserveMs: sendReserveMs(), ...QUIET })(
      { Records: [sqsRecord('sqs-min', JSON.stringify(j))] } as never,
      lambdaContext({ getRemainingTimeInMillis: () => remainingMs - (h.clock.now() - started) }),
    );
    expect(ses.calls).toBe(1);
    expect((await h.ledger.get(j.messageId))?.state).toBe('SENT');
  });
});

function sqsRecord(messageId: string, body: string) {
  return { messageId, body, receiptHandle: messageId, attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1' };
}
