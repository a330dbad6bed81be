import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRulesPointer, RulesPointerError } from '../../../../lambda/adapters/dynamodb/rules-pointer';
import { STATE_PARTITION_KEY } from '../../../../lambda/config/tables';
import { RULES_POINTER_PK, type RulesPointer } from '../../../../lambda/domain/rules/pointer';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

/** A pointer whose scan started `offsetMs` after a base instant taken from the clock. */
const BASE = Date.now();
function pointer(offsetMs: number, version = `v${offsetMs}`): RulesPointer {
  const at = new Date(BASE + offsetMs).toISOString();
  return {
    version,
    objectKey: `rules/${version}.json.gz`,
    scanStartedAt: at,
    compiledAt: at,
    rules: 3,
    disabled: 1,
    invalidCount: 1,
    invalid: [{ ruleId: 'bad', index: 2, problems: ['action: must be "bounce" or "allow"'], holdsBouncesFor: 'alice@example.com' }],
    bytes: 120,
  };
}

describe('rules-pointer (DynamoDB)', () => {
  let client: DynamoDBClient;
  let table: string;
  let store: DynamoDbRulesPointer;

  beforeAll(() => {
    client = localDynamoDbClient();
  });
  afterAll(() => client.destroy());

  beforeEach(async () => {
    table = uniqueTableName('state');
    await createTable(client, table, STATE_PARTITION_KEY);
    store = new DynamoDbRulesPointer({ client, tableName: table });
  });
  afterEach(async () => {
    await deleteTable(client, table);
  });

  describe('read', () => {
    it('gives undefined before any compile published', async () => {
      await expect(store.read()).resolves.toBeUndefined();
    });

    it('gives back what publish wrote, the capped invalid items included', async () => {
      await expect(store.publish(pointer(0))).resolves.toBe(true);
      await expect(store.read()).resolves.toEqual(pointer(0));
    });

    it('refuses an item that is not a pointer with RulesPointerError', async () => {
      await client.send(new PutItemCommand({ TableName: table, Item: { [STATE_PARTITION_KEY]: { S: RULES_POINTER_PK }, version: { S: 'v1' } } }));
      await expect(store.read()).rejects.toThrow(RulesPointerError);
      await expect(store.read()).rejects.toThrow(/malformed: objectKey is missing/);
    });

    it('turns an SDK failure (no such table) into RulesPointerError, cause kept', async () => {
      const missing = new DynamoDbRulesPointer({ client, tableName: 'no-such-state-table' });
      const error = await missing.read().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RulesPointerError);
      expect((error as Error).message).toMatch(/ResourceNotFoundException/);
      expect((error as Error).cause).toBeDefined();
    });
  });

  describe('publish', () => {
    it('replaces a pointer whose scan started earlier', async () => {
      await store.publish(pointer(0));
      await expect(store.publish(pointer(1_000))).resolves.toBe(true);
      expect((await store.read())?.version).toBe('v1000');
    });

    it('never replaces a pointer whose scan started later, whatever order the compiles finish in', async () => {
      await store.publish(pointer(5_000));
      await expect(store.publish(pointer(1_000))).resolves.toBe(false);
      expect((await store.read())?.version).toBe('v5000');
    });

    it('orders two compiles that started in the same millisecond by version', async () => {
      await store.publish(pointer(0, 'b'));
      await expect(store.publish(pointer(0, 'a'))).resolves.toBe(false);
      await expect(store.publish(pointer(0, 'c'))).resolves.toBe(true);
      expect((await store.read())?.version).toBe('c');
    });

    it('lets exactly the latest of concurrent compiles win', async () => {
      const offsets = [300, 100, 500, 200, 400];
      const results = await Promise.all(offsets.map((o) => store.publish(pointer(o))));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect((await store.read())?.version).toBe('v500');
    });

    it('turns an SDK failure into RulesPointerError', async () => {
      const missing = new DynamoDbRulesPointer({ client, tableName: 'no-such-state-table' });
      await expect(missing.publish(pointer(0))).rejects.toThrow(RulesPointerError);
    });
  });

  describe('markStale', () => {
    const at = (offsetMs: number) => new Date(BASE + offsetMs).toISOString();

    it('marks a pointer from an earlier scan once, keeping the first failure', async () => {
      await store.publish(pointer(0));
      await expect(store.markStale(at(1_000), 'NoSuchBucket: gone')).resolves.toBe(true);
      await expect(store.markStale(at(2_000), 'later failure')).resolves.toBe(false);
      expect(await store.read()).toMatchObject({ version: 'v0', staleSince: at(1_000), staleReason: 'NoSuchBucket: gone' });
    });

    it('leaves a pointer from a later scan alone, and marks nothing when there is no pointer', async () => {
      await expect(store.markStale(at(1_000), 'x')).resolves.toBe(false);
      await expect(store.read()).resolves.toBeUndefined();
      await store.publish(pointer(5_000));
      await expect(store.markStale(at(1_000), 'x')).resolves.toBe(false);
      expect((await store.read())?.staleSince).toBeUndefined();
    });

    it('is cleared by the next publish', async () => {
      await store.publish(pointer(0));
      await store.markStale(at(1_000), 'x');
      await store.publish(pointer(2_000));
      expect(await store.read()).toEqual(pointer(2_000));
    });
  });
});
