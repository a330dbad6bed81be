/**
 * Figure 3 — rule scale. 1k, 10k and 100k rules are written to DynamoDB
 * Local (BatchWriteItem, the table growing from one size to the next); at
 * each size a fresh DynamoDbRuleSource loads and compiles them (Scan pages,
 * validate, index): time and retained heap. Then evaluation time per
 * recipient for an exact-address hit, a domain hit and a miss.
 */
import { BatchWriteItemCommand, type BatchWriteItemCommandOutput, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbRuleSource } from '../lambda/adapters/dynamodb/rule-source';
import type { MessageFacts } from '../lambda/domain/model';
import type { CompiledRules } from '../lambda/domain/rules';
import { exactAddress, ruleDomain, ruleItems, silentLogger, silentMetrics } from './lib/fixtures';
import { settledHeapUsed } from './lib/heap';
import { factsFor } from '../test/support/facts';
import { startBenchDynamoDb } from './lib/local-services';
import type { Benchmark, ResultRow } from './lib/result';
import { fmt, fmtBytes, fmtSummary, summarize, type Summary } from './lib/stats';

/** Wildcards are listed, not indexed: kept at the 100 at every size, so the index is what scales. */
const WILDCARDS = 100;

/** The rule mix of a figure-3 size (exported for figure 3b, which loads the same sets). */
export function mixAt(total: number) {
  const domains = Math.round(total * 0.09);
  return { exact: total - domains - WILDCARDS, domains, wildcards: WILDCARDS };
}

/** Writes items with BatchWriteItem (25 a request, six in flight), retrying unprocessed ones. */
export async function batchWrite(client: DynamoDBClient, table: string, items: readonly Record<string, unknown>[]): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) {
    chunks.push(items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } })));
  }
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let pending: WriteRequest[] | undefined = chunks[next++];
      while (pending && pending.length > 0) {
        const out: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        pending = out.UnprocessedItems?.[table];
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

function newSource(client: DynamoDBClient, tableName: string): DynamoDbRuleSource {
  return new DynamoDbRuleSource({ client, tableName, cacheMs: 3_600_000, logger: silentLogger, metrics: silentMetrics });
}

/**
 * One timed load on a fresh source, and the settled heap while its rules are
 * still referenced. A separate frame, so nothing of the load outlives it.
 */
async function loadOnce(client: DynamoDBClient, tableName: string): Promise<{ ms: number; size: number; heldBytes: number }> {
  const source = newSource(client, tableName);
  const t0 = process.hrtime.bigint();
  const rules = await source.current();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const heldBytes = settledHeapUsed();
  return { ms, size: rules.size, heldBytes };
}

const facts = (recipient: string): MessageFacts =>
  factsFor(recipient, {
    messageId: 'bench-scale',
    receivedAt: new Date().toISOString(),
    sender: 'sender@example.com',
    headers: [{ name: 'Subject', value: 'Quarterly report' }],
  });

/** Per-call time of evaluate() for one recipient: batches of calls timed, divided, summarised. */
function perRecipient(rules: CompiledRules, recipient: string, batches: number, batch: number): Summary {
  const f = facts(recipient);
  const now = new Date();
  for (let i = 0; i < batch * 20; i++) rules.evaluate(f, now);
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) rules.evaluate(f, now);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6 / batch);
  }
  return summarize(samples);
}

export const ruleScale: Benchmark = async ({ quick, log }) => {
  const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  const db = await startBenchDynamoDb();
  const rows: ResultRow[] = [];
  const data: Record<string, unknown>[] = [];
  try {
    const tables = await db.createTables('bench-scale');
    const client = db.client();
    const written = new Set<string>();
    for (const size of sizes) {
      const items = ruleItems(mixAt(size)).filter((item) => !written.has(item.ruleId as string));
      const w0 = Date.now();
      await batchWrite(client, tables.rules, items);
      for (const item of items) written.add(item.ruleId as string);
      log(`rule scale: ${written.size} rules in the table (+${items.length} in ${((Date.now() - w0) / 1000).toFixed(1)} s)`);

      const reps = size >= 100_000 ? 3 : 5;
      const loadMs: number[] = [];
      const heapBytes: number[] = [];
      for (let r = 0; r < reps; r++) {
        const once = await loadOnce(client, tables.rules);
        if (once.size !== size) throw new Error(`loaded ${once.size} rules, expected ${size}`);
        loadMs.push(once.ms);
        // The loaded rules died with loadOnce's frame: what this GC frees is what they held.
        heapBytes.push(once.heldBytes - settledHeapUsed());
      }
      const rules = await newSource(client, tables.rules).current();
      const load = summarize(loadMs);
      const heap = summarize(heapBytes);
      const evalBatches = quick ? 60 : 200;
      const exactHit = perRecipient(rules, exactAddress(0), evalBatches, 50);
      const domainHit = perRecipient(rules, `alice@${ruleDomain(3)}`, evalBatches, 50);
      const miss = perRecipient(rules, 'nobody@unlisted.example', evalBatches, 50);
      const us = (s: Summary) => fmtSummary({ ...s, median: s.median * 1000, p10: s.p10 * 1000, p90: s.p90 * 1000 } as Summary, 'µs');
      const n = size.toLocaleString('en-US');
      rows.push(
        { measure: `${n} rules: load + compile (Scan, validate, index)`, value: `${fmtSummary(load, 'ms')} (${reps} loads)` },
        { measure: `${n} rules: heap retained by the compiled rules`, value: `${fmtBytes(heap.median)} (${fmt(heap.median / size, 3)} B/rule)` },
        { measure: `${n} rules: evaluate, exact-address hit`, value: us(exactHit) },
        { measure: `${n} rules: evaluate, domain hit (subject condition)`, value: us(domainHit) },
        { measure: `${n} rules: evaluate, no rule (default)`, value: us(miss) },
      );
      data.push({ size, mix: mixAt(size), loadMs: load, heapRetainedBytes: heap, evaluateMs: { exactHit, domainHit, miss } });
    }
  } finally {
    await db.stop();
  }
  // Flatness: the exact and domain lookups at the largest size against the smallest, same run.
  const first = data[0] as { evaluateMs: Record<string, Summary> };
  const last = data[data.length - 1] as { size: number; evaluateMs: Record<string, Summary> };
  for (const kind of ['exactHit', 'domainHit'] as const) {
    const ratio = last.evaluateMs[kind].median / first.evaluateMs[kind].median;
    rows.push({
      measure: `evaluate ${kind === 'exactHit' ? 'exact' : 'domain'} hit: ${last.size.toLocaleString('en-US')} vs 1,000 rules`,
      value: `${fmt(ratio)}×`,
      baseline: `${fmt(first.evaluateMs[kind].median * 1000)} µs at 1,000 rules`,
      target: 'flat (≤ 2×)',
      met: ratio <= 2,
    });
  }
  return {
    id: 'rule-scale',
    title: '3. Rule scale (DynamoDB Local)',
    rows,
    notes: [
      `Mix at each size: 9 % domain rules (subject condition), ${WILDCARDS} wildcard rules (listed and tried for every recipient, so kept constant), the rest exact addresses (half bounce, half allow).`,
      'Load = DynamoDbRuleSource.current() on a fresh source: paginated Scan of DynamoDB Local over HTTP, unmarshall, validation (zod-free fast path for well-formed items, zod for the rest), index build. Once a set is loaded, later reloads run in the background ahead of expiry and hold up no message while the function is busy.',
      'Heap = heapUsed after full GCs with the source and its compiled rules held, minus after dropping them: what a warm function carries.',
      'Evaluate = CompiledRules.evaluate for a one-recipient message, timed in batches of 50 calls; includes the 100-wildcard scan.',
    ],
    data,
  };
};
