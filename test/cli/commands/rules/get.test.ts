import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../../../cli/rules-table';
import { localDynamoDbClient, newRulesTable, runCli } from '../../support';

describe('cli/commands/rules/get', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  describe('rules get', () => {
    it('prints the item as JSON with numbers as numbers and sets as lists', async () => {
      const { table, flags } = await newRulesTable(client);
      const item = marshallItem({ ruleId: 'gone', priority: 7, action: 'bounce', verdicts: { spf: ['PASS'] } });
      item.recipients = { SS: ['former@example.com'] };
      await client.send(new PutItemCommand({ TableName: table, Item: item }));
      const r = await runCli(['rules', 'get', 'gone', ...flags]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        ruleId: 'gone',
        priority: 7,
        action: 'bounce',
        verdicts: { spf: ['PASS'] },
        recipients: ['former@example.com'],
      });
    });

    it('exits 1 naming the ruleId and table when there is no such rule', async () => {
      const { table, flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'get', 'nope', ...flags]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`ses-bouncer: no rule with ruleId "nope" in table ${table}\n`);
    });
  });
});
