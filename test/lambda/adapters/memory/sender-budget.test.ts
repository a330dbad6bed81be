import { MemorySenderBudget } from '../../../../lambda/adapters/memory/sender-budget';

const NOW = new Date('2026-06-01T12:30:00Z');
const HOUR = 3_600_000;

describe('sender-budget (memory)', () => {
  describe('MemorySenderBudget.consume', () => {
    it('grants exactly the limit to 10 concurrent consumes', async () => {
      const b = new MemorySenderBudget({ perAddress: 5, perDomain: 50, windowMs: HOUR });
      const results = await Promise.all(Array.from({ length: 10 }, () => b.consume('a@example.com', NOW)));
      expect(results.filter(Boolean)).toHaveLength(5);
    });

    it('stops a domain at its limit and takes nothing when the address is spent', async () => {
      const b = new MemorySenderBudget({ perAddress: 1, perDomain: 2, windowMs: HOUR });
      expect(await b.consume('a@example.com', NOW)).toBe(true);
      expect(await b.consume('a@example.com', NOW)).toBe(false);
      expect(await b.consume('b@example.com', NOW)).toBe(true);
      expect(await b.consume('c@example.com', NOW)).toBe(false);
    });

    it('starts afresh in the next window', async () => {
      const b = new MemorySenderBudget({ perAddress: 1, perDomain: 50, windowMs: HOUR });
      expect(await b.consume('a@example.com', NOW)).toBe(true);
      expect(await b.consume('a@example.com', new Date(NOW.getTime() + HOUR))).toBe(true);
    });

    it('refuses the null sender', async () => {
      expect(await new MemorySenderBudget({ perAddress: 5, perDomain: 50, windowMs: HOUR }).consume('', NOW)).toBe(false);
    });
  });

  describe('MemorySenderBudget.peek', () => {
    it('says whether consume would succeed and spends nothing', async () => {
      const b = new MemorySenderBudget({ perAddress: 1, perDomain: 50, windowMs: HOUR });
      expect(await b.peek('a@example.com', NOW)).toBe(true);
      expect(await b.peek('a@example.com', NOW)).toBe(true);
      expect(await b.consume('a@example.com', NOW)).toBe(true);
      expect(await b.peek('a@example.com', NOW)).toBe(false);
      expect(await b.peek('', NOW)).toBe(false);
    });
  });
});
