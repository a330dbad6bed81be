/**
 * What each rule did over a window, summed from its rule-index entries
 * (lambda/adapters/dynamodb/rule-index.ts): {@link summarize} is pure,
 * {@link reportRules} reads the index (Query only) and sums.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { stateDocumentClient } from '../../lambda/adapters/dynamodb/message-ledger';
import { RuleIndexReader, type RuleIndexEntry } from '../../lambda/adapters/dynamodb/rule-index';
import type { BounceState } from '../../lambda/ports';

/** How many message ids a rule's report names for `explain`. */
export const EXAMPLE_IDS = 3;

/** Counts of one rule over the window; every count is of messages (a message counts once per rule). */
export interface RuleReport {
  readonly ruleId: string;
  /** Messages the rule matched in the window, whatever it did. */
  readonly messages: number;
  /** Recipients it matched, over those messages. */
  readonly recipients: number;
  /** Bounce decisions the guard and the sender budget let through (queued, sent, or failed in SES). */
  readonly bounced: number;
  /** Bounce decisions the guard or the sender budget refused (state SKIPPED). */
  readonly refused: number;
  /** Why, by guard reason (`sender-budget-exceeded` for a spent budget). */
  readonly refusedBy: Readonly<Record<string, number>>;
  /** Bounced messages by state: SENT, PENDING, FAILED, EXPIRED, UNKNOWN… */
  readonly bouncedStates: Readonly<Partial<Record<BounceState, number>>>;
  readonly dropped: number;
  /** Shadow matches that would have bounced… */
  readonly wouldBounce: number;
  /** …and of those, how many the guard or the sender budget would have refused. */
  readonly wouldBounceRefused: number;
  /** Why, by guard reason, `budget-spent` or `budget-unavailable`. */
  readonly wouldBounceRefusedBy: Readonly<Record<string, number>>;
  /** Shadow matches that would have dropped (a drop needs neither the guard nor the budget). */
  readonly wouldDrop: number;
  /** ISO 8601 time of the newest match, absent when there was none. */
  readonly lastMatch?: string;
  /** The newest matches' message ids, for `ses-bouncer explain`. */
  readonly examples: readonly string[];
  /**
   * Bounce decisions counted by their state at receipt: the message's first
   * rule was another one, and a later change (SENT, a budget refusal after the
   * claim) is kept only on that rule's entry.
   */
  readonly asReceived: number;
}

const bump = (counts: Record<string, number>, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};

/** Sums a rule's entries, newest first as the reader yields them. */
export async function summarize(ruleId: string, entries: AsyncIterable<RuleIndexEntry> | Iterable<RuleIndexEntry>): Promise<RuleReport> {
  let messages = 0;
  let recipients = 0;
  let bounced = 0;
  let refused = 0;
  let dropped = 0;
  let wouldBounce = 0;
  let wouldBounceRefused = 0;
  let wouldDrop = 0;
  let asReceived = 0;
  let lastMatch: string | undefined;
  const refusedBy: Record<string, number> = {};
  const wouldBounceRefusedBy: Record<string, number> = {};
  const bouncedStates: Record<string, number> = {};
  const examples: string[] = [];
  for await (const e of entries) {
    messages++;
    recipients += e.recipients;
    if (lastMatch === undefined || e.createdAt > lastMatch) lastMatch = e.createdAt;
    if (examples.length < EXAMPLE_IDS && !examples.includes(e.messageId)) examples.push(e.messageId);
    switch (e.outcome) {
      case 'bounce':
        if (!e.current) asReceived++;
        if (e.state === 'SKIPPED') {
          refused++;
          for (const reason of e.guard.reasons) bump(refusedBy, reason);
        } else {
          bounced++;
          bump(bouncedStates, e.state);
        }
        break;
      case 'drop':
        dropped++;
        break;
      case 'would-bounce': {
        wouldBounce++;
        // A message that also had a real decision has no shadow verdict: its own guard verdict stands in.
        const verdict = e.shadowVerdict ?? { guard: e.guard, budget: 'not-checked' as const };
        const reasons: string[] = [...verdict.guard.reasons];
        if (verdict.budget === 'spent') reasons.push('budget-spent');
        if (verdict.budget === 'unavailable') reasons.push('budget-unavailable');
        if (!verdict.guard.allowed || reasons.length > 0) {
          wouldBounceRefused++;
          for (const reason of reasons) bump(wouldBounceRefusedBy, reason);
        }
        break;
      }
      case 'would-drop':
        wouldDrop++;
        break;
    }
  }
  return {
    ruleId,
    messages,
    recipients,
    bounced,
    refused,
    refusedBy,
    bouncedStates,
    dropped,
    wouldBounce,
    wouldBounceRefused,
    wouldBounceRefusedBy,
    wouldDrop,
    ...(lastMatch !== undefined ? { lastMatch } : {}),
    examples,
    asReceived,
  };
}

/** `--since` values: a whole number of minutes, hours or days. */
const DURATION = /^([1-9][0-9]{0,4})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Longest window: each day of it is one Query per rule. */
export const MAX_SINCE_DAYS = 90;

/** Milliseconds of a `--since` value (`30m`, `24h`, `7d`), or undefined when it is not one (or longer than {@link MAX_SINCE_DAYS}). */
export function parseSince(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms <= MAX_SINCE_DAYS * UNIT_MS.d ? ms : undefined;
}

/** Rules read at once. */
const CONCURRENCY = 4;

/**
 * The report of each rule over [`from`, `to`], in the order given: each rule's
 * day partitions of the state table's rule index, Query only, at most
 * {@link CONCURRENCY} rules at a time.
 */
export async function reportRules(
  client: DynamoDBClient,
  stateTable: string,
  ruleIds: readonly string[],
  from: Date,
  to: Date,
): Promise<RuleReport[]> {
  const reader = new RuleIndexReader({ doc: stateDocumentClient(client), tableName: stateTable });
  const reports: RuleReport[] = new Array(ruleIds.length);
  let next = 0;
  const worker = async () => {
    while (next < ruleIds.length) {
      const i = next++;
      reports[i] = await summarize(ruleIds[i], reader.entries(ruleIds[i], from, to));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ruleIds.length) }, worker));
  return reports;
}
