import { seedAuditItems, type AuditSeed } from '../../../bench/lib/audit-seed';
import { countDynamoDbItemsRead } from '../../../bench/lib/sdk-edge';
import { parseSince, reportRules, summarize } from '../../../cli/report/rule-report';
import type { RuleIndexEntry } from '../../../lambda/adapters/dynamodb/rule-index';
import { createStateTable } from '../../../local/tables';
import { deleteTable, localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';

const HOUR = 3_600_000;

const entry = (overrides: Partial<RuleIndexEntry>): RuleIndexEntry => ({
  ruleId: 'r',
  messageId: 'm',
  createdAt: '2030-01-01T00:00:00.000Z',
  outcome: 'bounce',
  recipients: 1,
  state: 'PENDING',
  guard: { allowed: true, reasons: [] },
  current: true,
  ...overrides,
});

describe('cli/report/rule-report', () => {
  describe('parseSince', () => {
    it('reads minutes, hours and days, and refuses anything else or more than 90 days', () => {
      expect(parseSince('30m')).toBe(30 * 60_000);
      expect(parseSince('24h')).toBe(24 * HOUR);
      expect(parseSince('7d')).toBe(7 * 24 * HOUR);
      expect(parseSince('90d')).toBe(90 * 24 * HOUR);
      for (const bad of ['91d', '0h', '24', 'h', '1.5h', '-1d', ' 24h', '24H', '1w']) expect(parseSince(bad)).toBeUndefined();
    });
  });

  describe('summarize', () => {
    it('tells bounced from refused, counts shadow refusals by guard reason and budget, and keeps the newest ids', async () => {
      const r = await summarize('r', [
        entry({ messageId: 'm5', createdAt: '2030-01-01T05:00:00.000Z', state: 'SENT' }),
        entry({ messageId: 'm4', createdAt: '2030-01-01T04:00:00.000Z', state: 'SKIPPED', guard: { allowed: false, reasons: ['null-sender'] }, current: false }),
        entry({ messageId: 'm3', outcome: 'would-bounce', state: 'SHADOW', shadowVerdict: { guard: { allowed: false, reasons: ['spam-verdict'] }, budget: 'not-checked' } }),
        entry({ messageId: 'm2', outcome: 'would-bounce', state: 'SHADOW', shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'unavailable' } }),
        entry({ messageId: 'm1', outcome: 'drop', state: 'DROPPED', recipients: 3 }),
      ]);
      expect(r).toEqual({
        ruleId: 'r',
        messages: 5,
        recipients: 7,
        bounced: 1,
        refused: 1,
        refusedBy: { 'null-sender': 1 },
        bouncedStates: { SENT: 1 },
        dropped: 1,
        wouldBounce: 2,
        wouldBounceRefused: 2,
        wouldBounceRefusedBy: { 'spam-verdict': 1, 'budget-unavailable': 1 },
        wouldDrop: 0,
        lastMatch: '2030-01-01T05:00:00.000Z',
        examples: ['m5', 'm4', 'm3'],
        asReceived: 1,
      });
    });

    it('has no last match and no examples for a rule that matched nothing', async () => {
      const r = await summarize('quiet', []);
      expect(r).toMatchObject({ messages: 0, examples: [] });
      expect(r.lastMatch).toBeUndefined();
    });
  });

  // Issue 15: the report stays fast at scale because it reads one rule's
  // entries of the window and nothing else. Seeded once (BatchWriteItem), read
  // by every case below; the time goes in BENCHMARKS.md (`npm run bench -- --only=rule-report`).
  describe('reportRules on a state table of 100,000 audit items', () => {
    const client = localDynamoDbClient();
    const table = uniqueTableName('report-scale');
    let seed: AuditSeed;
    const now = Date.now();

    beforeAll(async () => {
      await createStateTable(client, table);
      seed = await seedAuditItems(client, table, { messages: 100_000, now });
    }, 240_000);
    afterAll(async () => {
      await deleteTable(client, table);
      client.destroy();
    });

    it("reads only that rule's entries of the last 24 h for one rule: Query only, items read = its entries", async () => {
      expect(seed.items).toBe(110_000);
      const counted = localDynamoDbClient();
      const read = countDynamoDbItemsRead(counted);
      const ruleId = seed.ruleIds[3];
      const from = now - 24 * HOUR;
      const expected = seed.entriesSince(ruleId, from);
      // 100,000 messages over 7 days and 20 rules, every 10th with a second rule.
      expect(expected).toBeGreaterThan(700);
      const [report] = await reportRules(counted, table, [ruleId], new Date(from), new Date(now));
      const { items, byOperation } = read.snapshot();
      counted.destroy();
      expect(report.messages).toBe(expected);
      expect(Object.keys(byOperation)).toEqual(['Query']);
      expect(items).toBe(expected);
    });

    it('answers for every rule without a Scan: one Query a rule and day, each reading that rule', async () => {
      const counted = localDynamoDbClient();
      const read = countDynamoDbItemsRead(counted);
      const from = now - 24 * HOUR;
      const reports = await reportRules(counted, table, seed.ruleIds, new Date(from), new Date(now));
      const { items, byOperation } = read.snapshot();
      counted.destroy();
      const expected = seed.ruleIds.map((id) => seed.entriesSince(id, from));
      expect(reports.map((r) => r.messages)).toEqual(expected);
      expect(Object.keys(byOperation)).toEqual(['Query']);
      expect(items).toBe(expected.reduce((a, b) => a + b, 0));
    });
  });
});
