import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY, STATE_RULE_INDEX, STATE_TTL_ATTRIBUTE } from '../../lambda/config/tables';
import { ensureLocalTables, rulesStreamArn } from '../../local/tables';
import { createTable, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

describe('tables', () => {
  describe('ensureLocalTables', () => {
    const client = localDynamoDbClient();
    afterAll(() => client.destroy());

    it('creates both tables with the stack key schema and TTL on the state table', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      expect(await ensureLocalTables(client, names)).toEqual([names.rules, names.state]);
      const rules = await client.send(new DescribeTableCommand({ TableName: names.rules }));
      expect(rules.Table?.KeySchema).toEqual([{ AttributeName: RULES_PARTITION_KEY, KeyType: 'HASH' }]);
      // Issue 13: the compile step's trigger, as the stack has it.
      expect(rules.Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'KEYS_ONLY' });
      const state = await client.send(new DescribeTableCommand({ TableName: names.state }));
      expect(state.Table?.KeySchema).toEqual([{ AttributeName: STATE_PARTITION_KEY, KeyType: 'HASH' }]);
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: names.state }));
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: STATE_TTL_ATTRIBUTE, TimeToLiveStatus: 'ENABLED' });
    });

    it('gives the state table the open and rule indexes, the rule index projecting only what the report reads', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await ensureLocalTables(client, names);
      const state = await client.send(new DescribeTableCommand({ TableName: names.state }));
      const indexes = state.Table?.GlobalSecondaryIndexes ?? [];
      expect(indexes.map((i) => i.IndexName).sort()).toEqual(['open-by-age', 'rule-by-time']);
      const rule = indexes.find((i) => i.IndexName === STATE_RULE_INDEX);
      expect(rule?.KeySchema).toEqual([
        { AttributeName: 'ruleKey', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ]);
      expect(rule?.Projection?.ProjectionType).toBe('INCLUDE');
      expect(rule?.Projection?.NonKeyAttributes).not.toContain('decisions');
    });

    it('adds the rule index to a state table kept from before it existed', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await createTable(client, names.state, STATE_PARTITION_KEY);
      expect(await ensureLocalTables(client, names)).toEqual([names.rules]);
      const state = await client.send(new DescribeTableCommand({ TableName: names.state }));
      expect((state.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName)).toEqual([STATE_RULE_INDEX]);
    });

    it('creates nothing when the tables exist already', async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await ensureLocalTables(client, names);
      expect(await ensureLocalTables(client, names)).toEqual([]);
    });
  });

  describe('rulesStreamArn', () => {
    const client = localDynamoDbClient();
    afterAll(() => client.destroy());

    it("returns the rules table's stream", async () => {
      const names = { rules: uniqueTableName('rules'), state: uniqueTableName('state') };
      await ensureLocalTables(client, names);
      const described = await client.send(new DescribeTableCommand({ TableName: names.rules }));
      expect(await rulesStreamArn(client, names.rules)).toBe(described.Table?.LatestStreamArn);
    });

    it('turns a keys-only stream on for a rules table from before the compile step (an old --data-dir)', async () => {
      const table = uniqueTableName('old-rules');
      await createTable(client, table, RULES_PARTITION_KEY);
      const arn = await rulesStreamArn(client, table);
      const described = await client.send(new DescribeTableCommand({ TableName: table }));
      expect(described.Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'KEYS_ONLY' });
      expect(arn).toBe(described.Table?.LatestStreamArn);
    });
  });
});
