/**
 * Public surface of the rules domain. The pipeline depends only on what is
 * exported here.
 */
import type { MessageFacts, MessageNeeds, RecipientDecision } from '../model';

/** Validated, indexed rules, ready to evaluate. */
export interface CompiledRules {
  /** Number of valid rules in the index. */
  readonly size: number;
  /**
   * What evaluating these recipients may need beyond envelope and event
   * headers; with `enforcedOnly`, what the rules that can decide need (shadow
   * rules left out): a read only shadow rules need may fail without failing the message.
   */
  needsFor(recipients: readonly string[], options?: { readonly enforcedOnly?: boolean }): MessageNeeds;
  /** One decision per envelope recipient, in the order of `facts.recipients`. */
  evaluate(facts: MessageFacts, now: Date): RecipientDecision[];
}

export { shadowAll, shadowText } from './shadow';
export { compileRules, describeHold, EMPTY_RULES, type InvalidRule, type RuleCompilation } from './compile';
export {
  DEFAULT_PRIORITY,
  DEFAULT_STATUS,
  NOTES_FIELD,
  RULE_FIELDS,
  parseRule,
  type HeaderCondition,
  type Rule,
  type RuleAction,
  type RuleMode,
  type RuleIssue,
  type RuleParseResult,
} from './rule-schema';
export {
  Glob,
  MAX_PATTERN_LENGTH,
  budgetAddress,
  globMatches,
  matchesAddress,
  parseAddress,
  parseAddressPattern,
  type AddressPattern,
  type ParsedAddress,
} from './pattern';
