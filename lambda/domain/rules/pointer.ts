/**
 * The rules pointer: one small item in the state table naming the current
 * compiled snapshot of the rules table and the compile step's verdict on it.
 * Receive functions read it once per cache period (one GetItem, whatever the
 * number of rules) and fetch the snapshot only when `version` changed; the
 * CLI shows its invalid items. Pure types and constants, shared by the
 * compile step, the receive side, the CLI and the stack.
 */

/** Partition key (`pk`) of the pointer item in the state table. */
export const RULES_POINTER_PK = 'rules#pointer';

/**
 * The pointer's key for one rules table, `rules#pointer#<table>`: bouncers
 * that share a state table (`existingStateTable`) each have their own rules
 * table, so each needs its own pointer, or one would load the other's rules.
 */
export function rulesPointerKey(rulesTable: string): string {
  return `${RULES_POINTER_PK}#${rulesTable}`;
}

/** Default key prefix of snapshot objects in the snapshot bucket (config `RULES_SNAPSHOT_PREFIX`). */
export const DEFAULT_RULES_SNAPSHOT_PREFIX = 'rules/';

/** Object key of a snapshot version: `<prefix><version>.json.gz`. */
export function snapshotObjectKey(prefix: string, version: string): string {
  return `${prefix}${version}.json.gz`;
}

/** One invalid item as the pointer lists it (the snapshot keeps all of them; the pointer a capped few). */
export interface PointerInvalidItem {
  /** Absent when the item has no usable ruleId; `index` then identifies it. */
  readonly ruleId?: string;
  /** Position of the item in the compile step's Scan. */
  readonly index: number;
  /** `field: reason`, one per problem. */
  readonly problems: string[];
  /** The recipients whose bounces the item holds while it is invalid, in words. */
  readonly holdsBouncesFor: string;
}

/** The pointer item's content (besides its key). */
export interface RulesPointer {
  /** Unique per compile, sortable by compile start. */
  readonly version: string;
  /** Key of the snapshot object in the snapshot bucket. */
  readonly objectKey: string;
  /** ISO 8601; a compile never replaces a pointer whose scan started later. */
  readonly scanStartedAt: string;
  /** ISO 8601. */
  readonly compiledAt: string;
  /** Valid, enabled rules in the snapshot. */
  readonly rules: number;
  /** Valid rules with `enabled: false` (not in the snapshot's index). */
  readonly disabled: number;
  /** How many items were invalid in all. */
  readonly invalidCount: number;
  /** The invalid items, capped to keep the item small; `invalidCount` says how many in all. */
  readonly invalid: readonly PointerInvalidItem[];
  /** Compressed object size in bytes. */
  readonly bytes: number;
  /**
   * Set when a compile that started after this pointer's scan failed: the
   * table may hold edits the snapshot lacks (an allow rule added, a bounce
   * rule removed), so receive functions load with the Scan path until a
   * compile succeeds (its publish replaces the whole item). ISO 8601, the
   * failed compile's scan start.
   */
  readonly staleSince?: string;
  /** Why the compile that marked the pointer stale failed. */
  readonly staleReason?: string;
}
