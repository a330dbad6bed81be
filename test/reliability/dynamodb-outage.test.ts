/**
 * Issue 7, suite 3: DynamoDB goes away in the middle of a run and comes back.
 *
 * A separate DynamoDB Local with a data directory (so the tables and items
 * survive) serves the rig. While the send consumers work through a backlog,
 * the process is stopped, new mail keeps arriving (its receive invocations
 * fail: no claim can be written), and after a few seconds it is restarted on
 * the same port. Then Lambda retries the failed receive invocations (about a
 * minute later, on the rig clock) and SQS redelivers the failed records.
 *
 * Must hold: no bounce is sent without a claim, every pending bounce is sent
 * after recovery, none twice.
 *
 * Scale: 6 messages in the backlog, 4 arriving during the outage, 2
 * consumers, an outage of ~3 s plus DynamoDB Local's restart. The
 * visibility timeout is 1 s of real time (time jumps are off while
 * DynamoDB is down) and maxReceiveCount 30, so records outlive the outage
 * as they would with SQS's minutes-long timeouts.
 *
 * @timing-sensitive: asserts real-time spacing at the SES stand-in, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb/dynamodb-local';
import { bounceRule, gapsOf, median, PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('dynamodb outage', () => {
  let dataDir: string;
  let db: DynamoDbLocal | undefined;
  let rig: PipelineRig | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ses-bouncer-outage-'));
    db = await startDynamoDbLocal({ dataDir });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    await db?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('sends every pending bounce exactly once after DynamoDB Local is stopped mid-run and restarted, and none without a claim', async () => {
    const first = db as DynamoDbLocal;
    rig = await PipelineRig.start({
      dynamoDbEndpoint: first.endpoint,
      consumers: 2,
      visibilityTimeoutMs: 1000,
      maxReceiveCount: 30,
    });
    const r = rig;
    await r.putRule(bounceRule('bounce-all', ['example.com']));

    const backlog: SesLambdaEvent[] = [];
    for (let i = 0; i < 6; i++) backlog.push(await r.arrive({ recipients: [`backlog${i}@example.com`] }));
    for (const e of backlog) await r.receive(e);

    let jumps = false;
    const draining = r.drain({ jumpTime: () => jumps, timeoutMs: 90_000 });
    await waitFor(() => r.accepted().length >= 2, 20_000, 'two bounces before the outage');
    // Stop while consumers sleep towards their next slots, not mid-request.
    await sleep(300);
    const outageStartedAt = r.clock.now();
    const sentBeforeOutage = r.accepted().length;
    await first.stop();

    // Mail keeps arriving: the receive invocations fail, nothing is claimed or queued.
    const during: SesLambdaEvent[] = [];
    for (let i = 0; i < 4; i++) during.push(await r.arrive({ recipients: [`during${i}@example.com`] }));
    const failed = await r.receiveAll(during);
    expect(failed.map((f) => f.status)).toEqual(Array(4).fill('rejected'));
    const queuedDuringOutage = r.queue.sent.filter((s) => during.some((e) => idOf(e) === s.job.messageId));
    expect(queuedDuringOutage).toEqual([]);

    await sleep(3000);
    db = await startDynamoDbLocal({ dataDir, port: first.port });
    const outageEndedAt = r.clock.now();

    // Lambda retries a failed async invocation about a minute later.
    r.clock.advance(60_000);
    const retried = await r.receiveAll(during);
    expect(retried.filter((x) => x.status === 'rejected')).toEqual([]);
    jumps = true;
    await draining;
    await r.drain();

    const all = [...backlog, ...during];
    // The timeline first, so that a failure below can be read.
    const t0 = r.standIn.calls.length ? Math.min(...r.standIn.calls.map((c) => c.arrivedAt)) : 0;
    const timeline = await Promise.all(
      all.map(async (e) => {
        const a = await r.audit(idOf(e));
        const calls = r.callsFor(idOf(e)).map((c) => `${c.arrivedAt - t0}:${c.outcome.kind === 'error' ? c.outcome.code : 'ok'}`);
        return `${idOf(e).slice(-6)} ${a?.state ?? '(none)'} [${calls.join(' ')}] ${a?.lastError ?? ''}`;
      }),
    );
    process.stdout.write(`\ndynamodb outage timeline (outage ${outageStartedAt - t0}..${outageEndedAt - t0} ms):\n${timeline.join('\n')}\n`);
    const callsPer = all.map((e) => r.callsFor(idOf(e)).filter((c) => c.outcome.kind === 'accepted'));
    // Every pending bounce sent, none twice.
    expect(callsPer.map((c) => c.length)).toEqual(Array(all.length).fill(1));
    // No bounce without a claim: every call's message has an audit item created before the call.
    for (const [i, e] of all.entries()) {
      const audit = await r.audit(idOf(e));
      expect(audit).toBeDefined();
      expect(Date.parse(audit?.createdAt ?? '')).toBeLessThanOrEqual(callsPer[i][0].arrivedAt);
    }
    // Mail that arrived during the outage was bounced only after it could be claimed.
    for (const e of during) expect(r.callsFor(idOf(e))[0].arrivedAt).toBeGreaterThan(outageEndedAt);
    const states = await Promise.all(all.map(async (e) => (await r.audit(idOf(e)))?.state));
    expect(states).toEqual(Array(all.length).fill('SENT'));
    expect(r.queue.deadLetters).toEqual([]);
    expect(r.answered('Throttling')).toEqual([]);
    const gaps = gapsOf(r.standIn.calls);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);

    const figures = {
      messages: all.length,
      sentBeforeOutage,
      sentDuringOutage: r.standIn.calls.filter((c) => c.arrivedAt >= outageStartedAt && c.arrivedAt <= outageEndedAt).length,
      outageMs: outageEndedAt - outageStartedAt,
      failedReceiveInvocations: failed.length,
      gapMinMs: Math.min(...gaps),
      gapMedianMs: median(gaps.filter((g) => g < 30_000)),
    };
    process.stdout.write(`\ndynamodb outage figures: ${JSON.stringify(figures)}\n`);
  }, 120_000);

  it('records SENT, not UNKNOWN, when the SENT write fails for a few seconds after SES accepted the bounce', async () => {
    const r = await PipelineRig.start({ consumers: 1 });
    try {
      await r.putRule(bounceRule('bounce-all', ['example.com']));
      const event = await r.arrive({ recipients: ['blip@example.com'] });
      await r.receive(event);
      const blip = r.inject({
        side: 'send',
        port: 'ledger',
        method: 'transition',
        when: 'before',
        match: (args) => args[2] === 'SENT',
        effect: () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { name: 'TimeoutError' }),
        times: 3,
      });
      await r.drain();
      expect(blip.fired()).toBe(3);
      expect(r.callsFor(idOf(event))).toHaveLength(1);
      expect(await r.audit(idOf(event))).toMatchObject({ state: 'SENT', attempts: 1 });
      expect(r.logs.entries.filter((l) => l.message === 'bounce sent but the SENT write failed; retrying')).toHaveLength(3);
    } finally {
      await r.close();
    }
  });
});
