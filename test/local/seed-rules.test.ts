import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ValidationError } from '../../lambda/commons/errors';
import { parseRule } from '../../lambda/domain/rules/rule-schema';
import { DEFAULT_SEED_RULES, loadRuleItems, seedRulesIfEmpty } from '../../local/seed-rules';
import { ensureLocalTables } from '../../local/tables';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

describe('seed-rules', () => {
  describe('loadRuleItems', () => {
    it('reads the default seed file, and every rule in it is valid', () => {
      const items = loadRuleItems(DEFAULT_SEED_RULES);
      expect(items.map((i) => i.ruleId)).toContain('former-employee');
      for (const item of items) expect(parseRule(item)).toMatchObject({ ok: true });
    });

    it('reads the repository examples directory, every rule in it valid', () => {
      const items = loadRuleItems(join(__dirname, '../../examples/rules'));
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) expect(parseRule(item)).toMatchObject({ ok: true });
    });

    it('reads one item, an array or { rules } from every JSON file of a directory, in name order', () => {
      const dir = mkdtempSync(join(tmpdir(), 'seed-'));
      writeFileSync(join(dir, 'b.json'), JSON.stringify({ rules: [{ ruleId: 'b1' }, { ruleId: 'b2' }] }));
      writeFileSync(join(dir, 'a.json'), JSON.stringify({ ruleId: 'a' }));
      writeFileSync(join(dir, 'c.json'), JSON.stringify([{ ruleId: 'c' }]));
      writeFileSync(join(dir, 'notes.txt'), 'ignored');
      expect(loadRuleItems(dir).map((i) => i.ruleId)).toEqual(['a', 'b1', 'b2', 'c']);
    });

    it('throws a ValidationError naming the file when an item has no ruleId', () => {
      const dir = mkdtempSync(join(tmpdir(), 'seed-'));
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify([{ ruleId: 'ok' }, { recipients: ['x@example.com'] }]));
      expect(() => loadRuleItems(file)).toThrow(ValidationError);
      expect(() => loadRuleItems(file)).toThrow(/seed rule 1 in ".*bad\.json"/);
    });
  });

  describe('seedRulesIfEmpty', () => {
    const client = localDynamoDbClient();
    afterAll(() => client.destroy());

    it('puts every item into an empty table, then leaves a non-empty table alone', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await ensureLocalTables(client, names);
      const items = loadRuleItems(DEFAULT_SEED_RULES);
      expect(await seedRulesIfEmpty(client, names.rules, items)).toBe(items.length);
      expect(await seedRulesIfEmpty(client, names.rules, [{ ruleId: 'another' }])).toBe(0);
      const scan = await client.send(new ScanCommand({ TableName: names.rules }));
      expect(scan.Items?.map((i) => i.ruleId.S).sort()).toEqual(items.map((i) => i.ruleId).sort());
      const former = scan.Items?.find((i) => i.ruleId.S === 'former-employee');
      expect(former?.recipients.L?.map((v) => v.S)).toEqual(['former@example.com', 'left-*@example.com']);
    });
  });
});
