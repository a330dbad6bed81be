import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  type AttributeDefinition,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb/dynamodb-local';

/** Endpoint of the DynamoDB Local that jest's global setup started. */
export function dynamoDbEndpoint(): string {
  const endpoint = process.env.SES_BOUNCER_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('SES_BOUNCER_TEST_DYNAMODB_ENDPOINT is not set: run the tests through jest (global setup starts DynamoDB Local)');
  return endpoint;
}

/** A real SDK client pointed at the test run's DynamoDB Local. */
export function localDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: dynamoDbEndpoint(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/** A table name no other test uses, so test files can run in parallel. */
export function uniqueTableName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates an on-demand table with a string partition key (and optional sort key). */
export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  partitionKey: string,
  sortKey?: string,
): Promise<void> {
  const keys: KeySchemaElement[] = [{ AttributeName: partitionKey, KeyType: 'HASH' }];
  const attrs: AttributeDefinition[] = [{ AttributeName: partitionKey, AttributeType: 'S' }];
  if (sortKey) {
    keys.push({ AttributeName: sortKey, KeyType: 'RANGE' });
    attrs.push({ AttributeName: sortKey, AttributeType: 'S' });
  }
  await client.send(
    new CreateTableCommand({ TableName: tableName, KeySchema: keys, AttributeDefinitions: attrs, BillingMode: 'PAY_PER_REQUEST' }),
  );
}

export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}
