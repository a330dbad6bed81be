/**
 * The local stand-ins a benchmark needs, started once per figure and always
 * stopped: DynamoDB Local (tables shaped like the stack's), s3rver, the SES
 * stand-in, and the SDK clients pointed at them.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb/dynamodb-local';
import { S3RVER_CREDENTIALS, startLocalS3Server, type LocalS3Server } from '../../local/s3/local-s3';
import { startSesStandIn, type SesStandIn } from '../../local/ses-stand-in';
import { ensureLocalTables, type LocalTableNames } from '../../local/tables';

/** A DynamoDB Local for one benchmark, with a client factory and fresh tables. */
export interface BenchDynamoDb {
  readonly endpoint: string;
  /** A new client (each benchmark part gets its own, so its counters see only its requests). */
  client(): DynamoDBClient;
  /** Creates a rules table and a state table (TTL on) with names no other part uses. */
  createTables(prefix: string): Promise<LocalTableNames>;
  stop(): Promise<void>;
}

export async function startBenchDynamoDb(): Promise<BenchDynamoDb> {
  const db: DynamoDbLocal = await startDynamoDbLocal();
  const clients: DynamoDBClient[] = [];
  const client = () => {
    const c = new DynamoDBClient({ endpoint: db.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    clients.push(c);
    return c;
  };
  return {
    endpoint: db.endpoint,
    client,
    async createTables(prefix) {
      const id = randomUUID().slice(0, 8);
      const names = { rules: `${prefix}-rules-${id}`, state: `${prefix}-state-${id}` };
      await ensureLocalTables(client(), names);
      return names;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await db.stop();
    },
  };
}

/**
 * DynamoDB Local with fresh tables named after `prefix`, and the SES
 * stand-in, for a figure that drives the send path; both are stopped when
 * `run` settles, whatever it does.
 */
export async function withDynamoDbAndSes<T>(
  prefix: string,
  run: (services: { db: BenchDynamoDb; ses: SesStandIn; tables: LocalTableNames }) => Promise<T>,
): Promise<T> {
  const db = await startBenchDynamoDb();
  const ses = await startSesStandIn();
  try {
    return await run({ db, ses, tables: await db.createTables(prefix) });
  } finally {
    await ses.close();
    await db.stop();
  }
}

/** s3rver with one bucket, and path-style clients it accepts. */
export interface BenchS3 {
  readonly endpoint: string;
  readonly bucket: string;
  client(): S3Client;
  stop(): Promise<void>;
}

export async function startBenchS3(bucket = 'bench-mail'): Promise<BenchS3> {
  const server: LocalS3Server = await startLocalS3Server({ bucket });
  const clients: S3Client[] = [];
  return {
    endpoint: server.endpoint,
    bucket,
    client() {
      const c = new S3Client({ endpoint: server.endpoint, region: LOCAL_REGION, credentials: { ...S3RVER_CREDENTIALS }, forcePathStyle: true });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.stop();
    },
  };
}

/** Environment every in-process and child benchmark uses: local credentials, no SDK version notice. */
export function benchEnvironment(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: LOCAL_REGION,
    // The bench runs on Node 20 (Lambda runs 22); the SDK's upgrade notice is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
