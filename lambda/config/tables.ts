/** Key schema shared by the CDK construct and the DynamoDB adapters. */

/** Rules table: one item per rule. */
export const RULES_PARTITION_KEY = 'ruleId';

/**
 * State table: one partition key `pk`, items distinguished by prefix:
 * `msg#<messageId>` (claim + audit), `budget#<scope>#<value>#<window>` (sender budget),
 * `gate#<key>` (rate gate), `rules#pointer#<rules table>` (the compiled rules
 * snapshot's pointer), `match#<messageId>#<n>` (a message's further rules in the
 * rule index).
 */
export const STATE_PARTITION_KEY = 'pk';

/** Epoch-seconds TTL attribute on state items. */
export const STATE_TTL_ATTRIBUTE = 'expiresAt';

/**
 * Sparse index of the state table over the messages that are not final yet
 * (PENDING, SENDING): partition key {@link STATE_OPEN_ATTRIBUTE} (the state),
 * sort key `updatedAt`. Only open `msg#` items carry the attribute, so the
 * sweep reads exactly the stuck claims and never scans the table.
 */
export const STATE_OPEN_INDEX = 'open-by-age';

/** Attribute of the sparse index: the state while PENDING or SENDING, absent otherwise. */
export const STATE_OPEN_ATTRIBUTE = 'openState';

/** Sort key of the sparse index (ISO 8601, so string order is time order). */
export const STATE_OPEN_SORT_KEY = 'updatedAt';

/**
 * Sparse index of the state table by rule and time (issue 15): what each rule
 * did, read by `ses-bouncer rules report` with Query only. Partition key
 * {@link STATE_RULE_ATTRIBUTE} (`rule#<ruleId>#<yyyy-mm-dd>`, the UTC day of the
 * decision: a rule that every message hits still gets one bounded partition
 * per day), sort key `createdAt`. A message's first rule is indexed on its
 * audit item; each further rule on a small `match#` item beside it.
 */
export const STATE_RULE_INDEX = 'rule-by-time';

/** Partition key attribute of {@link STATE_RULE_INDEX}; only audit and `match#` items carry it. */
export const STATE_RULE_ATTRIBUTE = 'ruleKey';

/** Sort key of {@link STATE_RULE_INDEX}: the decision time (ISO 8601, so string order is time order). */
export const STATE_RULE_SORT_KEY = 'createdAt';

/**
 * What the rule index projects besides its keys and `pk`: all the report
 * reads, so it never fetches an audit item. `ruleOutcome` is what the rule did
 * to the message (bounce, drop, would-bounce, would-drop), `ruleRecipients`
 * how many recipients it did it to.
 */
export const STATE_RULE_PROJECTION = ['messageId', 'state', 'guard', 'shadowVerdict', 'ruleOutcome', 'ruleRecipients'] as const;

/**
 * Key prefixes of the state table's items; IAM fences each function to its own
 * (`dynamodb:LeadingKeys`). `rules#` holds the compiled rules' pointer (issue 13):
 * the compile function writes it, receive and the CLI read it. `match#` holds a
 * message's further rules in the rule index (issue 15).
 */
export const STATE_KEY_PREFIX = { message: 'msg#', budget: 'budget#', gate: 'gate#', rules: 'rules#', match: 'match#' } as const;
