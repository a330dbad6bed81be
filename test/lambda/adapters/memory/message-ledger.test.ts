import { MemoryMessageLedger } from '../../../../lambda/adapters/memory/message-ledger';
import { auditFor, job, T0 } from '../../app/send-fakes';

describe('message-ledger (memory)', () => {
  const at = new Date('2026-11-26T13:00:00.000Z');

  describe('claim', () => {
    it('stores the first record and returns it to every later claim', async () => {
      const ledger = new MemoryMessageLedger(() => at);
      await expect(ledger.claim(auditFor(job(), T0))).resolves.toEqual({ claimed: true });
      const again = await ledger.claim(auditFor(job(), T0, { sender: 'other@example.com' }));
      expect(again).toEqual({ claimed: false, existing: auditFor(job(), T0) });
    });
  });

  describe('transition', () => {
    it('moves the state and sets updatedAt and the defined patch fields when the state matches', async () => {
      const ledger = new MemoryMessageLedger(() => at);
      await ledger.claim(auditFor(job(), T0, { lastError: 'old' }));
      await expect(ledger.transition('msg-1', ['PENDING'], 'SENT', { sesBounceMessageId: 'x', lastError: undefined })).resolves.toBe(true);
      expect(await ledger.get('msg-1')).toMatchObject({ state: 'SENT', sesBounceMessageId: 'x', lastError: 'old', updatedAt: at.toISOString() });
    });

    it('returns false and changes nothing when the state does not match or the item is missing', async () => {
      const ledger = new MemoryMessageLedger(() => at);
      await ledger.claim(auditFor(job(), T0, { state: 'SENT' }));
      await expect(ledger.transition('msg-1', ['PENDING'], 'FAILED')).resolves.toBe(false);
      await expect(ledger.transition('nope', ['PENDING'], 'FAILED')).resolves.toBe(false);
      expect((await ledger.get('msg-1'))?.state).toBe('SENT');
      expect(ledger.all()).toHaveLength(1);
    });
  });
});
