import { MemoryMessageLedger } from '../../../../lambda/adapters/memory/message-ledger';
import { MemoryRateGate } from '../../../../lambda/adapters/memory/rate-gate';
import { auditFor, FakeClock, job, T0 } from '../../app/send-fakes';

function setup() {
  const clock = new FakeClock(T0);
  const ledger = new MemoryMessageLedger(() => new Date(clock.now()));
  return { clock, ledger, gate: new MemoryRateGate({ clock, ledger, intervalMs: 1000 }) };
}

describe('rate-gate (memory)', () => {
  describe('acquire', () => {
    it('hands out slots interval + margin apart, starting now when idle', async () => {
      const { gate, clock } = setup();
      const a = await gate.acquire({ maxWaitMs: 5000 });
      const b = await gate.acquire({ maxWaitMs: 5000 });
      expect(a).toEqual({ kind: 'reserved', slot: { startAt: T0, latestStartAt: T0 + 20 } });
      expect(b).toEqual({ kind: 'reserved', slot: { startAt: T0 + 1040, latestStartAt: T0 + 1060 } });
      clock.t += 10_000;
      expect(await gate.acquire({ maxWaitMs: 0 })).toMatchObject({ kind: 'reserved', slot: { startAt: T0 + 10_000 } });
    });

    it('reserves nothing when the next slot is further than maxWaitMs', async () => {
      const { gate } = setup();
      await gate.acquire({ maxWaitMs: 0 });
      expect(await gate.acquire({ maxWaitMs: 1000 })).toEqual({ kind: 'no-slot', nextFreeAt: T0 + 1040 });
      expect(gate.reservations).toEqual([T0]);
    });

    it('applies the transition with the slot, or reserves nothing when it is refused', async () => {
      const { gate, ledger } = setup();
      await ledger.claim(auditFor(job(), T0));
      const transition = { messageId: 'msg-1', from: ['PENDING'] as const, to: 'SENDING' as const };
      expect((await gate.acquire({ maxWaitMs: 5000, transition })).kind).toBe('reserved');
      expect((await ledger.get('msg-1'))?.state).toBe('SENDING');
      expect(await gate.acquire({ maxWaitMs: 5000, transition })).toEqual({ kind: 'transition-refused' });
      expect(gate.reservations).toHaveLength(1);
    });

    it('refuses a margin smaller than the lateness tolerance', () => {
      const { clock, ledger } = setup();
      expect(() => new MemoryRateGate({ clock, ledger, intervalMs: 1000, marginMs: 10, lateToleranceMs: 20 })).toThrow(/margin 10 ms is below/);
    });
  });
});
