/**
 * RuleSource over the rules table: a paginated Scan, validated and compiled,
 * cached in memory for `cacheMs`. Operators edit items by hand; an edit takes
 * effect at the next refresh, without a redeploy.
 *
 * Rules are never served past `cacheMs` (unless reloads fail, see
 * `maxStaleMs`), so an edit applies within `cacheMs`. To keep a busy function
 * from holding up a message for the reload (100,000 rules take seconds), the
 * source refreshes ahead: a call in the last `refreshAheadMs` before expiry
 * gets the current rules at once and starts one background refresh. Only a
 * function idle past the expiry makes a message wait for the load.
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { SesBouncerError } from '../../commons/errors';
import { logger as defaultLogger } from '../../commons/logger';
import { MetricName, MetricUnit, metrics as defaultMetrics } from '../../commons/metrics';
import { compileRules, describeHold, type CompiledRules, type InvalidRule, type RuleCompilation } from '../../domain/rules';
import type { RuleSource } from '../../ports';

/** No rules can be served: the first load failed, or the last good one is older than `maxStaleMs`. */
export class RulesUnavailableError extends SesBouncerError {}

/** What the source logs; the project logger fits. */
export interface RuleSourceLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What the source counts; the project metrics instance fits. */
export interface RuleSourceMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void;
}

/** How a refreshing source caches, refreshes and serves stale rules. */
export interface RuleCacheOptions {
  /** How long a load is served before the next one (config `rulesCacheMs`). */
  readonly cacheMs: number;
  /**
   * How long past `cacheMs` a stale index may still be served while loads
   * fail. Beyond it the source throws rather than apply rules an operator may
   * have removed long ago. @default 15 minutes
   */
  readonly maxStaleMs?: number;
  /** Wait between failed reloads while serving stale rules. @default min(cacheMs, 10 s) */
  readonly retryMs?: number;
  /**
   * How long before expiry a call starts a background refresh (and still gets
   * the current, unexpired rules at once). 0 turns the background refresh off:
   * the first call after expiry waits for the load.
   * @default a quarter of `cacheMs`
   */
  readonly refreshAheadMs?: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  readonly logger?: RuleSourceLogger;
  readonly metrics?: RuleSourceMetrics;
}

export interface DynamoDbRuleSourceOptions extends RuleCacheOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** The project logger behind the small interface this source needs. */
const projectLogger: RuleSourceLogger = {
  info: (message, extra) => defaultLogger.info(message, (extra ?? {}) as Record<string, string>),
  warn: (message, extra) => defaultLogger.warn(message, (extra ?? {}) as Record<string, string>),
  error: (message, extra) => defaultLogger.error(message, (extra ?? {}) as Record<string, string>),
};

interface Loaded {
  readonly rules: CompiledRules;
  readonly loadedAt: number;
}

/** The items of a rules table as plain data, and those that could not be turned into it. */
export interface ScannedRules {
  readonly plain: unknown[];
  readonly unreadable: InvalidRule[];
}

/**
 * Reads every item of the rules table, one page at a time, unmarshalling each
 * page as it arrives: a page's wire-format items are garbage before the next
 * page is read, so a large table never holds both forms of every item. The
 * receive side's Scan path and the compile step read the table with this one
 * function, so both see the same items the same way.
 */
export async function scanRulesTable(
  client: DynamoDBClient,
  tableName: string,
  options: { consistentRead?: boolean } = {},
): Promise<ScannedRules> {
  const plain: unknown[] = [];
  const unreadable: InvalidRule[] = [];
  let index = 0;
  let exclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: exclusiveStartKey,
        ...(options.consistentRead ? { ConsistentRead: true } : {}),
      }),
    );
    for (const item of page.Items ?? []) toPlain(item, index++, plain, unreadable);
    exclusiveStartKey = page.LastEvaluatedKey;
  } while (exclusiveStartKey);
  return { plain, unreadable };
}

/**
 * Unmarshalls one item; numbers stay wrapped (the schema converts them) so
 * a huge number fails one item, not the load. An item that cannot be
 * unmarshalled at all is reported like an invalid one.
 */
function toPlain(item: Record<string, AttributeValue>, index: number, plain: unknown[], unreadable: InvalidRule[]): void {
  try {
    plain.push(unmarshall(item, { wrapNumbers: true }));
  } catch (error) {
    const ruleId = item.ruleId?.S;
    const reason = `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    unreadable.push({ ruleId, index, errors: [{ ruleId, field: '(item)', reason }] });
  }
}

/**
 * Loads the rules table the Scan way: every item read, validated, compiled;
 * each skipped item logged with its reasons and counted (`InvalidRules`).
 * Throws whatever the Scan throws.
 */
export async function loadRulesByScan(
  client: DynamoDBClient,
  tableName: string,
  log: RuleSourceLogger,
  metrics: RuleSourceMetrics,
): Promise<CompiledRules> {
  const { plain, unreadable } = await scanRulesTable(client, tableName);
  const compilation = compileRules(plain, unreadable);
  reportCompilation(compilation, tableName, log, metrics);
  return compilation.rules;
}

/** Logs each skipped item once per load, with its ruleId and reasons, and counts them. */
function reportCompilation(c: RuleCompilation, tableName: string, log: RuleSourceLogger, metrics: RuleSourceMetrics): void {
  for (const bad of c.invalid) {
    log.warn('invalid rule skipped', {
      ruleId: bad.ruleId ?? `(item ${bad.index} without ruleId)`,
      problems: bad.errors.map((e) => `${e.field}: ${e.reason}`),
      // Why InvalidRules pages: until the item is fixed, these recipients get no bounce.
      holdsBouncesFor: describeHold(bad),
    });
  }
  for (const w of c.warnings) log.warn('rule attribute ignored', { ruleId: w.ruleId, field: w.field, reason: w.reason });
  metrics.addMetric(MetricName.InvalidRules, MetricUnit.Count, c.invalid.length);
  log.info('rules loaded', { table: tableName, rules: c.rules.size, invalid: c.invalid.length, disabled: c.disabled });
}

/**
 * The caching, refresh-ahead and stale-serving behaviour of a rule source,
 * over whatever `load` reads (the rules table's Scan, or the compiled
 * snapshot). Subclasses say how to load and how to name their origin.
 */
export abstract class RefreshingRuleSource implements RuleSource {
  private readonly cacheMs: number;
  private readonly maxStaleMs: number;
  private readonly retryMs: number;
  private readonly refreshAheadMs: number;
  protected readonly now: () => number;
  protected readonly log: RuleSourceLogger;
  protected readonly metrics: RuleSourceMetrics;
  private loaded?: Loaded;
  private inflight?: Promise<CompiledRules>;
  private retryAfter = 0;

  constructor(options: RuleCacheOptions) {
    this.cacheMs = options.cacheMs;
    this.maxStaleMs = options.maxStaleMs ?? 15 * 60_000;
    this.retryMs = options.retryMs ?? Math.min(options.cacheMs, 10_000);
    this.refreshAheadMs = Math.min(options.refreshAheadMs ?? Math.floor(options.cacheMs / 4), options.cacheMs);
    this.now = options.now ?? Date.now;
    this.log = options.logger ?? projectLogger;
    this.metrics = options.metrics ?? defaultMetrics;
  }

  /** Reads and compiles the rules once; throws when they cannot be had. */
  protected abstract load(): Promise<CompiledRules>;

  /** Where the rules come from, for errors and logs (e.g. `table "rules"`). */
  protected abstract origin(): Record<string, unknown> & { readonly described: string };

  /**
   * The current rules: the cached ones while younger than `cacheMs`; in the
   * last `refreshAheadMs` of that, one background refresh starts (at most one
   * at a time). Past `cacheMs` the caller waits for one shared reload, except
   * while reloads fail: then the previous rules are served for up to
   * `maxStaleMs` past `cacheMs`, retried in the background every `retryMs`,
   * and after that {@link RulesUnavailableError} is thrown.
   *
   * On Lambda the environment is frozen between invocations: a background
   * refresh progresses while invocations run and completes in a later one.
   */
  current(): Promise<CompiledRules> {
    const now = this.now();
    const loaded = this.loaded;
    if (loaded) {
      const age = now - loaded.loadedAt;
      const failing = this.retryAfter > 0;
      const fresh = age < this.cacheMs;
      if (fresh || (failing && age < this.cacheMs + this.maxStaleMs)) {
        const refreshDue = failing ? now >= this.retryAfter : this.refreshAheadMs > 0 && age >= this.cacheMs - this.refreshAheadMs;
        if (refreshDue && !this.inflight) this.refreshInBackground();
        return Promise.resolve(loaded.rules);
      }
    }
    return this.shared();
  }

  /** Resolves once no load is in flight (a background refresh included); never rejects. For tests and shutdown. */
  async whenIdle(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /** The one load in flight, started if none is. */
  private shared(): Promise<CompiledRules> {
    this.inflight ??= this.reload().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Starts a refresh nobody awaits; its failure is already logged by serveStale or here. */
  private refreshInBackground(): void {
    this.shared().catch((error: unknown) => {
      const { described: _described, ...origin } = this.origin();
      this.log.error('background rules refresh failed', { ...origin, error: error instanceof Error ? error.message : String(error) });
    });
  }

  private async reload(): Promise<CompiledRules> {
    const startedAt = this.now();
    let rules: CompiledRules;
    try {
      rules = await this.load();
    } catch (error) {
      return this.serveStale(error, startedAt);
    }
    this.loaded = { rules, loadedAt: startedAt };
    this.retryAfter = 0;
    return rules;
  }

  private serveStale(error: unknown, now: number): CompiledRules {
    const loaded = this.loaded;
    const reason = error instanceof Error ? error.message : String(error);
    const { described, ...origin } = this.origin();
    if (loaded && now - loaded.loadedAt < this.cacheMs + this.maxStaleMs) {
      this.retryAfter = now + this.retryMs;
      this.log.error('rules reload failed; serving the previous rules', { ...origin, ageMs: now - loaded.loadedAt, error: reason });
      return loaded.rules;
    }
    const detail = loaded ? `the last good load is ${now - loaded.loadedAt} ms old` : 'no rules were loaded before';
    throw new RulesUnavailableError(`cannot load rules from ${described} and ${detail}: ${reason}`, { cause: error });
  }
}

/**
 * RuleSource over the rules table's Scan (see the file comment). Without a
 * snapshot bucket this is how receive functions read their rules, and the
 * snapshot source falls back to it.
 */
export class DynamoDbRuleSource extends RefreshingRuleSource {
  constructor(private readonly options: DynamoDbRuleSourceOptions) {
    super(options);
  }

  protected load(): Promise<CompiledRules> {
    return loadRulesByScan(this.options.client, this.options.tableName, this.log, this.metrics);
  }

  protected origin() {
    return { described: `table ${JSON.stringify(this.options.tableName)}`, table: this.options.tableName };
  }
}
