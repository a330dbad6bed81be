import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbSenderBudget, SenderBudgetError, budgetKey } from '../../../../lambda/adapters/dynamodb/sender-budget';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

const HOUR = 3_600_000;
const NOW = new Date('2026-06-01T12:30:00Z');

describe('sender-budget', () => {
  let client: DynamoDBClient;
  let table: string;

  beforeAll(async () => {
    client = localDynamoDbClient();
    table = uniqueTableName('state');
    await createTable(client, table, 'pk');
  });

  afterAll(async () => {
    await deleteTable(client, table);
    client.destroy();
  });

  const budget = (perAddress: number, perDomain: number) => new DynamoDbSenderBudget({ client, tableName: table, perAddress, perDomain, windowMs: HOUR });

  describe('DynamoDbSenderBudget.consume', () => {
    it('grants exactly the limit to 10 concurrent consumes for one address', async () => {
      const b = budget(5, 50);
      const results = await Promise.all(Array.from({ length: 10 }, () => b.consume('one@concurrent.example', NOW)));
      expect(results.filter(Boolean)).toHaveLength(5);
    });

    it('stops every address of a domain once the domain budget is spent', async () => {
      const b = budget(5, 3);
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await b.consume(`user${i}@domain-limit.example`, NOW));
      expect(results).toEqual([true, true, true, false, false]);
    });

    it('does not count against the domain when the address budget is spent', async () => {
      const b = budget(1, 3);
      expect(await b.consume('same@no-leak.example', NOW)).toBe(true);
      expect(await b.consume('same@no-leak.example', NOW)).toBe(false);
      expect(await b.consume('same@no-leak.example', NOW)).toBe(false);
      expect(await b.consume('other@no-leak.example', NOW)).toBe(true);
      expect(await b.consume('third@no-leak.example', NOW)).toBe(true);
      expect(await b.consume('fourth@no-leak.example', NOW)).toBe(false);
    });

    it('counts BATV- and plus-tagged variants as one address', async () => {
      const b = budget(2, 50);
      expect(await b.consume('prvs=1234abcd=bob@tags.example', NOW)).toBe(true);
      expect(await b.consume('Bob+x@TAGS.example', NOW)).toBe(true);
      expect(await b.consume('bob@tags.example', NOW)).toBe(false);
    });

    it('starts afresh in the next window', async () => {
      const b = budget(1, 50);
      expect(await b.consume('carol@window.example', NOW)).toBe(true);
      expect(await b.consume('carol@window.example', new Date(NOW.getTime() + 10 * 60_000))).toBe(false);
      expect(await b.consume('carol@window.example', new Date(NOW.getTime() + HOUR))).toBe(true);
    });

    it('keeps both counters in one item with a TTL after the window', async () => {
      await budget(5, 50).consume('dave@item.example', NOW);
      const key = budgetKey('dave@item.example', NOW, HOUR)!;
      const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key.pk } } }));
      expect(Item).toMatchObject({ domainCount: { N: '1' }, 'addr#dave@item.example': { N: '1' } });
      expect(Number(Item!.expiresAt.N)).toBeGreaterThanOrEqual(Date.parse('2026-06-01T13:00:00Z') / 1000);
    });

    it('refuses the null sender and a zero limit without writing', async () => {
      expect(await budget(5, 50).consume('', NOW)).toBe(false);
      expect(await budget(0, 50).consume('eve@zero.example', NOW)).toBe(false);
      const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: budgetKey('eve@zero.example', NOW, HOUR)!.pk } } }));
      expect(Item).toBeUndefined();
    });

    it('throws a named error when the table is missing', async () => {
      const b = new DynamoDbSenderBudget({ client, tableName: 'no-such-state', perAddress: 5, perDomain: 50, windowMs: HOUR });
      await expect(b.consume('x@example.com', NOW)).rejects.toBeInstanceOf(SenderBudgetError);
    });
  });
  describe('DynamoDbSenderBudget.peek', () => {
    it('says whether consume would succeed, with one read and no write', async () => {
      const b = budget(2, 50);
      const key = budgetKey('frank@peek.example', NOW, HOUR)!;
      const item = async () => (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key.pk } } }))).Item;
      expect(await b.peek('frank@peek.example', NOW)).toBe(true);
      expect(await item()).toBeUndefined();
      await b.consume('frank@peek.example', NOW);
      expect(await b.peek('frank@peek.example', NOW)).toBe(true);
      await b.consume('frank@peek.example', NOW);
      const spent = await item();
      expect(await b.peek('Frank+x@peek.example', NOW)).toBe(false);
      // Peeking changed nothing: the item is as the two consumes left it.
      expect(await item()).toEqual(spent);
      expect(await b.peek('other@peek.example', NOW)).toBe(true);
    });

    it('is false when the domain budget is spent, for the null sender and for a zero limit', async () => {
      const b = budget(5, 1);
      await b.consume('one@peek-domain.example', NOW);
      expect(await b.peek('two@peek-domain.example', NOW)).toBe(false);
      expect(await b.peek('', NOW)).toBe(false);
      expect(await budget(0, 50).peek('x@peek-zero.example', NOW)).toBe(false);
    });

    it('throws a named error when the table is missing', async () => {
      const b = new DynamoDbSenderBudget({ client, tableName: 'no-such-state', perAddress: 5, perDomain: 50, windowMs: HOUR });
      await expect(b.peek('x@example.com', NOW)).rejects.toBeInstanceOf(SenderBudgetError);
    });
  });

  describe('defect 11: forgers cannot dodge the budget', () => {
    it('gives 60 senders on 60 subdomains of one registrable domain one shared domain budget', async () => {
      const b = budget(5, 50);
      const results = [];
      for (let i = 0; i < 60; i++) results.push(await b.consume(`user@host${i}.victim-subdomains.co.uk`, NOW));
      expect(results.filter(Boolean)).toHaveLength(50);
      expect(results.slice(50)).toEqual(Array(10).fill(false));
    });

    it('counts a quoted local part as the same address', async () => {
      const b = budget(2, 50);
      expect(await b.consume('victim@quoted.example', NOW)).toBe(true);
      expect(await b.consume('"victim"@quoted.example', NOW)).toBe(true);
      expect(await b.consume('"VICTIM"@Quoted.Example', NOW)).toBe(false);
    });
  });
});
