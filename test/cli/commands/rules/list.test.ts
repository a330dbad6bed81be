import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../../../cli/rules-table';
import { localDynamoDbClient, newRulesTable, runCli } from '../../support';

const table = (flags: readonly string[]) => flags[flags.indexOf('--table') + 1];

describe('cli/commands/rules/list', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  describe('rules list', () => {
    it('prints every rule in evaluation order as an aligned table, invalid items marked INVALID with the reason', async () => {
      const { table, flags } = await newRulesTable(client);
      const items = [
        { ruleId: 'gone', recipients: ['former@example.com', 'left-*@example.com'], action: 'bounce', description: 'people who left' },
        { ruleId: 'keep-postmaster', priority: 1, recipients: ['postmaster@example.com'], action: 'allow' },
        { ruleId: 'paused', enabled: false, recipients: ['example.org'], action: 'bounce', bounceType: 'ContentRejected' },
        { ruleId: 'broken', priority: 5, recipients: ['x@example.com'], action: 'reject' },
      ];
      for (const item of items) await client.send(new PutItemCommand({ TableName: table, Item: marshallItem(item) }));

      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^RULE ID\s+ENABLED\s+PRIORITY\s+ACTION\s+BOUNCE\s+RECIPIENTS\s+DESCRIPTION$/);
      const rows = lines.slice(1, 5);
      expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['keep-postmaster', 'broken', 'gone', 'paused']);
      // Aligned: each column starts where its heading does.
      const actionAt = lines[0].indexOf('ACTION');
      expect(rows.map((l) => l.slice(actionAt).split(/\s+/)[0])).toEqual(['allow', 'INVALID', 'bounce', 'bounce']);
      const recipientsAt = lines[0].indexOf('RECIPIENTS');
      expect(rows[2].slice(recipientsAt)).toMatch(/^former@example\.com, left-\*@example\.com\s+people who left$/);
      expect(rows[2]).toContain('DoesNotExist 5.1.1');
      expect(rows[3]).toMatch(/^paused\s+no\s+100\s+bounce\s+ContentRejected 5\.7\.1/);
      expect(rows[1]).toContain('action: must be "bounce", "allow" or "drop" (got "reject")');
      expect(r.stdout).toContain(`4 rules in ${table}: 2 enabled, 1 disabled, 1 invalid`);
    });

    it('says so when the table is empty', async () => {
      const { table, flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`no rules in table ${table}\n`);
    });
    it('prints the same rules as one JSON document for --json, invalid items with their errors', async () => {
      const { table, flags } = await newRulesTable(client);
      const items = [
        { ruleId: 'gone', recipients: ['former@example.com'], action: 'bounce', description: 'people who left' },
        { ruleId: 'broken', priority: 5, recipients: ['x@example.com'], action: 'reject' },
      ];
      for (const item of items) await client.send(new PutItemCommand({ TableName: table, Item: marshallItem(item) }));
      const r = await runCli(['rules', 'list', '--json', ...flags]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.table).toBe(table);
      expect(doc.counts).toEqual({ total: 2, enabled: 1, disabled: 0, invalid: 1 });
      expect(doc.rules).toEqual([
        { ruleId: 'broken', valid: false, errors: [expect.objectContaining({ field: 'action' })], item: expect.objectContaining({ action: 'reject' }) },
        {
          ruleId: 'gone',
          valid: true,
          enabled: true,
          priority: 100,
          action: 'bounce',
          bounce: expect.objectContaining({ bounceType: 'DoesNotExist', status: '5.1.1' }),
          recipients: ['former@example.com'],
          description: 'people who left',
        },
      ]);
      const empty = await newRulesTable(client);
      expect(JSON.parse((await runCli(['rules', 'list', '--json', ...empty.flags])).stdout).rules).toEqual([]);
    });

    it('keeps columns aligned when a cell holds wide characters', async () => {
      const { flags } = await newRulesTable(client);
      const items = [
        { ruleId: 'ja', priority: 1, recipients: ['a@example.com'], action: 'bounce', description: '退職者のアドレス' },
        { ruleId: 'en', priority: 2, recipients: ['b@example.com'], action: 'bounce', description: 'left' },
      ];
      for (const item of items) await client.send(new PutItemCommand({ TableName: table(flags), Item: marshallItem(item) }));
      const lines = (await runCli(['rules', 'list', ...flags])).stdout.split('\n');
      expect(lines[1]).toContain('退職者のアドレス');
      // The description is the last column; check the columns before it start at the same display column.
      const recipientsAt = lines[0].indexOf('RECIPIENTS');
      expect(lines[1].slice(recipientsAt)).toMatch(/^a@example\.com/);
      expect(lines[2].slice(recipientsAt)).toMatch(/^b@example\.com/);
    });
  });
  describe('defect 12: control characters in stored items', () => {
    it('prints a ruleId with ESC and CR/LF escaped on its own line, marked INVALID', async () => {
      const { table, flags } = await newRulesTable(client);
      const evil = 'evil\u001b[2J\r\nforged-rule  yes  1  allow';
      await client.send(new PutItemCommand({ TableName: table, Item: marshallItem({ ruleId: evil, recipients: ['x@example.com'], action: 'bounce', description: 'ok\u2028line' }) }));
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u2028\u2029]/);
      const lines = r.stdout.split('\n');
      expect(lines.filter((l) => l.startsWith('forged-rule'))).toEqual([]);
      expect(lines[1]).toMatch(/^evil\\x1b\[2J\\x0d\\x0aforged-rule {2}yes {2}1 {2}allow\s+-\s+-\s+INVALID/);
    });
  });
});
