import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY, STATE_TTL_ATTRIBUTE } from '../../lambda/config/tables';
import { ensureLocalTables } from '../../local/tables';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

describe('tables', () => {
  describe('ensureLocalTables', () => {
    const client = localDynamoDbClient();
    afterAll(() => client.destroy());

    it('creates both tables with the stack key schema and TTL on the state table', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      expect(await ensureLocalTables(client, names)).toEqual([names.rules, names.state]);
      const rules = await client.send(new DescribeTableCommand({ TableName: names.rules }));
      expect(rules.Table?.KeySchema).toEqual([{ AttributeName: RULES_PARTITION_KEY, KeyType: 'HASH' }]);
      const state = await client.send(new DescribeTableCommand({ TableName: names.state }));
      expect(state.Table?.KeySchema).toEqual([{ AttributeName: STATE_PARTITION_KEY, KeyType: 'HASH' }]);
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: names.state }));
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: STATE_TTL_ATTRIBUTE, TimeToLiveStatus: 'ENABLED' });
    });

    it('creates nothing when the tables exist already', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await ensureLocalTables(client, names);
      expect(await ensureLocalTables(client, names)).toEqual([]);
    });
  });
});
