/**
 * Compiles rule items into an index and evaluates messages against it.
 *
 * Recipient patterns are filed by what they can be looked up with: exact
 * addresses and domains in hash maps (so 100,000 per-address rules cost one
 * lookup per recipient), subdomain patterns by parent domain, and only true
 * wildcards in a list checked one by one. A recipient's candidates are merged
 * back into (priority, ruleId) order before evaluation.
 */
import { NO_NEEDS, type MessageFacts, type MessageNeeds, type RecipientDecision } from '../model';
import { FALSE, MessageView, TRUE, UNKNOWN, conditionsHold } from './conditions';
import type { CompiledRules } from './index';
import { matchesAddress, parseAddress, type AddressPattern, type ParsedAddress } from './pattern';
import { parseRule, type Rule, type RuleIssue } from './rule-schema';

/** An item that was skipped, with every problem found in it. */
export interface InvalidRule {
  /** Absent when the item has no usable ruleId; `index` then identifies it. */
  readonly ruleId?: string;
  /** Position of the item in the input. */
  readonly index: number;
  readonly errors: readonly RuleIssue[];
}

/** The outcome of compiling one load of items. */
export interface RuleCompilation {
  readonly rules: CompiledRules;
  /** Items skipped; they never match and never stop the others. */
  readonly invalid: readonly InvalidRule[];
  /** Ignored attributes of valid items (unknown attributes, bounce fields on allow rules). */
  readonly warnings: readonly RuleIssue[];
  /** Valid rules with `enabled: false`; not in the index. */
  readonly disabled: number;
}

interface PatternEntry {
  readonly ordinal: number;
  readonly pattern: AddressPattern;
}

const needsOf = (rule: Rule): MessageNeeds => ({
  headers: Boolean(rule.subject || rule.fromHeader || rule.headers),
  size: rule.minSizeBytes !== undefined || rule.maxSizeBytes !== undefined,
  body: Boolean(rule.attachmentNames || rule.attachmentTypes),
});

/** True when only `recipients` and `enabled` constrain the rule: later candidates can never be reached. */
const isUnconditional = (rule: Rule): boolean =>
  rule.activeFrom === undefined &&
  rule.activeUntil === undefined &&
  !rule.senders &&
  !rule.fromHeader &&
  !rule.subject &&
  !rule.headers &&
  rule.minSizeBytes === undefined &&
  rule.maxSizeBytes === undefined &&
  !rule.attachmentNames &&
  !rule.attachmentTypes &&
  !rule.verdicts;

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Rules ordered by (priority, ruleId), ruleIds compared by code unit so order never depends on locale. */
const byPriorityThenId = (a: Rule, b: Rule): number =>
  a.priority - b.priority || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);

class RuleIndex implements CompiledRules {
  private readonly exact = new Map<string, number[]>();
  private readonly domain = new Map<string, number[]>();
  private readonly domainLocal = new Map<string, PatternEntry[]>();
  private readonly subdomain = new Map<string, number[]>();
  private readonly wildcard: PatternEntry[] = [];
  private readonly needs: readonly MessageNeeds[];
  private readonly unconditional: readonly boolean[];

  constructor(private readonly rules: readonly Rule[]) {
    rules.forEach((rule, ordinal) => {
      for (const pattern of rule.recipients) {
        switch (pattern.kind) {
          case 'exact':
            push(this.exact, pattern.key!, ordinal);
            break;
          case 'domain':
            push(this.domain, pattern.key!, ordinal);
            break;
          case 'domain-local':
            push(this.domainLocal, pattern.key!, { ordinal, pattern });
            break;
          case 'subdomain':
            push(this.subdomain, pattern.key!, ordinal);
            break;
          default:
            this.wildcard.push({ ordinal, pattern });
        }
      }
    });
    this.needs = rules.map(needsOf);
    this.unconditional = rules.map(isUnconditional);
  }

  get size(): number {
    return this.rules.length;
  }

  /** Ordinals of the rules whose recipient patterns match, ascending (= evaluation order), without duplicates. */
  private candidates(address: ParsedAddress): number[] {
    if (address.address === '') return [];
    const found: number[] = [];
    const add = (list: readonly number[] | undefined) => {
      if (list) for (const o of list) found.push(o);
    };
    // Exact keys hold literal local parts; those without `+` also cover `+tag` variants.
    for (const local of [...address.locals, ...address.baseLocals]) add(this.exact.get(`${local}@${address.domain}`));
    add(this.domain.get(address.domain));
    for (const e of this.domainLocal.get(address.domain) ?? []) if (matchesAddress(e.pattern, address)) found.push(e.ordinal);
    for (let dot = address.domain.indexOf('.'); dot >= 0; dot = address.domain.indexOf('.', dot + 1)) {
      if (dot > 0) add(this.subdomain.get(address.domain.slice(dot + 1)));
    }
    for (const e of this.wildcard) if (matchesAddress(e.pattern, address)) found.push(e.ordinal);
    if (found.length < 2) return found;
    found.sort((a, b) => a - b);
    return found.filter((o, i) => i === 0 || o !== found[i - 1]);
  }

  needsFor(recipients: readonly string[]): MessageNeeds {
    let headers = false;
    let size = false;
    let body = false;
    for (const recipient of recipients) {
      for (const ordinal of this.candidates(parseAddress(recipient))) {
        const n = this.needs[ordinal];
        headers ||= n.headers;
        size ||= n.size;
        body ||= n.body;
        if (this.unconditional[ordinal]) break;
      }
    }
    return headers || size || body ? { headers, size, body } : NO_NEEDS;
  }

  evaluate(facts: MessageFacts, now: Date): RecipientDecision[] {
    const t = now.getTime();
    const view = new MessageView(facts);
    return facts.recipients.map((recipient) => this.decide(recipient, view, t));
  }

  private decide(recipient: string, view: MessageView, t: number): RecipientDecision {
    for (const ordinal of this.candidates(parseAddress(recipient))) {
      const rule = this.rules[ordinal];
      if (rule.activeFrom !== undefined && t < rule.activeFrom) continue;
      if (rule.activeUntil !== undefined && t >= rule.activeUntil) continue;
      const truth = conditionsHold(rule, view);
      if (truth === FALSE) continue;
      if (truth === UNKNOWN) {
        // An allow rule that might have matched protects the recipient from
        // every later rule: stop with the default rather than risk a bounce.
        // A bounce rule that might have matched is passed over: whatever
        // decides later, the outcome is no worse than with complete data.
        if (rule.action === 'allow') break;
        continue;
      }
      if (truth === TRUE) {
        return rule.action === 'bounce'
          ? { recipient, action: 'bounce', ruleId: rule.ruleId, bounce: rule.bounce! }
          : { recipient, action: 'allow', ruleId: rule.ruleId };
      }
    }
    return { recipient, action: 'default', defaultAction: 'deliver' };
  }
}

/**
 * Validates and indexes items (unmarshalled DynamoDB items or plain JSON).
 * Invalid items are skipped and reported; a duplicate ruleId keeps the first
 * item and reports the others.
 */
export function compileRules(items: Iterable<unknown>): RuleCompilation {
  const valid: Rule[] = [];
  const invalid: InvalidRule[] = [];
  const warnings: RuleIssue[] = [];
  const seen = new Set<string>();
  let disabled = 0;
  let index = 0;
  for (const item of items) {
    const result = parseRule(item);
    warnings.push(...result.warnings);
    if (!result.ok) {
      invalid.push({ ...(result.ruleId !== undefined ? { ruleId: result.ruleId } : {}), index, errors: result.errors });
    } else if (seen.has(result.rule.ruleId)) {
      const ruleId = result.rule.ruleId;
      invalid.push({ ruleId, index, errors: [{ ruleId, field: 'ruleId', reason: `duplicate ruleId ${JSON.stringify(ruleId)}` }] });
    } else {
      seen.add(result.rule.ruleId);
      if (result.rule.enabled) valid.push(result.rule);
      else disabled++;
    }
    index++;
  }
  valid.sort(byPriorityThenId);
  return { rules: new RuleIndex(valid), invalid, warnings, disabled };
}

/** An index with no rules: every recipient gets the default. */
export const EMPTY_RULES: CompiledRules = compileRules([]).rules;
