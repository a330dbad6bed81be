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
  STATE_RULE_ATTRIBUTE,
  STATE_RULE_INDEX,
  STATE_RULE_PROJECTION,
  STATE_RULE_SORT_KEY,
  STATE_TTL_ATTRIBUTE,
} from '../lambda/config/tables';

/** Table names of local mode. */
export interface LocalTableNames {
  readonly rules: string;
  readonly state: string;
}

export const LOCAL_TABLE_NAMES: LocalTableNames = Object.freeze({ rules: 'ses-bouncer-rules', state: 'ses-bouncer-state' });

/** The table's index names, or undefined when it does not exist. */
async function describeIndexes(client: DynamoDBClient, table: string): Promise<string[] | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    return (out.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** The stream the stack gives the rules table: keys only, the compile step reads the table itself. */
const RULES_STREAM = { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } as const;

/** The rule index as {@link createStateTable} and the stack define it. */
const RULE_INDEX = {
  IndexName: STATE_RULE_INDEX,
  KeySchema: [
    { AttributeName: STATE_RULE_ATTRIBUTE, KeyType: 'HASH' as const },
    { AttributeName: STATE_RULE_SORT_KEY, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...STATE_RULE_PROJECTION] },
};

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
 * Creates the state table as the stack does: `pk`, the sparse open index
 * (`openState` + `updatedAt`, all attributes projected) that the sweep queries
 * and the rule index (`ruleKey` + `createdAt`) that `rules report` queries.
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
        { AttributeName: STATE_RULE_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: STATE_RULE_SORT_KEY, AttributeType: 'S' },
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
        RULE_INDEX,
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * Creates whichever of the tables is missing and turns TTL on for the state
 * table. A state table kept in a `--data-dir` from before the rule index
 * (issue 15) gets the index added. Returns the names it created.
 */
export async function ensureLocalTables(client: DynamoDBClient, names: LocalTableNames = LOCAL_TABLE_NAMES): Promise<string[]> {
  const created: string[] = [];
  if ((await describeIndexes(client, names.rules)) === undefined) {
    await createRulesTable(client, names.rules);
    created.push(names.rules);
  }
  const stateIndexes = await describeIndexes(client, names.state);
  if (stateIndexes !== undefined && !stateIndexes.includes(STATE_RULE_INDEX)) {
    await client.send(
      new UpdateTableCommand({
        TableName: names.state,
        AttributeDefinitions: [
          { AttributeName: STATE_RULE_ATTRIBUTE, AttributeType: 'S' },
          { AttributeName: STATE_RULE_SORT_KEY, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexUpdates: [{ Create: RULE_INDEX }],
      }),
    );
  }
  if (stateIndexes === undefined) {
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
