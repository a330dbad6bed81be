/**
 * Creates the two tables local mode needs, with the same key schema as the
 * CDK stack (lambda/config/tables.ts): rules keyed by `ruleId` with a
 * keys-only stream (the compile step's trigger), state keyed by `pk` with TTL
 * on `expiresAt`. Idempotent, so a persistent `--data-dir` keeps its tables
 * and rules across restarts.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  RULES_PARTITION_KEY,
  STATE_OPEN_ATTRIBUTE,
  STATE_OPEN_INDEX,
  STATE_OPEN_SORT_KEY,
  STATE_PARTITION_KEY,
  STATE_TTL_ATTRIBUTE,
} from '../lambda/config/tables';

/** Table names of local mode. */
export interface LocalTableNames {
  readonly rules: string;
  readonly state: string;
}

export const LOCAL_TABLE_NAMES: LocalTableNames = Object.freeze({ rules: 'ses-bouncer-rules', state: 'ses-bouncer-state' });

async function exists(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/** The stream the stack gives the rules table: keys only, the compile step reads the table itself. */
const RULES_STREAM = { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } as const;

async function createRulesTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: RULES_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: RULES_PARTITION_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: RULES_STREAM,
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: table });
}

/**
 * The ARN of the rules table's stream, turning the stream on first when the
 * table has none (a `--data-dir` from before the compile step).
 */
export async function rulesStreamArn(client: DynamoDBClient, table: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
  if (Table?.StreamSpecification?.StreamEnabled && Table.LatestStreamArn) return Table.LatestStreamArn;
  const { TableDescription } = await client.send(new UpdateTableCommand({ TableName: table, StreamSpecification: RULES_STREAM }));
  if (!TableDescription?.LatestStreamArn) throw new Error(`DynamoDB Local gave table ${table} no stream`);
  return TableDescription.LatestStreamArn;
}

/**
 * Creates the state table as the stack does: `pk`, and the sparse open index
 * (`openState` + `updatedAt`, all attributes projected) that the sweep queries.
 * Does not wait; tests on DynamoDB Local use it at once.
 */
export async function createStateTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: STATE_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: STATE_PARTITION_KEY, AttributeType: 'S' },
        { AttributeName: STATE_OPEN_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: STATE_OPEN_SORT_KEY, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: STATE_OPEN_INDEX,
          KeySchema: [
            { AttributeName: STATE_OPEN_ATTRIBUTE, KeyType: 'HASH' },
            { AttributeName: STATE_OPEN_SORT_KEY, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * Creates whichever of the tables is missing and turns TTL on for the state
 * table. Returns the names it created.
 */
export async function ensureLocalTables(client: DynamoDBClient, names: LocalTableNames = LOCAL_TABLE_NAMES): Promise<string[]> {
  const created: string[] = [];
  if (!(await exists(client, names.rules))) {
    await createRulesTable(client, names.rules);
    created.push(names.rules);
  }
  if (!(await exists(client, names.state))) {
    await createStateTable(client, names.state);
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: names.state });
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: names.state,
        TimeToLiveSpecification: { AttributeName: STATE_TTL_ATTRIBUTE, Enabled: true },
      }),
    );
    created.push(names.state);
  }
  return created;
}
