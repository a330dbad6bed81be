import { BatchWriteItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CommandError } from '../../cli/errors';
import { RulesTable, toJsonValue } from '../../cli/rules-table';
import { localDynamoDbClient, newRulesTable } from './support';

const rules = (n: number) => Array.from({ length: n }, (_, i) => ({ ruleId: `r${i}`, recipients: [`u${i}@example.com`], action: 'bounce' }));

/**
 * Makes a real client answer BatchWriteItem the way a throttled table does:
 * `decide(call, requests)` says how many of the requests to actually write;
 * the rest come back as UnprocessedItems. DynamoDB Local never does this.
 */
function throttling(client: DynamoDBClient, table: string, decide: (call: number, count: number) => number): { calls: () => number } {
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  let calls = 0;
  (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command: unknown) => {
    if (!(command instanceof BatchWriteItemCommand)) return send(command);
    calls++;
    const requests = command.input.RequestItems?.[table] ?? [];
    const take = decide(calls, requests.length);
    if (take > 0) await send(new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(0, take) } }));
    return { UnprocessedItems: take < requests.length ? { [table]: requests.slice(take) } : {} };
  };
  return { calls: () => calls };
}

describe('cli/rules-table', () => {
  describe('RulesTable.putMany', () => {
    it('retries UnprocessedItems until every rule is written, reporting progress per batch', async () => {
      const client = localDynamoDbClient();
      const { table } = await newRulesTable(client);
      const probe = throttling(client, table, (call, count) => (call === 1 ? 10 : count));
      const progress: [number, number][] = [];
      await new RulesTable({ client, tableName: table, retryBaseMs: 1 }).putMany(rules(30), (w, t) => progress.push([w, t]));
      expect(probe.calls()).toBe(3);
      expect(progress).toEqual([
        [25, 30],
        [30, 30],
      ]);
      const scan = await localDynamoDbClient().send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
      expect(scan.Count).toBe(30);
      client.destroy();
    });

    it('gives up with a CommandError saying how many were written when items stay unprocessed', async () => {
      const client = localDynamoDbClient();
      const { table } = await newRulesTable(client);
      const probe = throttling(client, table, (call) => (call === 1 ? 5 : 0));
      const put = new RulesTable({ client, tableName: table, retryBaseMs: 1, maxBatchRetries: 2 }).putMany(rules(30));
      await expect(put).rejects.toThrow(CommandError);
      await expect(put).rejects.toThrow('5 of 30 rules written; 20 were still unprocessed after 2 retries');
      expect(probe.calls()).toBe(3);
      client.destroy();
    });
  });

  describe('toJsonValue', () => {
    it('turns wrapped numbers into numbers unless that would lose digits, and sets into lists', () => {
      expect(
        toJsonValue(
          unmarshall({ a: { N: '7' }, b: { N: '1.5' }, c: { N: '123456789012345678901' }, s: { SS: ['x', 'y'] } }, { wrapNumbers: true }),
        ),
      ).toEqual({ a: 7, b: 1.5, c: '123456789012345678901', s: ['x', 'y'] });
    });
  });
});
