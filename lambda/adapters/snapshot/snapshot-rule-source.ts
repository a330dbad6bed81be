/**
 * RuleSource over the compile step's snapshot (issue 13). Once per cache
 * period it reads the pointer (one GetItem of one small item, whatever the
 * number of rules) and fetches and decodes the snapshot only when the
 * pointer names a version it has not loaded. With rules unchanged a warm
 * function reads one item a minute instead of the whole table.
 *
 * Fail safe: no pointer yet, a pointer it cannot read or one a failed
 * compile marked stale, a snapshot it cannot fetch or decode: it loads the rules the Scan way, as a function without a
 * snapshot bucket does, and counts (`RulesSnapshotFallback`) and logs why.
 * Decisions never stop, and never widen: the snapshot carries the invalid
 * items, which hold bounces exactly as on the Scan path. Caching,
 * refresh-ahead and stale-serving are those of the Scan source.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricName, MetricUnit } from '../../commons/metrics';
import type { CompiledRules } from '../../domain/rules';
import type { RulesPointer } from '../../domain/rules/pointer';
import { decodeSnapshot } from '../../domain/rules/snapshot';
import { RefreshingRuleSource, loadRulesByScan, type RuleCacheOptions } from '../dynamodb/rule-source';

/** Reads the pointer; the DynamoDB adapter fits. */
export interface PointerReader {
  /** Undefined when none was published; throws when it cannot be read. */
  read(): Promise<RulesPointer | undefined>;
}

/** Reads snapshot objects; the S3 adapter fits. */
export interface SnapshotReader {
  get(key: string): Promise<Uint8Array>;
}

export interface SnapshotRuleSourceOptions extends RuleCacheOptions {
  readonly pointer: PointerReader;
  readonly snapshots: SnapshotReader;
  /** The Scan path, used when the snapshot cannot be: client and rules table. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** Why a load used the Scan path; in the log line of every fallback. */
export type FallbackReason = 'no-pointer' | 'pointer-unreadable' | 'pointer-stale' | 'snapshot-unreadable' | 'snapshot-undecodable';

export class SnapshotRuleSource extends RefreshingRuleSource {
  /** The last snapshot decoded: reused while the pointer names its version. */
  private snapshot?: { readonly version: string; readonly rules: CompiledRules };

  /** Version of the snapshot last loaded, undefined when the last load used the Scan path. For tests and logs. */
  servedVersion?: string;

  constructor(private readonly options: SnapshotRuleSourceOptions) {
    super(options);
  }

  protected async load(): Promise<CompiledRules> {
    let pointer: RulesPointer | undefined;
    try {
      pointer = await this.options.pointer.read();
    } catch (error) {
      return this.fallback('pointer-unreadable', error);
    }
    if (!pointer) return this.fallback('no-pointer');
    // A compile failed after this snapshot was made: the table may hold edits it lacks.
    if (pointer.staleSince !== undefined) return this.fallback('pointer-stale', pointer.staleReason, pointer);
    if (this.snapshot?.version === pointer.version) {
      this.servedVersion = pointer.version;
      return this.snapshot.rules;
    }
    const startedAt = this.now();
    let bytes: Uint8Array;
    try {
      bytes = await this.options.snapshots.get(pointer.objectKey);
    } catch (error) {
      return this.fallback('snapshot-unreadable', error, pointer);
    }
    let decoded;
    try {
      decoded = decodeSnapshot(bytes);
    } catch (error) {
      return this.fallback('snapshot-undecodable', error, pointer);
    }
    this.snapshot = { version: pointer.version, rules: decoded.rules };
    this.servedVersion = pointer.version;
    this.log.info('rules loaded', {
      source: 'snapshot',
      // Not `version`: every log line already carries the package version under that key.
      snapshotVersion: pointer.version,
      compiledAt: pointer.compiledAt,
      rules: decoded.rules.size,
      invalid: decoded.invalid.length,
      disabled: decoded.disabled,
      bytes: bytes.length,
      loadMs: this.now() - startedAt,
    });
    return decoded.rules;
  }

  /** Loads the Scan way, counted and logged; a Scan failure propagates (stale rules are then served). */
  private async fallback(reason: FallbackReason, error?: unknown, pointer?: RulesPointer): Promise<CompiledRules> {
    this.metrics.addMetric(MetricName.RulesSnapshotFallback, MetricUnit.Count, 1);
    this.log.warn('rules snapshot not used; loading rules with a Scan', {
      reason,
      table: this.options.tableName,
      ...(pointer ? { snapshotVersion: pointer.version, objectKey: pointer.objectKey } : {}),
      ...(error !== undefined ? { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } : {}),
    });
    const rules = await loadRulesByScan(this.options.client, this.options.tableName, this.log, this.metrics);
    this.servedVersion = undefined;
    return rules;
  }

  protected origin() {
    return {
      described: `the rules snapshot or table ${JSON.stringify(this.options.tableName)}`,
      table: this.options.tableName,
    };
  }
}
