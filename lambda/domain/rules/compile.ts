/**
 * Compiles rule items into an index and evaluates messages against it.
 *
 * Recipient patterns are filed by what they can be looked up with: exact
 * addresses and domains in hash maps (so 100,000 per-address rules cost one
 * lookup per recipient), subdomain patterns by parent domain, and only true
 * wildcards in a list checked one by one. A recipient's candidates are merged
 * back into (priority, ruleId) order before evaluation.
 */
import { MAX_SHADOW_MATCHES, NO_NEEDS, type MessageFacts, type MessageNeeds, type RecipientDecision, type ShadowMatch } from '../model';
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
  /**
   * Recipient patterns the item could cover; absent when its `recipients`
   * cannot be read, so it could cover anyone. While the item is invalid no
   * recipient it could cover is bounced: it might have been an `allow` rule,
   * or a bounce rule someone meant to disable.
   */
  readonly covers?: readonly AddressPattern[];
}

/** Who an invalid item holds bounces for, in words for logs and the CLI. */
export function describeHold(invalid: InvalidRule): string {
  return invalid.covers ? invalid.covers.map((p) => p.source).join(', ') : 'every recipient (its recipients cannot be read)';
}

/** Name of an invalid item in a decision: its ruleId, else its position. */
const nameOf = (invalid: InvalidRule): string => invalid.ruleId ?? `(item ${invalid.index} without ruleId)`;

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

/** The decision with the shadow matches recorded before it, if any (no allocation when there are none). */
const withShadow = <D extends RecipientDecision>(d: D, shadow: readonly ShadowMatch[] | undefined): D => (shadow ? { ...d, shadow } : d);

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
  /** Invalid items that hold every bounce; the first names the hold. */
  private readonly holdsAll?: string;
  private readonly holds: readonly { readonly by: string; readonly pattern: AddressPattern }[];

  constructor(
    private readonly rules: readonly Rule[],
    invalid: readonly InvalidRule[] = [],
  ) {
    const coversAnyone = invalid.find((i) => !i.covers);
    this.holdsAll = coversAnyone && nameOf(coversAnyone);
    this.holds = invalid.flatMap((i) => (i.covers ?? []).map((pattern) => ({ by: nameOf(i), pattern })));
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

  needsFor(recipients: readonly string[], options?: { readonly enforcedOnly?: boolean }): MessageNeeds {
    let headers = false;
    let size = false;
    let body = false;
    const enforcedOnly = options?.enforcedOnly ?? false;
    for (const recipient of recipients) {
      for (const ordinal of this.candidates(parseAddress(recipient))) {
        if (enforcedOnly && this.rules[ordinal].mode === 'shadow') continue;
        const n = this.needs[ordinal];
        headers ||= n.headers;
        size ||= n.size;
        body ||= n.body;
        // A shadow rule decides nothing: evaluation, and so what it needs, goes on past it.
        if (this.unconditional[ordinal] && this.rules[ordinal].mode === 'enforce') break;
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
    // Shadow rules that matched before the deciding rule, in evaluation order; later ones could never have decided.
    let shadow: ShadowMatch[] | undefined;
    for (const ordinal of this.candidates(parseAddress(recipient))) {
      const rule = this.rules[ordinal];
      if (rule.activeFrom !== undefined && t < rule.activeFrom) continue;
      if (rule.activeUntil !== undefined && t >= rule.activeUntil) continue;
      const truth = conditionsHold(rule, view);
      if (truth === FALSE) continue;
      if (truth === UNKNOWN) {
        // An allow rule that might have matched protects the recipient from
        // every later rule: stop with the default rather than risk a bounce.
        // A bounce or drop rule that might have matched is passed over:
        // whatever decides later, the outcome is no worse than with complete
        // data. A shadow rule that might have matched is not recorded: a
        // shadow match reports what the rule WOULD have done, and unknown is no match.
        if (rule.action === 'allow') break;
        continue;
      }
      if (truth === TRUE) {
        if (rule.mode === 'shadow') {
          // Changes nothing: recorded, then evaluation goes on as if it had not matched.
          // (Only bounce and drop rules can be shadow rules: the schema refuses a shadow allow.)
          if ((shadow ??= []).length < MAX_SHADOW_MATCHES) shadow.push({ ruleId: rule.ruleId, action: rule.action as ShadowMatch['action'] });
          continue;
        }
        if (rule.action === 'allow') return withShadow({ recipient, action: 'allow', ruleId: rule.ruleId }, shadow);
        // A drop is a rejection too: held like a bounce while an invalid item could cover the recipient.
        const heldBy = this.heldBy(recipient);
        if (heldBy !== undefined) return withShadow({ recipient, action: 'default', defaultAction: 'deliver', heldBy }, shadow);
        if (rule.action === 'drop') return withShadow({ recipient, action: 'drop', ruleId: rule.ruleId }, shadow);
        return withShadow({ recipient, action: 'bounce', ruleId: rule.ruleId, bounce: rule.bounce! }, shadow);
      }
    }
    return withShadow({ recipient, action: 'default', defaultAction: 'deliver' }, shadow);
  }

  /** The invalid item that could cover this recipient, if any: its bounce (or drop) is held. Only asked for bounces and drops. */
  private heldBy(recipient: string): string | undefined {
    if (this.holdsAll !== undefined) return this.holdsAll;
    if (this.holds.length === 0) return undefined;
    const address = parseAddress(recipient);
    // An address a pattern cannot parse could be anything: held too.
    if (address.address === '' || address.domain === '') return this.holds[0].by;
    for (const h of this.holds) if (matchesAddress(h.pattern, address)) return h.by;
    return undefined;
  }
}

/**
 * Validates and indexes items (unmarshalled DynamoDB items or plain JSON).
 * Invalid items are skipped and reported, and hold the bounces of every
 * recipient they could cover; a duplicate ruleId keeps the first item and
 * reports (and holds for) the others. `unreadable` are items the caller could
 * not even turn into plain data (they hold every bounce).
 */
export function compileRules(items: Iterable<unknown>, unreadable: readonly InvalidRule[] = []): RuleCompilation {
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
      invalid.push({
        ...(result.ruleId !== undefined ? { ruleId: result.ruleId } : {}),
        index,
        errors: result.errors,
        ...(result.covers ? { covers: result.covers } : {}),
      });
    } else if (seen.has(result.rule.ruleId)) {
      const ruleId = result.rule.ruleId;
      invalid.push({
        ruleId,
        index,
        errors: [{ ruleId, field: 'ruleId', reason: `duplicate ruleId ${JSON.stringify(ruleId)}` }],
        covers: result.rule.recipients,
      });
    } else {
      seen.add(result.rule.ruleId);
      if (result.rule.enabled) valid.push(result.rule);
      else disabled++;
    }
    index++;
  }
  valid.sort(byPriorityThenId);
  invalid.push(...unreadable);
  return { rules: new RuleIndex(valid, invalid), invalid, warnings, disabled };
}

/** An index with no rules: every recipient gets the default. */
export const EMPTY_RULES: CompiledRules = compileRules([]).rules;
