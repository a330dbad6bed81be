/**
 * The state table's rule index (`rule-by-time`, issue 15): what each rule did
 * to each message, by rule and day, for `ses-bouncer rules report`.
 *
 * Layout. A message's rules are its bounce and drop decisions and its shadow
 * matches, one entry per (message, rule). The first goes on the audit item
 * itself (three attributes, no extra write, and its state stays current: every
 * transition of the item reaches the index). Each further rule is a small
 * `match#<messageId>#<n>` item written in one BatchWriteItem after the claim,
 * carrying the state and guard verdict of the claim. Bounce rules come first,
 * so a message with one bounce rule always has it on the audit item. Mail that
 * no rule bounced, dropped or shadow-matched has no audit item and no entry.
 *
 * Index keys: `rule#<ruleId>#<yyyy-mm-dd>` (the UTC day of `createdAt`) and
 * `createdAt`. A rule every message hits still gets one partition per day, and
 * a report over 24 h queries two of them with a key condition on the time:
 * it reads that rule's entries of the window and nothing else.
 */
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  STATE_KEY_PREFIX,
  STATE_PARTITION_KEY,
  STATE_RULE_ATTRIBUTE,
  STATE_RULE_INDEX,
  STATE_RULE_SORT_KEY,
  STATE_TTL_ATTRIBUTE,
} from '../../config/tables';
import type { GuardVerdict } from '../../domain/model';
import type { AuditRecord, BounceState, ShadowVerdict } from '../../ports';

/** What a rule did to a message: enforced (bounce, drop) or, as a shadow rule, would have done. */
export type RuleOutcome = 'bounce' | 'drop' | 'would-bounce' | 'would-drop';

/** Outcomes in the order a message's rules are indexed (and the stronger one wins for a rule seen twice). */
const OUTCOME_ORDER: readonly RuleOutcome[] = ['bounce', 'drop', 'would-bounce', 'would-drop'];

/**
 * At most this many rules of one message are indexed: one on the audit item
 * and 24 `match#` items, one BatchWriteItem (its limit is 25). A message
 * reaches it only with dozens of recipients each decided by another rule.
 */
export const MAX_INDEXED_RULES = 25;

/** One rule of one message, as the index records it. */
export interface RuleMatch {
  readonly ruleId: string;
  readonly outcome: RuleOutcome;
  /** Recipients the rule did it to. */
  readonly recipients: number;
}

/** One entry read back from the index. */
export interface RuleIndexEntry extends RuleMatch {
  readonly messageId: string;
  /** ISO 8601 decision time. */
  readonly createdAt: string;
  readonly state: BounceState;
  readonly guard: GuardVerdict;
  readonly shadowVerdict?: ShadowVerdict;
  /**
   * True for the entry on the audit item, whose state is current; false for a
   * `match#` item, whose state is the one at the claim (a later SENT, or a
   * budget refusal after the claim, does not reach it).
   */
  readonly current: boolean;
}

/**
 * The rules of a message, bounce rules first, then drops, then shadow
 * matches (would-bounce, would-drop), each group in decision order; at most
 * {@link MAX_INDEXED_RULES}. Only the decisions the audit item kept are seen
 * (a message too big for its item has `omittedDecisions`).
 */
export function ruleMatches(record: Pick<AuditRecord, 'decisions'>): RuleMatch[] {
  const byRule = new Map<string, { outcome: RuleOutcome; recipients: Set<string> }>();
  const note = (ruleId: string, outcome: RuleOutcome, recipient: string) => {
    const seen = byRule.get(ruleId);
    if (!seen || OUTCOME_ORDER.indexOf(outcome) < OUTCOME_ORDER.indexOf(seen.outcome)) {
      byRule.set(ruleId, { outcome, recipients: new Set([recipient]) });
    } else if (seen.outcome === outcome) {
      seen.recipients.add(recipient);
    }
  };
  for (const d of record.decisions) {
    if (d.action === 'bounce' || d.action === 'drop') note(d.ruleId, d.action, d.recipient);
    for (const s of d.shadow ?? []) note(s.ruleId, s.action === 'bounce' ? 'would-bounce' : 'would-drop', d.recipient);
  }
  const all = [...byRule].map(([ruleId, { outcome, recipients }]) => ({ ruleId, outcome, recipients: recipients.size }));
  // A stable sort keeps decision order inside each outcome.
  all.sort((a, b) => OUTCOME_ORDER.indexOf(a.outcome) - OUTCOME_ORDER.indexOf(b.outcome));
  return all.slice(0, MAX_INDEXED_RULES);
}

/** UTC day (`yyyy-mm-dd`) of an ISO 8601 instant or a date. */
export function utcDay(at: string | Date): string {
  return (typeof at === 'string' ? new Date(at) : at).toISOString().slice(0, 10);
}

/** Partition key of a rule's entries of one UTC day. */
export function ruleIndexKey(ruleId: string, day: string): string {
  return `rule#${ruleId}#${day}`;
}

/** The attributes that put one rule of `record` in the index. */
function indexAttributes(match: RuleMatch, record: AuditRecord): Record<string, unknown> {
  return {
    [STATE_RULE_ATTRIBUTE]: ruleIndexKey(match.ruleId, utcDay(record.createdAt)),
    ruleOutcome: match.outcome,
    ruleRecipients: match.recipients,
  };
}

/** How the index entries of a message are written: attributes on the audit item, and the further items. */
export interface RuleIndexWrites {
  /** Added to the audit item (empty when the message has no rule to index). */
  readonly onAuditItem: Record<string, unknown>;
  /** `match#` items for the second rule on; each expires with the audit item. */
  readonly furtherItems: Record<string, unknown>[];
}

/** The index writes for a record about to be claimed. */
export function ruleIndexWrites(record: AuditRecord): RuleIndexWrites {
  const [first, ...rest] = ruleMatches(record);
  if (!first) return { onAuditItem: {}, furtherItems: [] };
  return {
    onAuditItem: indexAttributes(first, record),
    furtherItems: rest.map((match, i) => ({
      [STATE_PARTITION_KEY]: `${STATE_KEY_PREFIX.match}${record.messageId}#${i + 1}`,
      ...indexAttributes(match, record),
      [STATE_RULE_SORT_KEY]: record.createdAt,
      messageId: record.messageId,
      state: record.state,
      guard: record.guard,
      ...(record.shadowVerdict ? { shadowVerdict: record.shadowVerdict } : {}),
      [STATE_TTL_ATTRIBUTE]: record.expiresAt,
    })),
  };
}

/** Attributes of the index on an audit item, which the ledger strips when it reads the record back. */
export const RULE_INDEX_ITEM_ATTRIBUTES = [STATE_RULE_ATTRIBUTE, 'ruleOutcome', 'ruleRecipients'] as const;

/** What the writer logs; the project logger fits. */
export interface RuleIndexLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/** Told how many index entries were given up, so they are counted (`RuleIndexEntriesLost`). */
export type OnEntriesLost = (entries: number) => void;

/** Retries of a batch's unprocessed items before the entries are given up. */
const BATCH_RETRIES = 3;
const BATCH_RETRY_BASE_MS = 50;

/**
 * Writes a message's further index items in one BatchWriteItem, retrying
 * unprocessed items a few times. Never throws: the claim has been made and
 * the bounce must not wait on, or fail for, the report. Entries it could not
 * write are logged; the report then undercounts those rules.
 */
export async function writeFurtherItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  messageId: string,
  items: readonly Record<string, unknown>[],
  log: RuleIndexLogger,
  onLost: OnEntriesLost = () => undefined,
): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  try {
    for (let attempt = 0; pending.length > 0 && attempt <= BATCH_RETRIES; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, BATCH_RETRY_BASE_MS * 2 ** (attempt - 1)));
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
    if (pending.length > 0) {
      log.warn('rule index: entries left unprocessed; the report undercounts these rules', { messageId, entries: pending.length });
      onLost(pending.length);
    }
  } catch (error) {
    onLost(pending.length);
    log.warn('rule index: entries not written; the report undercounts these rules', {
      messageId,
      entries: pending.length,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

export interface RuleIndexReaderOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** Reads the rule index with Query only: a rule's day partitions, newest first. */
export class RuleIndexReader {
  constructor(private readonly options: RuleIndexReaderOptions) {}

  /**
   * The entries of `ruleId` decided in [`from`, `to`], newest first: one
   * Query (and its pages) per UTC day of the window, each limited by a key
   * condition on the time, so only that rule's entries of the window are read.
   */
  async *entries(ruleId: string, from: Date, to: Date): AsyncGenerator<RuleIndexEntry> {
    if (from > to) return;
    const fromIso = from.toISOString();
    const toIso = to.toISOString();
    for (const day of daysBetween(from, to).reverse()) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.options.doc.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: STATE_RULE_INDEX,
            KeyConditionExpression: '#key = :key AND #at BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#key': STATE_RULE_ATTRIBUTE, '#at': STATE_RULE_SORT_KEY },
            ExpressionAttributeValues: { ':key': ruleIndexKey(ruleId, day), ':from': fromIso, ':to': toIso },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) yield toEntry(ruleId, item);
        start = page.LastEvaluatedKey;
      } while (start);
    }
  }
}

/** The UTC days from `from`'s to `to`'s, oldest first. */
export function daysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  const last = utcDay(to);
  for (let t = Date.parse(`${utcDay(from)}T00:00:00.000Z`); ; t += 86_400_000) {
    const day = utcDay(new Date(t));
    days.push(day);
    if (day >= last) return days;
  }
}

function toEntry(ruleId: string, item: Record<string, unknown>): RuleIndexEntry {
  const pk = String(item[STATE_PARTITION_KEY] ?? '');
  return {
    ruleId,
    messageId: String(item.messageId),
    createdAt: String(item[STATE_RULE_SORT_KEY]),
    outcome: item.ruleOutcome as RuleOutcome,
    recipients: typeof item.ruleRecipients === 'number' ? item.ruleRecipients : 1,
    state: item.state as BounceState,
    guard: (item.guard as GuardVerdict | undefined) ?? { allowed: false, reasons: [] },
    ...(item.shadowVerdict ? { shadowVerdict: item.shadowVerdict as ShadowVerdict } : {}),
    current: pk.startsWith(STATE_KEY_PREFIX.message),
  };
}
