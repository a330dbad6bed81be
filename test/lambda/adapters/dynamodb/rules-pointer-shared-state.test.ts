import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRulesPointer } from '../../../../lambda/adapters/dynamodb/rules-pointer';
import type { RulesPointer } from '../../../../lambda/domain/rules/pointer';
import { createStateTable } from '../../../../local/tables';
import { deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

/** A pointer as a compile of `rulesTable` would publish it, started `ageMs` ago. */
function pointerOf(rulesTable: string, rules: number, ageMs = 0): RulesPointer {
  const started = new Date(Date.now() - ageMs).toISOString();
  return {
    version: `${started}-${rulesTable}`,
    objectKey: `rules/${rulesTable}.json.gz`,
    scanStartedAt: started,
    compiledAt: started,
    rules,
    disabled: 0,
    invalidCount: 0,
    invalid: [],
    bytes: 100,
  };
}

describe('DynamoDbRulesPointer', () => {
  describe('on a state table shared by two bouncers (existingStateTable)', () => {
    let client: DynamoDBClient;
    let stateTable: string;
    beforeAll(async () => {
      client = localDynamoDbClient();
      stateTable = uniqueTableName('shared-state');
      await createStateTable(client, stateTable);
    });
    afterAll(async () => {
      await deleteTable(client, stateTable);
      client.destroy();
    });

    it("keeps one pointer per rules table: neither bouncer reads or replaces the other's", async () => {
      const a = new DynamoDbRulesPointer({ client, tableName: stateTable, rulesTable: 'bouncer-a-rules' });
      const b = new DynamoDbRulesPointer({ client, tableName: stateTable, rulesTable: 'bouncer-b-rules' });
      expect(await a.publish(pointerOf('bouncer-a-rules', 10, 5_000))).toBe(true);
      // B's compile started later; on one key it would have replaced A's pointer.
      expect(await b.publish(pointerOf('bouncer-b-rules', 20))).toBe(true);
      expect((await a.read())?.objectKey).toBe('rules/bouncer-a-rules.json.gz');
      expect((await b.read())?.objectKey).toBe('rules/bouncer-b-rules.json.gz');
      // And an older compile of A still loses to A's newer pointer only.
      expect(await a.publish(pointerOf('bouncer-a-rules', 1, 60_000))).toBe(false);
      expect((await a.read())?.rules).toBe(10);
    });

    it('reads nothing for a rules table that never compiled, even when another has a pointer', async () => {
      const c = new DynamoDbRulesPointer({ client, tableName: stateTable, rulesTable: 'bouncer-c-rules' });
      expect(await c.read()).toBeUndefined();
    });
  });
});
