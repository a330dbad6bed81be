import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient, newRulesTable, runCli } from '../../support';

describe('cli/commands/rules/delete', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  describe('rules delete', () => {
    it('deletes an existing rule', async () => {
      const { table, flags } = await newRulesTable(client);
      await client.send(new PutItemCommand({ TableName: table, Item: { ruleId: { S: 'gone' }, action: { S: 'allow' } } }));
      const r = await runCli(['rules', 'delete', 'gone', ...flags]);
      expect(r).toEqual({ code: 0, stdout: `deleted rule gone from ${table}\n`, stderr: '' });
      const after = await client.send(new GetItemCommand({ TableName: table, Key: { ruleId: { S: 'gone' } } }));
      expect(after.Item).toBeUndefined();
    });

    it('exits 1 with a clear message when the rule does not exist', async () => {
      const { table, flags } = await newRulesTable(client);
      await client.send(new PutItemCommand({ TableName: table, Item: { ruleId: { S: 'other' }, action: { S: 'allow' } } }));
      const r = await runCli(['rules', 'delete', 'gone', ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`ses-bouncer: no rule with ruleId "gone" in table ${table}: nothing deleted\n`);
      const other = await client.send(new GetItemCommand({ TableName: table, Key: { ruleId: { S: 'other' } } }));
      expect(other.Item).toBeDefined();
    });
  });
});
