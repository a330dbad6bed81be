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

export interface DynamoDbRuleSourceOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
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

/**
 * Reads every item of the rules table, one page at a time, unmarshalling each
 * page as it arrives: a page's wire-format items are garbage before the next
 * page is read, so a large table never holds both forms of every item.
 */
async function scanAll(client: DynamoDBClient, tableName: string): Promise<{ plain: unknown[]; unreadable: InvalidRule[] }> {
  const plain: unknown[] = [];
  const unreadable: InvalidRule[] = [];
  let index = 0;
  let exclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: exclusiveStartKey }));
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

export class DynamoDbRuleSource implements RuleSource {
  private readonly maxStaleMs: number;
  private readonly retryMs: number;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;
  private readonly log: RuleSourceLogger;
  private readonly metrics: RuleSourceMetrics;
  private loaded?: Loaded;
  private inflight?: Promise<CompiledRules>;
  private retryAfter = 0;

  constructor(private readonly options: DynamoDbRuleSourceOptions) {
    this.maxStaleMs = options.maxStaleMs ?? 15 * 60_000;
    this.retryMs = options.retryMs ?? Math.min(options.cacheMs, 10_000);
    this.refreshAheadMs = Math.min(options.refreshAheadMs ?? Math.floor(options.cacheMs / 4), options.cacheMs);
    this.now = options.now ?? Date.now;
    this.log = options.logger ?? projectLogger;
    this.metrics = options.metrics ?? defaultMetrics;
  }

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
      const fresh = age < this.options.cacheMs;
      if (fresh || (failing && age < this.options.cacheMs + this.maxStaleMs)) {
        const refreshDue = failing
          ? now >= this.retryAfter
          : this.refreshAheadMs > 0 && age >= this.options.cacheMs - this.refreshAheadMs;
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
      this.log.error('background rules refresh failed', {
        table: this.options.tableName,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  private async reload(): Promise<CompiledRules> {
    const startedAt = this.now();
    let compilation: RuleCompilation;
    try {
      const { plain, unreadable } = await scanAll(this.options.client, this.options.tableName);
      compilation = compileRules(plain, unreadable);
    } catch (error) {
      return this.serveStale(error, startedAt);
    }
    this.report(compilation);
    this.loaded = { rules: compilation.rules, loadedAt: startedAt };
    this.retryAfter = 0;
    return compilation.rules;
  }

  private serveStale(error: unknown, now: number): CompiledRules {
    const loaded = this.loaded;
    const reason = error instanceof Error ? error.message : String(error);
    if (loaded && now - loaded.loadedAt < this.options.cacheMs + this.maxStaleMs) {
      this.retryAfter = now + this.retryMs;
      this.log.error('rules reload failed; serving the previous rules', {
        table: this.options.tableName,
        ageMs: now - loaded.loadedAt,
        error: reason,
      });
      return loaded.rules;
    }
    const detail = loaded ? `the last good load is ${now - loaded.loadedAt} ms old` : 'no rules were loaded before';
    throw new RulesUnavailableError(`cannot load rules from table "${this.options.tableName}" and ${detail}: ${reason}`, { cause: error });
  }

  /** Logs each skipped item once per load, with its ruleId and reasons, and counts them. */
  private report(c: RuleCompilation): void {
    for (const bad of c.invalid) {
      this.log.warn('invalid rule skipped', {
        ruleId: bad.ruleId ?? `(item ${bad.index} without ruleId)`,
        problems: bad.errors.map((e) => `${e.field}: ${e.reason}`),
        // Why InvalidRules pages: until the item is fixed, these recipients get no bounce.
        holdsBouncesFor: describeHold(bad),
      });
    }
    for (const w of c.warnings) this.log.warn('rule attribute ignored', { ruleId: w.ruleId, field: w.field, reason: w.reason });
    this.metrics.addMetric(MetricName.InvalidRules, MetricUnit.Count, c.invalid.length);
    this.log.info('rules loaded', { table: this.options.tableName, rules: c.rules.size, invalid: c.invalid.length, disabled: c.disabled });
  }
}
