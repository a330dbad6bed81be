/**
 * The compile step: reads the whole rules table, validates and compiles it
 * exactly as the receive side's Scan path does, publishes the result as a
 * gzipped snapshot object and points the state table's pointer item at it.
 * Receive functions then read one small item per cache period instead of the
 * whole table.
 */
import { randomBytes } from 'node:crypto';
import type { ScannedRules } from '../adapters/dynamodb/rule-source';
import { MetricName, MetricUnit } from '../commons/metrics';
import { compileRules, describeHold, type InvalidRule } from '../domain/rules';
import type { PointerInvalidItem, RulesPointer } from '../domain/rules/pointer';
import { encodeSnapshot } from '../domain/rules/snapshot';
import type { LogSink, MetricsSink } from './send-bounce';

/** Where the compile step writes snapshot objects. */
export interface SnapshotWriter {
  /** Writes a version's object; returns its key. */
  put(version: string, bytes: Uint8Array): Promise<string>;
  /** Removes an object no pointer will name. */
  delete(key: string): Promise<void>;
}

/** The pointer as the compile step needs it. */
export interface PointerPublisher {
  /** Conditional write: false when a pointer from a later scan is there. */
  publish(pointer: RulesPointer): Promise<boolean>;
  /** Marks a pointer from an earlier scan stale after a failed compile; false when there is none to mark. */
  markStale(scanStartedAt: string, reason: string): Promise<boolean>;
}

export interface CompileDeps {
  /** Reads every item of the rules table (strongly consistent: see compile-wiring). */
  readonly scan: () => Promise<ScannedRules>;
  readonly store: SnapshotWriter;
  readonly pointer: PointerPublisher;
  readonly clock: { now(): number };
  readonly logger: LogSink;
  readonly metrics: MetricsSink;
  /** Name of the rules table, for logs. */
  readonly tableName: string;
  /** Random part of a version (tests pin it). @default 8 random hex digits */
  readonly nonce?: () => string;
}

/** What one compile did. */
export interface CompileResult {
  readonly version: string;
  /** Valid, enabled rules in the snapshot. */
  readonly rules: number;
  /** Invalid items (each holds bounces for whom it could cover). */
  readonly invalid: number;
  readonly disabled: number;
  /** Compressed snapshot size. */
  readonly bytes: number;
  /** False when a compile whose scan started later had already published: this one's object was removed. */
  readonly published: boolean;
}

/** At most this many bytes of invalid items (as JSON) go in the pointer; the snapshot keeps them all. */
export const POINTER_INVALID_BUDGET_BYTES = 3_000;
/** At most this many problems per item in the pointer, each at most this long. */
const MAX_PROBLEMS = 5;
const MAX_PROBLEM_LENGTH = 300;

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** The invalid items for the pointer, in Scan order, while they fit its byte budget (the first always does). */
export function pointerInvalidItems(invalid: readonly InvalidRule[], budgetBytes = POINTER_INVALID_BUDGET_BYTES): PointerInvalidItem[] {
  const out: PointerInvalidItem[] = [];
  let used = 0;
  for (const bad of [...invalid].sort((a, b) => a.index - b.index)) {
    const problems = bad.errors.slice(0, MAX_PROBLEMS).map((e) => clip(`${e.field}: ${e.reason}`, MAX_PROBLEM_LENGTH));
    if (bad.errors.length > MAX_PROBLEMS) problems.push(`… and ${bad.errors.length - MAX_PROBLEMS} more`);
    const item: PointerInvalidItem = {
      ...(bad.ruleId !== undefined ? { ruleId: clip(bad.ruleId, MAX_PROBLEM_LENGTH) } : {}),
      index: bad.index,
      problems,
      holdsBouncesFor: clip(describeHold(bad), MAX_PROBLEM_LENGTH),
    };
    const size = JSON.stringify(item).length;
    if (out.length > 0 && used + size > budgetBytes) break;
    out.push(item);
    used += size;
  }
  return out;
}

/** A version: sortable by scan start (compact UTC time), unique by a random suffix. */
export function snapshotVersion(scanStartedAt: number, nonce: string): string {
  return `${new Date(scanStartedAt).toISOString().replace(/[-:.]/g, '')}-${nonce}`;
}

/**
 * One compile: scan, validate, encode, put the object, publish the pointer.
 * Logs every invalid item with its reasons and counts them (`InvalidRules`,
 * the compile step's count the alarm reads). Throws when any step fails, so
 * the stream's event source mapping retries the batch; before it does, it
 * marks an older pointer stale, and receive functions load with the Scan
 * path until a compile succeeds: a broken compile never keeps an edit from
 * taking effect.
 */
export async function compileSnapshot(deps: CompileDeps): Promise<CompileResult> {
  const scanStartedAt = deps.clock.now();
  try {
    return await compileFrom(scanStartedAt, deps);
  } catch (error) {
    // The change that started this compile may be missing from the published snapshot (an allow rule
    // added, a bounce rule removed): until a compile succeeds, receive functions use the Scan path.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const marked = await deps.pointer.markStale(new Date(scanStartedAt).toISOString(), reason).catch((markError: unknown) => {
      deps.logger.error('rules pointer not marked stale after a failed compile', { error: markError instanceof Error ? markError.message : String(markError) });
      return false;
    });
    if (marked) deps.logger.warn('rules pointer marked stale: receive functions use the Scan path until a compile succeeds', { error: reason });
    throw error;
  }
}

async function compileFrom(scanStartedAt: number, deps: CompileDeps): Promise<CompileResult> {
  const version = snapshotVersion(scanStartedAt, (deps.nonce ?? (() => randomBytes(4).toString('hex')))());
  const { plain, unreadable } = await deps.scan();
  const compilation = compileRules(plain, unreadable);
  const bytes = encodeSnapshot({ rules: compilation.valid, invalid: compilation.invalid, disabled: compilation.disabled });
  const objectKey = await deps.store.put(version, bytes);
  const pointer: RulesPointer = {
    version,
    objectKey,
    scanStartedAt: new Date(scanStartedAt).toISOString(),
    compiledAt: new Date(deps.clock.now()).toISOString(),
    rules: compilation.valid.length,
    disabled: compilation.disabled,
    invalidCount: compilation.invalid.length,
    invalid: pointerInvalidItems(compilation.invalid),
    bytes: bytes.length,
  };
  const published = await deps.pointer.publish(pointer);

  for (const bad of compilation.invalid) {
    deps.logger.warn('invalid rule skipped', {
      ruleId: bad.ruleId ?? `(item ${bad.index} without ruleId)`,
      problems: bad.errors.map((e) => `${e.field}: ${e.reason}`),
      // Why InvalidRules pages: until the item is fixed, these recipients get no bounce.
      holdsBouncesFor: describeHold(bad),
    });
  }
  for (const w of compilation.warnings) deps.logger.warn('rule attribute ignored', { ruleId: w.ruleId, field: w.field, reason: w.reason });
  // Only the compile whose snapshot is in use reports the count the alarm reads: a superseded one may
  // have seen an older table, and the alarm (maximum per period) would page for items already fixed.
  if (published) deps.metrics.addMetric(MetricName.InvalidRules, MetricUnit.Count, compilation.invalid.length);

  if (!published) {
    // A compile that started later already published: nobody will read this object.
    await deps.store.delete(objectKey).catch((error: unknown) => {
      deps.logger.warn('superseded rules snapshot not removed', { objectKey, error: error instanceof Error ? error.message : String(error) });
    });
  }
  deps.logger.info(published ? 'rules snapshot published' : 'rules snapshot superseded by a later compile', {
    table: deps.tableName,
    // Not `version`: every log line already carries the package version under that key.
    snapshotVersion: version,
    objectKey,
    rules: pointer.rules,
    invalid: pointer.invalidCount,
    disabled: pointer.disabled,
    bytes: pointer.bytes,
    compileMs: deps.clock.now() - scanStartedAt,
  });
  return { version, rules: pointer.rules, invalid: pointer.invalidCount, disabled: pointer.disabled, bytes: pointer.bytes, published };
}
