/** Key schema shared by the CDK construct and the DynamoDB adapters. */

/** Rules table: one item per rule. */
export const RULES_PARTITION_KEY = 'ruleId';

/**
 * State table: one partition key `pk`, items distinguished by prefix:
 * `msg#<messageId>` (claim + audit), `budget#<scope>#<value>#<window>` (sender budget),
 * `gate#<key>` (rate gate), `rules#pointer` (the compiled rules snapshot's pointer).
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
 * Key prefixes of the state table's items; IAM fences each function to its own
 * (`dynamodb:LeadingKeys`). `rules#` holds the compiled rules' pointer (issue 13):
 * the compile function writes it, receive and the CLI read it.
 */
export const STATE_KEY_PREFIX = { message: 'msg#', budget: 'budget#', gate: 'gate#', rules: 'rules#' } as const;
