import { MemoryRuleSource } from '../../../../lambda/adapters/memory/rule-source';

describe('rule-source (memory)', () => {
  describe('MemoryRuleSource.current', () => {
    it('compiles the items it holds and recompiles after a put', async () => {
      const s = new MemoryRuleSource([{ ruleId: 'r', recipients: ['a@example.com'], action: 'bounce' }]);
      expect((await s.current()).size).toBe(1);
      s.put({ ruleId: 'r2', recipients: ['b@example.com'], action: 'allow' });
      expect((await s.current()).size).toBe(2);
    });

    it('replaces an item with the same ruleId, like PutItem', async () => {
      const s = new MemoryRuleSource([{ ruleId: 'r', recipients: ['a@example.com'], action: 'bounce' }]);
      s.put({ ruleId: 'r', recipients: ['a@example.com'], action: 'allow' });
      expect((await s.current()).size).toBe(1);
      expect(s.compilation().invalid).toEqual([]);
    });

    it('reports invalid items and drops deleted ones', async () => {
      const s = new MemoryRuleSource([{ ruleId: 'bad', recipients: [], action: 'bounce' }, { recipients: ['a@example.com'], action: 'bounce' }]);
      expect(s.compilation().invalid.map((i) => i.ruleId)).toEqual(['bad', undefined]);
      s.delete('bad');
      expect(s.compilation().invalid).toHaveLength(1);
    });
  });
});
