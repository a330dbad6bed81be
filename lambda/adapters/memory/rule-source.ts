/**
 * In-memory RuleSource for unit tests and local runs: holds plain rule items
 * (as the console would show them, unmarshalled) and compiles them on demand.
 */
import { compileRules, type CompiledRules, type RuleCompilation } from '../../domain/rules';
import type { RuleSource } from '../../ports';

export class MemoryRuleSource implements RuleSource {
  private readonly items = new Map<string, unknown>();
  private readonly unkeyed: unknown[] = [];
  private compiled?: RuleCompilation;

  /** Items with a string ruleId replace earlier ones with that id; others are kept (and reported invalid). */
  constructor(items: Iterable<unknown> = []) {
    for (const item of items) this.put(item);
  }

  /** Adds or replaces an item, like PutItem. */
  put(item: unknown): void {
    const ruleId = (item as { ruleId?: unknown } | null)?.ruleId;
    if (typeof ruleId === 'string') this.items.set(ruleId, item);
    else this.unkeyed.push(item);
    this.compiled = undefined;
  }

  /** Removes an item, like DeleteItem. */
  delete(ruleId: string): void {
    this.items.delete(ruleId);
    this.compiled = undefined;
  }

  /** The last compilation, with its invalid items and warnings. */
  compilation(): RuleCompilation {
    return (this.compiled ??= compileRules([...this.items.values(), ...this.unkeyed]));
  }

  async current(): Promise<CompiledRules> {
    return this.compilation().rules;
  }
}
