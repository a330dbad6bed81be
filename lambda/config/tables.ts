/** Key schema shared by the CDK construct and the DynamoDB adapters. */

/** Rules table: one item per rule. */
export const RULES_PARTITION_KEY = 'ruleId';

/**
 * State table: one partition key `pk`, items distinguished by prefix:
 * `msg#<messageId>` (claim + audit), `budget#<scope>#<value>#<window>` (sender budget),
 * `gate#<key>` (rate gate).
 */
export const STATE_PARTITION_KEY = 'pk';

/** Epoch-seconds TTL attribute on state items. */
export const STATE_TTL_ATTRIBUTE = 'expiresAt';
