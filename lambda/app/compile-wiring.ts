import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbRulesPointer } from '../adapters/dynamodb/rules-pointer';
import { scanRulesTable } from '../adapters/dynamodb/rule-source';
import { S3RuleSnapshotStore } from '../adapters/s3/rule-snapshot-store';
import type { Clients } from '../commons/clients';
import { ConfigError, ValidationError } from '../commons/errors';
import { logger as defaultLogger } from '../commons/logger';
import { metrics as defaultMetrics } from '../commons/metrics';
import type { Config } from '../config/config';
import { compileSnapshot, type CompileDeps, type CompileResult } from './compile-snapshot';
import { beginInvocation, type InvocationOptions } from './invocation';
import type { LogSink, MetricsSink } from './send-bounce';

/**
 * Builds the compile step's dependencies: the rules table's Scan (strongly
 * consistent: a compile started by a stream record must see the write that
 * produced it, or the edit would wait for the next change), the snapshot
 * bucket, the pointer in the state table. Needs `RULES_SNAPSHOT_BUCKET`.
 */
export function buildCompileDeps(
  config: Config,
  clients: Pick<Clients, 'dynamodb' | 's3'>,
  overrides: { clock?: { now(): number }; logger?: LogSink; metrics?: MetricsSink; nonce?: () => string } = {},
): CompileDeps {
  if (!config.rulesSnapshotBucket) throw new ConfigError('RULES_SNAPSHOT_BUCKET is required by the compile function');
  return {
    scan: () => scanRulesTable(clients.dynamodb, config.rulesTable, { consistentRead: true }),
    store: new S3RuleSnapshotStore({ client: clients.s3, bucket: config.rulesSnapshotBucket, prefix: config.rulesSnapshotPrefix }),
    pointer: new DynamoDbRulesPointer({ client: clients.dynamodb, tableName: config.stateTable, rulesTable: config.rulesTable }),
    clock: overrides.clock ?? { now: () => Date.now() },
    logger: overrides.logger ?? defaultLogger,
    metrics: overrides.metrics ?? defaultMetrics,
    tableName: config.rulesTable,
    ...(overrides.nonce ? { nonce: overrides.nonce } : {}),
  };
}

/** What the compile handler returns (visible in the Lambda console and to local mode). */
export type CompileHandlerResult = Pick<CompileResult, 'version' | 'rules' | 'invalid' | 'published'>;

/**
 * Checks the parts of a DynamoDB Streams event the compile step relies on:
 * it is an object with a `Records` list. The records' content is not used
 * (the compile re-reads the whole table), so any number of records, from any
 * mix of inserts, edits and deletes, is one compile.
 */
function recordCount(event: unknown): number {
  if (typeof event !== 'object' || event === null || !Array.isArray((event as { Records?: unknown }).Records)) {
    throw new ValidationError('not a DynamoDB Streams event: expected an object with a Records list', 'Records');
  }
  return (event as DynamoDBStreamEvent).Records.length;
}

/**
 * The function the rules table's stream invokes: one compile per batch,
 * however many records it holds (the event source mapping's batching window
 * turns an import of 100,000 rules into a handful of compiles). Throws when
 * the compile fails: the event source mapping retries the batch, then sends
 * its description to the DLQ; receive functions keep the previous snapshot.
 */
export function createCompileHandler(deps: CompileDeps, options: InvocationOptions & { flush?: () => void } = {}) {
  return async (event: unknown, context?: Context): Promise<CompileHandlerResult> => {
    try {
      const records = recordCount(event);
      const invocation = await beginInvocation(options, context, 'compile');
      return await invocation.run(async () => {
        try {
          const result = await compileSnapshot(deps);
          const { version, ...counts } = result;
          // The snapshot's version under its own key: `version` is the package version on every log line.
          deps.logger.info('rules compiled', { records, snapshotVersion: version, ...counts });
          return { version: result.version, rules: result.rules, invalid: result.invalid, published: result.published };
        } catch (error) {
          deps.logger.error('rules compile failed', { records, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
          throw error;
        }
      });
    } finally {
      options.flush?.();
    }
  };
}
