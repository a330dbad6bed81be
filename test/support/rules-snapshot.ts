/**
 * A rules table, a state table and a snapshot bucket on the local services,
 * with the compile step and the receive side's rule source wired as the
 * functions wire them (buildCompileDeps, buildRuleSource), and request
 * counters at the SDK edge of each side's clients.
 */
import { BatchWriteItemCommand, DeleteItemCommand, type BatchWriteItemCommandOutput, PutItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { buildCompileDeps } from '../../lambda/app/compile-wiring';
import type { CompileDeps } from '../../lambda/app/compile-snapshot';
import { loadConfig, type Config } from '../../lambda/config/config';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY } from '../../lambda/config/tables';
import { countDynamoDbRequests, countS3Bytes, type DynamoDbRequestCounter, type S3ByteCounter } from '../../bench/lib/sdk-edge';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from './dynamodb';
import { startLocalS3, type LocalS3 } from './s3';

/** Log lines and metrics a test can look at. */
export interface Recorded {
  readonly lines: { level: string; message: string; extra?: Record<string, unknown> }[];
  readonly metrics: { name: string; value: number }[];
  readonly logger: { info(m: string, e?: Record<string, unknown>): void; warn(m: string, e?: Record<string, unknown>): void; error(m: string, e?: Record<string, unknown>): void };
  /** Fits the rule sources' and the receive use case's metrics ports. */
  readonly sink: {
    addMetric(name: string, unit: string, value: number): void;
    singleMetric(): { addDimension(name: string, value: string): void; addMetric(name: string, unit: string, value: number): void };
  };
  count(name: string): number;
}

export function recorder(): Recorded {
  const lines: Recorded['lines'] = [];
  const metrics: Recorded['metrics'] = [];
  return {
    lines,
    metrics,
    logger: {
      info: (message, extra) => lines.push({ level: 'info', message, extra }),
      warn: (message, extra) => lines.push({ level: 'warn', message, extra }),
      error: (message, extra) => lines.push({ level: 'error', message, extra }),
    },
    sink: {
      addMetric: (name, _unit, value) => metrics.push({ name, value }),
      singleMetric: () => ({ addDimension() {}, addMetric: (name, _unit, value) => metrics.push({ name, value }) }),
    },
    count: (name) => metrics.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0),
  };
}

/** The tables and bucket of one test, and the config the functions would get. */
export interface SnapshotRig {
  readonly config: Config;
  readonly bucket: string;
  /** Admin client: seeds and edits the rules table, uncounted. */
  readonly admin: DynamoDBClient;
  put(item: Record<string, unknown>): Promise<void>;
  remove(ruleId: string): Promise<void>;
  putMany(items: readonly Record<string, unknown>[]): Promise<void>;
  /** The compile step as the function builds it, on its own counted clients. */
  compileDeps(overrides?: Parameters<typeof buildCompileDeps>[2]): CompileDeps;
  /** Fresh counted clients for a receive function. */
  receiveClients(): { dynamodb: DynamoDBClient; s3: S3Client; reads: DynamoDbRequestCounter; s3Requests: S3ByteCounter };
  dispose(): Promise<void>;
}

let bucketCount = 0;

export async function snapshotRig(s3: LocalS3, env: Record<string, string> = {}): Promise<SnapshotRig> {
  const admin = localDynamoDbClient();
  const rulesTable = uniqueTableName('rules');
  const stateTable = uniqueTableName('state');
  await createTable(admin, rulesTable, RULES_PARTITION_KEY);
  await createTable(admin, stateTable, STATE_PARTITION_KEY);
  const bucket = await s3.createBucket(`snapshots-${process.pid}-${++bucketCount}`);
  const config = loadConfig({
    BOUNCE_SENDER: 'mailer-daemon@example.com',
    REPORTING_MTA: 'mx.example.com',
    RULES_TABLE: rulesTable,
    STATE_TABLE: stateTable,
    BOUNCE_QUEUE_URL: 'http://127.0.0.1:1/queue',
    MAIL_BUCKET: 'mail-bucket',
    RULES_SNAPSHOT_BUCKET: bucket,
    ...env,
  });
  const clients: { destroy(): void }[] = [admin];
  const counted = () => {
    const dynamodb = localDynamoDbClient();
    const client = s3.client();
    clients.push(dynamodb);
    return { dynamodb, s3: client, reads: countDynamoDbRequests(dynamodb), s3Requests: countS3Bytes(client) };
  };
  return {
    config,
    bucket,
    admin,
    async put(item) {
      await admin.send(new PutItemCommand({ TableName: rulesTable, Item: marshall(item, { removeUndefinedValues: true }) }));
    },
    async remove(ruleId) {
      await admin.send(new DeleteItemCommand({ TableName: rulesTable, Key: { [RULES_PARTITION_KEY]: { S: ruleId } } }));
    },
    async putMany(items) {
      const chunks: WriteRequest[][] = [];
      for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } })));
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) {
          let pending: WriteRequest[] | undefined = chunks[next++];
          while (pending && pending.length > 0) {
            const out: BatchWriteItemCommandOutput = await admin.send(new BatchWriteItemCommand({ RequestItems: { [rulesTable]: pending } }));
            pending = out.UnprocessedItems?.[rulesTable];
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    },
    compileDeps(overrides = {}) {
      const c = counted();
      return buildCompileDeps(config, c, overrides);
    },
    receiveClients: counted,
    async dispose() {
      await deleteTable(admin, rulesTable).catch(() => undefined);
      await deleteTable(admin, stateTable).catch(() => undefined);
      for (const c of clients) c.destroy();
    },
  };
}

/** What {@link useSnapshotRig} gives a test: read it inside tests and hooks, not at describe time. */
export interface SnapshotRigScope {
  /** One s3rver for the whole file. */
  readonly s3: LocalS3;
  /** Fresh tables and bucket for each test. */
  readonly rig: SnapshotRig;
}

/**
 * Registers the lifecycle of the calling describe block: s3rver started once
 * and stopped after the last test, a fresh {@link snapshotRig} before each test
 * (before the block's own beforeEach hooks, registered later) and disposed after it.
 */
export function useSnapshotRig(): SnapshotRigScope {
  let s3: LocalS3 | undefined;
  let rig: SnapshotRig | undefined;
  beforeAll(async () => {
    s3 = await startLocalS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  beforeEach(async () => {
    rig = await snapshotRig(scope.s3);
  });
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });
  const scope: SnapshotRigScope = {
    get s3() {
      if (!s3) throw new Error('useSnapshotRig: s3 is read before beforeAll ran');
      return s3;
    },
    get rig() {
      if (!rig) throw new Error('useSnapshotRig: the rig is read outside a test');
      return rig;
    },
  };
  return scope;
}
