import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRuleSource } from '../../lambda/adapters/dynamodb/rule-source';
import { factsFor } from '../support/facts';
import { RULE_FIELDS, compileRules, parseRule } from '../../lambda/domain/rules';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

// The rule reference table and the worked examples live in the README.
const doc = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const example = JSON.parse(readFileSync(join(__dirname, '../../examples/rules/former-employee.json'), 'utf8'));


describe('README.md rules section', () => {
  it('has a reference row for every rule attribute', () => {
    for (const field of RULE_FIELDS) expect(doc).toContain(`| \`${field}\` |`);
  });

  it('shows only valid rules in its JSON examples', () => {
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) expect(parseRule(block)).toMatchObject({ ok: true, warnings: [] });
  });

  describe('the put-item example', () => {
    let client: DynamoDBClient;
    let table: string;

    beforeAll(async () => {
      client = localDynamoDbClient();
      table = uniqueTableName('rules-doc');
      await createTable(client, table, 'ruleId');
    });

    afterAll(async () => {
      await deleteTable(client, table);
      client.destroy();
    });

    it('round-trips through PutItem and the RuleSource into the same rule as the example file', async () => {
      const command = /aws dynamodb put-item --table-name "\$RULES_TABLE" --item '(\{[\s\S]*?\})'/.exec(doc);
      expect(command).not.toBeNull();
      const item = JSON.parse(command![1]) as Record<string, AttributeValue>;
      await client.send(new PutItemCommand({ TableName: table, Item: item }));
      const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const source = new DynamoDbRuleSource({ client, tableName: table, cacheMs: 60_000, logger: quiet, metrics: { addMetric: () => undefined } });
      const fromTable = await source.current();
      const fromFile = compileRules([example]).rules;
      expect(fromTable.size).toBe(1);
      for (const [recipient, at] of [
        ['jdoe+x@example.com', '2026-06-01T00:00:00Z'],
        ['jane.doe@example.com', '2026-03-31T12:00:00Z'],
        ['john@example.com', '2026-06-01T00:00:00Z'],
      ]) {
        expect(fromTable.evaluate(factsFor(recipient), new Date(at))).toEqual(fromFile.evaluate(factsFor(recipient), new Date(at)));
      }
      expect(fromTable.evaluate(factsFor('jdoe@example.com'), new Date('2026-06-01T00:00:00Z'))[0]).toMatchObject({
        action: 'bounce',
        ruleId: 'former-employee-jdoe',
        bounce: { status: '5.1.1', diagnosticCode: example.diagnosticCode, explanation: example.explanation },
      });
    });
  });
});
