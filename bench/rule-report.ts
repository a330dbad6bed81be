/**
 * Figure 7 — per-rule report. A state table on DynamoDB Local holds 100,000
 * audit items (and their `match#` items), written as the ledger writes them
 * (bench/lib/audit-seed.ts: 20 rules over 7 days, every 10th message with a
 * second rule). Timed: `rules report`'s reading and summing (reportRules) for
 * one rule over 24 h, one rule over 7 days and every rule over 24 h, with the
 * items DynamoDB read counted at the SDK edge; beside it, the same one-rule
 * answer from a Scan with a filter (what the report would cost without the
 * rule index).
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { stateDocumentClient } from '../lambda/adapters/dynamodb/message-ledger';
import { ruleIndexKey } from '../lambda/adapters/dynamodb/rule-index';
import { reportRules } from '../cli/report/rule-report';
import { seedAuditItems } from './lib/audit-seed';
import { startBenchDynamoDb } from './lib/local-services';
import type { Benchmark } from './lib/result';
import { countDynamoDbItemsRead } from './lib/sdk-edge';
import { fmt, fmtSummary, summarize } from './lib/stats';

const HOUR = 3_600_000;

export const ruleReport: Benchmark = async ({ quick, log }) => {
  const messages = quick ? 20_000 : 100_000;
  const rounds = quick ? 5 : 15;
  // One Scan of the whole table takes minutes on DynamoDB Local: one round says enough.
  const scanRounds = 1;
  const db = await startBenchDynamoDb();
  try {
    const tables = await db.createTables('bench-report');
    const now = Date.now();
    log(`rule report: seeding ${messages} audit items`);
    const t0 = Date.now();
    const seed = await seedAuditItems(db.client(), tables.state, { messages, now });
    const seedMs = Date.now() - t0;
    const client = db.client();
    const read = countDynamoDbItemsRead(client);
    const ruleId = seed.ruleIds[3];

    const time = async (label: string, rulesToRead: readonly string[], windowMs: number) => {
      const ms: number[] = [];
      let items = 0;
      let queries = 0;
      let matches = 0;
      log(`rule report: ${label}, ${rounds} rounds`);
      for (let i = 0; i < rounds; i++) {
        read.reset();
        const start = process.hrtime.bigint();
        const reports = await reportRules(client, tables.state, rulesToRead, new Date(now - windowMs), new Date(now));
        ms.push(Number(process.hrtime.bigint() - start) / 1e6);
        const snap = read.snapshot();
        items = snap.items;
        queries = snap.byOperation.Query ?? 0;
        matches = reports.reduce((n, r) => n + r.messages, 0);
        if (Object.keys(snap.byOperation).some((op) => op !== 'Query')) throw new Error(`report sent ${JSON.stringify(snap.byOperation)}`);
      }
      return { summary: summarize(ms), items, queries, matches };
    };
    const oneDay = await time('one rule, 24 h', [ruleId], 24 * HOUR);
    const oneWeek = await time('one rule, 7 days', [ruleId], 7 * 24 * HOUR);
    const everyRule = await time('every rule, 24 h', seed.ruleIds, 24 * HOUR);

    // Baseline: the same one-rule, 24 h answer without the index.
    log(`rule report: baseline Scan, ${scanRounds} rounds`);
    const doc = stateDocumentClient(client);
    const scanMs: number[] = [];
    let scanItems = 0;
    let scanMatches = 0;
    for (let i = 0; i < scanRounds; i++) {
      read.reset();
      scanMatches = 0;
      const start = process.hrtime.bigint();
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({
            TableName: tables.state,
            FilterExpression: 'begins_with(ruleKey, :rule) AND createdAt >= :from',
            ExpressionAttributeValues: { ':rule': ruleIndexKey(ruleId, ''), ':from': new Date(now - 24 * HOUR).toISOString() },
            ExclusiveStartKey: startKey,
          }),
        );
        scanMatches += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      scanMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      scanItems = read.snapshot().items;
    }
    const scan = summarize(scanMs);
    if (scanMatches !== oneDay.matches) throw new Error(`scan found ${scanMatches} matches, the report ${oneDay.matches}`);

    const reads = (r: { items: number; queries: number; matches: number }) =>
      `${fmt(r.items)} items read in ${r.queries} Query requests (${fmt(r.matches)} matches)`;
    return {
      id: 'rule-report',
      title: '7. Per-rule report (rules report, on DynamoDB Local)',
      rows: [
        {
          measure: `one rule, 24 h, ${fmt(messages)} audit items`,
          value: fmtSummary(oneDay.summary, 'ms'),
          baseline: `Scan with a filter: ${fmtSummary(scan, 'ms')}, ${fmt(scanItems)} items read`,
          target: '< 1 s',
          met: oneDay.summary.median < 1000,
        },
        { measure: 'one rule, 24 h: what DynamoDB read', value: reads(oneDay), target: `= the rule's entries of the window (${fmt(seed.entriesSince(ruleId, now - 24 * HOUR))})`, met: oneDay.items === seed.entriesSince(ruleId, now - 24 * HOUR) },
        { measure: 'one rule, 7 days', value: `${fmtSummary(oneWeek.summary, 'ms')}; ${reads(oneWeek)}` },
        { measure: `every rule (${seed.ruleIds.length}), 24 h`, value: `${fmtSummary(everyRule.summary, 'ms')}; ${reads(everyRule)}` },
      ],
      notes: [
        `${fmt(messages)} audit items and ${fmt(seed.items - messages)} match# items (every 10th message has a second rule) over 7 days and ${seed.ruleIds.length} rules, written with BatchWriteItem in ${fmt(seedMs / 1000)} s.`,
        `${rounds} rounds of each report (${scanRounds} of the Scan); times are reportRules (Query pages and summing), without the CLI's start-up; items read are the answers' ScannedCount, counted by middleware on the client.`,
        'DynamoDB Local (SQLite underneath) on a shared machine: absolute times are not DynamoDB\'s; what carries over is the read volume, which depends on the rule\'s matches in the window and not on the table size.',
      ],
      data: { messages, seedMs, items: seed.items, oneDay, oneWeek, everyRule, scan: { summary: scan, items: scanItems, matches: scanMatches } },
    };
  } finally {
    await db.stop();
  }
};
