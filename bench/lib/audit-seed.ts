/**
 * A state table full of audit items, written fast (BatchWriteItem, several in
 * flight) in exactly the layout the ledger's claim writes: the item from
 * `toItem`, its first rule's index attributes, and `match#` items for further
 * rules (lambda/adapters/dynamodb/rule-index.ts). Shared by the per-rule
 * report's scale test and its benchmark, so both measure the same table.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { messageKey, stateDocumentClient, toItem } from '../../lambda/adapters/dynamodb/message-ledger';
import { ruleIndexWrites, ruleMatches } from '../../lambda/adapters/dynamodb/rule-index';
import type { RecipientDecision } from '../../lambda/domain/model';
import type { AuditRecord } from '../../lambda/ports';

const DAY_MS = 86_400_000;
const SPEC = { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } as const;

export interface AuditSeedOptions {
  /** Audit items to write. */
  readonly messages: number;
  /** Rules the messages are spread over (`rule-00`, `rule-01`, …). @default 20 */
  readonly rules?: number;
  /** Days back from `now` the messages are spread over, evenly. @default 7 */
  readonly days?: number;
  /** Every n-th message also has a second rule (a `match#` item). @default 10 */
  readonly secondRuleEvery?: number;
  /** End of the spread (epoch ms). */
  readonly now: number;
  /** BatchWriteItem requests in flight. @default 8 */
  readonly concurrency?: number;
}

export interface AuditSeed {
  readonly ruleIds: readonly string[];
  /** Items written: audit items and `match#` items. */
  readonly items: number;
  /** Index entries of each rule decided in [`from`, `now`]: what a report of that window must read, and no more. */
  entriesSince(ruleId: string, from: number): number;
}

/** The n-th message: one recipient per rule, outcomes cycling through bounce (sent, refused), drop and shadow. */
function message(i: number, o: Required<Omit<AuditSeedOptions, 'concurrency'>>, ruleIds: readonly string[]): AuditRecord {
  const at = new Date(o.now - Math.floor(((i + 0.5) * o.days * DAY_MS) / o.messages)).toISOString();
  const rules = [ruleIds[i % ruleIds.length]];
  if (i % o.secondRuleEvery === 0) rules.push(ruleIds[(i + 7) % ruleIds.length]);
  const kind = i % 4;
  const decisions: RecipientDecision[] = rules.map((ruleId, n) => {
    const recipient = `user-${n}@shop.example`;
    if (kind === 2) return { recipient, action: 'drop', ruleId };
    if (kind === 3) return { recipient, action: 'default', defaultAction: 'deliver', shadow: [{ ruleId, action: 'bounce' }] };
    return { recipient, action: 'bounce', ruleId, bounce: SPEC };
  });
  const states = ['SENT', 'SKIPPED', 'DROPPED', 'SHADOW'] as const;
  return {
    messageId: `seed-${String(i).padStart(7, '0')}-0000000000000000-000000000000-000000`,
    receivedAt: at,
    sender: `sender-${i % 97}@sender.example`,
    decisions,
    guard: kind === 1 ? { allowed: false, reasons: ['auto-submitted'] } : { allowed: true, reasons: [] },
    state: states[kind],
    ...(kind === 3 ? { shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'within' as const } } : {}),
    attempts: kind === 0 ? 1 : 0,
    ...(kind === 0 ? { sesBounceMessageId: `ses-${i}` } : {}),
    createdAt: at,
    updatedAt: at,
    expiresAt: Math.floor(o.now / 1000) + 30 * 86_400,
  };
}

/** Writes the seed; resolves once every item is stored. */
export async function seedAuditItems(client: DynamoDBClient, tableName: string, options: AuditSeedOptions): Promise<AuditSeed> {
  const o = { rules: 20, days: 7, secondRuleEvery: 10, ...options };
  const ruleIds = Array.from({ length: o.rules }, (_, n) => `rule-${String(n).padStart(2, '0')}`);
  const doc = stateDocumentClient(client);
  const perRule = new Map<string, number[]>(ruleIds.map((id) => [id, []]));
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < o.messages; i++) {
    const record = message(i, o, ruleIds);
    const index = ruleIndexWrites(record);
    items.push({ ...toItem(record), ...messageKey(record.messageId), ...index.onAuditItem }, ...index.furtherItems);
    for (const m of ruleMatches(record)) perRule.get(m.ruleId)?.push(Date.parse(record.createdAt));
  }
  await writeAll(doc, tableName, items, o.concurrency ?? 8);
  return {
    ruleIds,
    items: items.length,
    entriesSince: (ruleId, from) => (perRule.get(ruleId) ?? []).filter((t) => t >= from && t <= o.now).length,
  };
}

/** BatchWriteItem, 25 items a request, `concurrency` requests in flight, unprocessed items retried. */
async function writeAll(doc: DynamoDBDocumentClient, tableName: string, items: readonly Record<string, unknown>[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const chunk = items.slice(next, next + 25);
      next += 25;
      let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 10) throw new Error(`seed: ${pending.length} items still unprocessed after 10 retries`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
