import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../../../cli/rules-table';
import { localDynamoDbClient, newRulesTable, runCli, tempFiles } from '../../support';

describe('cli/commands/rules/export', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  const rules = [
    { ruleId: 'z-first', priority: 1, recipients: ['postmaster@example.com'], action: 'allow' },
    {
      ruleId: 'gone',
      description: 'people who left',
      recipients: ['former@example.com', 'left-*@example.com'],
      action: 'bounce',
      bounceType: 'DoesNotExist',
      status: '5.1.1',
      diagnosticCode: 'smtp; 550 5.1.1 gone',
      headers: { 'List-Id': ['*'] },
      verdicts: { spf: ['PASS'] },
      maxSizeBytes: 1000000,
      enabled: true,
    },
    { ruleId: 'a-later', priority: 100, recipients: ['example.org'], action: 'bounce', activeFrom: '2026-01-01' },
  ];

  describe('rules export', () => {
    it('prints the table as a JSON array sorted by priority then ruleId', async () => {
      const { table, flags } = await newRulesTable(client);
      for (const item of rules) await client.send(new PutItemCommand({ TableName: table, Item: marshallItem(item) }));
      const r = await runCli(['rules', 'export', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const exported = JSON.parse(r.stdout) as Record<string, unknown>[];
      expect(exported.map((x) => x.ruleId)).toEqual(['z-first', 'a-later', 'gone']);
      expect(exported[2]).toEqual(rules[1]);
    });

    it('round-trips with import: export, import into another table, export again gives the same document', async () => {
      const source = await newRulesTable(client);
      const files = await tempFiles({ 'rules.json': JSON.stringify(rules) });
      expect((await runCli(['rules', 'import', files['rules.json'], ...source.flags])).code).toBe(0);
      const first = await runCli(['rules', 'export', ...source.flags]);

      const copy = await newRulesTable(client);
      const imported = await runCli(['rules', 'import', '-', ...copy.flags], { stdin: first.stdout });
      expect(imported.code).toBe(0);
      const second = await runCli(['rules', 'export', ...copy.flags]);
      expect(second.stdout).toBe(first.stdout);
      expect(JSON.parse(second.stdout)).toEqual(expect.arrayContaining(rules));
    });

    it('exports invalid items too and names them on stderr', async () => {
      const { table, flags } = await newRulesTable(client);
      await client.send(new PutItemCommand({ TableName: table, Item: marshallItem({ ruleId: 'broken', recipients: ['x@example.com'], action: 'nope' }) }));
      const r = await runCli(['rules', 'export', ...flags]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([{ ruleId: 'broken', recipients: ['x@example.com'], action: 'nope' }]);
      expect(r.stderr).toMatch(/^warning: invalid rule exported: broken {2}action: /);
    });
  });
});
