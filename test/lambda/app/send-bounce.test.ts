import { RETRIES_EXHAUSTED, sendBounce } from '../../../lambda/app/send-bounce';
import { MetricName } from '../../../lambda/commons/metrics';
import {
  MessageRejectedError,
  PermanentSendError,
  ThrottledError,
  TransientSendError,
} from '../../../lambda/ports/bounce-sender';
import type { BounceState } from '../../../lambda/ports';
import { auditFor, harness, job, T0 } from './send-fakes';

const HOUR = 3_600_000;
const throttled = () => new ThrottledError('ses throttled sendbounce', 'Throttling');
const transient = () => new TransientSendError('sendbounce failed transiently (500)', 'InternalFailure');

describe('send-bounce', () => {
  describe('sendBounce', () => {
    it('sends once and records SENT with SES MessageId when the job is PENDING', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'sent', sesMessageId: 'ses-bounce-1' });
      expect(h.sender.calls).toHaveLength(1);
      expect(h.sender.calls[0].request).toMatchObject({ OriginalMessageId: 'msg-1', BounceSender: 'mailer-daemon@example.com' });
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'SENT', sesBounceMessageId: 'ses-bounce-1', attempts: 1 });
      expect(h.count(MetricName.BouncesSent)).toBe(1);
      expect(h.metrics).toContainEqual({ name: MetricName.QueueAgeAtSendMs, value: 60_000 });
      expect(h.queue.jobs).toHaveLength(0);
    });

    it('logs the message id, state and attempts with the sender masked', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await sendBounce(h.deps, j);
      const sent = h.logs.find((l) => l.message === 'bounce sent');
      expect(sent?.extra).toMatchObject({ messageId: 'msg-1', state: 'SENT', sender: 'a***@sender.example' });
      expect(JSON.stringify(h.logs)).not.toContain('alice@');
    });

    it('does nothing when the same job is delivered again after SENT', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await sendBounce(h.deps, j);
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'duplicate', state: 'SENT' });
      expect(h.sender.calls).toHaveLength(1);
    });

    it.each<BounceState>(['SKIPPED', 'FAILED', 'EXPIRED', 'UNKNOWN', 'SHADOW', 'DROPPED'])('sends nothing when the item is %s', async (state) => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0, { state }));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'duplicate', state });
      expect(h.sender.calls).toHaveLength(0);
      expect((await h.ledger.get('msg-1'))?.state).toBe(state);
    });

    it('sends nothing when the job has no ledger item', async () => {
      const h = harness();
      await expect(sendBounce(h.deps, job())).resolves.toEqual({ kind: 'missing' });
      expect(h.sender.calls).toHaveLength(0);
    });

    it('sends once when two consumers run the same job concurrently', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      const outcomes = await Promise.all([sendBounce(h.deps, j), sendBounce(h.deps, j)]);
      expect(outcomes.map((o) => o.kind).sort()).toEqual(['duplicate', 'sent']);
      expect(h.sender.calls).toHaveLength(1);
    });

    it('requeues a job held SENDING elsewhere until the holder must have finished', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0 - 60_000, { state: 'SENDING' }));
      const outcome = await sendBounce(h.deps, j);
      // stuck age is 5 min by default; 1 min has passed → back in 4 min + 1 s
      expect(outcome).toEqual({ kind: 'in-flight', delaySeconds: 241 });
      expect(h.queue.jobs).toEqual([{ job: j, delaySeconds: 241 }]);
      expect((await h.ledger.get('msg-1'))?.state).toBe('SENDING');
      expect(h.sender.calls).toHaveLength(0);
    });

    it('marks a SENDING item UNKNOWN, without sending, when it is older than the stuck age', async () => {
      const h = harness();
      const j = job();
      await h.ledger.claim(auditFor(j, T0 - 6 * 60_000, { state: 'SENDING' }));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'unknown' });
      const item = await h.ledger.get('msg-1');
      expect(item?.state).toBe('UNKNOWN');
      expect(item?.lastError).toMatch(/stuck in SENDING for 360 s/);
      expect(h.sender.calls).toHaveLength(0);
      expect(h.count(MetricName.BouncesUnknown)).toBe(1);
    });

    it('marks the job EXPIRED without a call when it was received more than 24 h ago', async () => {
      const h = harness();
      const j = job('msg-1', new Date(T0 - 25 * HOUR).toISOString());
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'expired' });
      expect((await h.ledger.get('msg-1'))?.state).toBe('EXPIRED');
      expect(h.sender.calls).toHaveLength(0);
      expect(h.count(MetricName.BouncesExpired)).toBe(1);
    });

    it('marks the job EXPIRED when less than the safety margin is left of the 24 h', async () => {
      const h = harness();
      const j = job('msg-1', new Date(T0 - 24 * HOUR + 30_000).toISOString());
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'expired' });
      expect(h.sender.calls).toHaveLength(0);
    });

    it('requeues the job, still PENDING, when no slot is free within the longest wait', async () => {
      const h = harness();
      for (let i = 0; i < 25; i++) await h.gate.acquire({ maxWaitMs: 60_000 }); // a backlog of 26 s
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      const outcome = await sendBounce(h.deps, j);
      expect(outcome).toEqual({ kind: 'requeued', cause: 'no-slot', delaySeconds: 26 });
      expect((await h.ledger.get('msg-1'))?.state).toBe('PENDING');
      expect(h.queue.jobs).toHaveLength(1);
      expect(h.sender.calls).toHaveLength(0);
    });

    it('requeues rather than expires when the only free slot is past the 24 h (then expires later)', async () => {
      const h = harness();
      for (let i = 0; i < 5; i++) await h.gate.acquire({ maxWaitMs: 60_000 });
      const j = job('msg-1', new Date(T0 - 24 * HOUR + 63_000).toISOString()); // 3 s left before the safety margin
      await h.ledger.claim(auditFor(j, T0));
      expect((await sendBounce(h.deps, j)).kind).toBe('requeued');
      h.clock.t += 10_000;
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'expired' });
      expect(h.sender.calls).toHaveLength(0);
    });

    it('retries a throttled call on a later slot without counting an attempt', async () => {
      const h = harness([throttled(), { messageId: 'ses-bounce-2' }]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'sent', sesMessageId: 'ses-bounce-2' });
      expect(h.sender.calls).toHaveLength(2);
      expect(h.sender.calls[1].at - h.sender.calls[0].at).toBeGreaterThanOrEqual(1000);
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'SENT', attempts: 1 });
      expect(h.count(MetricName.SesThrottled)).toBe(1);
      expect(h.count(MetricName.BouncesFailed)).toBe(0);
    });

    it('requeues the job PENDING, attempts unchanged, when every call of the invocation is throttled', async () => {
      const h = harness([throttled()]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'requeued', cause: 'throttled', delaySeconds: 2 });
      expect(h.sender.calls).toHaveLength(3);
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'PENDING', attempts: 0, lastError: 'ses throttled sendbounce' });
      expect(h.count(MetricName.SesThrottled)).toBe(3);
    });

    it('marks the job FAILED with the reason and does not retry when SES rejects it', async () => {
      const h = harness([new MessageRejectedError('ses rejected the bounce: not received', 'MessageRejected')]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'failed', reason: 'ses rejected the bounce: not received' });
      expect(h.sender.calls).toHaveLength(1);
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'FAILED', lastError: 'ses rejected the bounce: not received' });
      expect(h.count(MetricName.BouncesFailed)).toBe(1);
      expect(h.queue.jobs).toHaveLength(0);
    });

    it('marks the job FAILED without retry on any other 4xx answer', async () => {
      const h = harness([new PermanentSendError('ses refused sendbounce with 403 AccessDenied: no', 'AccessDenied')]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      expect((await sendBounce(h.deps, j)).kind).toBe('failed');
      expect(h.sender.calls).toHaveLength(1);
    });

    it('marks the job FAILED without a call when its request is invalid', async () => {
      const h = harness();
      const j = { ...job(), recipients: [{ ...job().recipients[0], recipient: 'not-an-address' }] };
      await h.ledger.claim(auditFor(j, T0));
      const outcome = await sendBounce(h.deps, j);
      expect(outcome.kind).toBe('failed');
      expect((await h.ledger.get('msg-1'))?.lastError).toMatch(/BouncedRecipientInfoList "not-an-address": has no recipient SES can take/);
      expect(h.sender.calls).toHaveLength(0);
    });

    it('retries a transient failure after a backoff on a later slot and counts the attempt', async () => {
      const h = harness([transient(), { messageId: 'ses-bounce-2' }]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toMatchObject({ kind: 'sent' });
      expect(h.sender.calls[1].at - h.sender.calls[0].at).toBeGreaterThanOrEqual(1000);
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'SENT', attempts: 2 });
    });

    it('requeues with a growing delay after the invocation’s calls all fail transiently', async () => {
      const h = harness([transient()]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toEqual({ kind: 'requeued', cause: 'transient', delaySeconds: 40 });
      expect(h.sender.calls).toHaveLength(3);
      expect(await h.ledger.get('msg-1')).toMatchObject({ state: 'PENDING', attempts: 3 });
      expect(h.queue.jobs).toHaveLength(1);
    });

    it('marks the job FAILED and reports it exhausted at the last allowed attempt, then keeps reporting it', async () => {
      const h = harness([transient()]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0, { attempts: 3 }));
      const outcome = await sendBounce(h.deps, j);
      expect(outcome.kind).toBe('exhausted');
      expect(h.sender.calls).toHaveLength(2);
      const item = await h.ledger.get('msg-1');
      expect(item).toMatchObject({ state: 'FAILED', attempts: 5 });
      expect(item?.lastError?.startsWith(RETRIES_EXHAUSTED)).toBe(true);
      expect(h.count(MetricName.BouncesFailed)).toBe(1);
      // A redelivery of the record is reported again (so it reaches the DLQ), without a call.
      await expect(sendBounce(h.deps, j)).resolves.toMatchObject({ kind: 'exhausted' });
      expect(h.sender.calls).toHaveLength(2);
    });

    it('takes a fresh slot instead of starting late when it wakes past the lateness tolerance', async () => {
      const h = harness();
      await h.gate.acquire({ maxWaitMs: 0 }); // someone holds the current slot: ours is 1040 ms away
      h.clock.overshootMs = 200; // the first sleep wakes 200 ms late
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).resolves.toMatchObject({ kind: 'sent' });
      expect(h.gate.reservations).toHaveLength(3);
      const start = h.sender.calls[0].at;
      expect(start).toBe(h.gate.reservations[2]);
      expect(start - h.gate.reservations[1]).toBeGreaterThanOrEqual(1000);
      expect(h.logs.some((l) => l.message.startsWith('woke too late'))).toBe(true);
    });

    it('keeps the item SENDING and rethrows when the sender fails in an unclassified way', async () => {
      const h = harness([new Error('bug')]);
      const j = job();
      await h.ledger.claim(auditFor(j, T0));
      await expect(sendBounce(h.deps, j)).rejects.toThrow('bug');
      expect((await h.ledger.get('msg-1'))?.state).toBe('SENDING');
    });

    it('starts the calls of a backlog at least the interval apart', async () => {
      const h = harness();
      const jobs = Array.from({ length: 8 }, (_, i) => job(`msg-${i}`));
      for (const j of jobs) await h.ledger.claim(auditFor(j, T0));
      // One after another: the fake clock is not a scheduler (concurrent pacing is tested on DynamoDB Local).
      const outcomes = [];
      for (const j of jobs) outcomes.push(await sendBounce(h.deps, j));
      expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
      const starts = h.sender.calls.map((c) => c.at).sort((a, b) => a - b);
      starts.slice(1).forEach((t, i) => expect(t - starts[i]).toBeGreaterThanOrEqual(1000));
    });
  });
});
