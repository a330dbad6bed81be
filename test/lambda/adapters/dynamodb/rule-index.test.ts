import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { countDynamoDbRequests } from '../../../../bench/lib/sdk-edge';
import { DynamoDbMessageLedger, stateDocumentClient } from '../../../../lambda/adapters/dynamodb/message-ledger';
import {
  daysBetween,
  MAX_INDEXED_RULES,
  ruleMatches,
  RuleIndexReader,
  type RuleIndexEntry,
} from '../../../../lambda/adapters/dynamodb/rule-index';
import type { RecipientDecision } from '../../../../lambda/domain/model';
import type { AuditRecord } from '../../../../lambda/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../../local/dynamodb/dynamodb-local';
import { createStateTable } from '../../../../local/tables';
import { deleteTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';
import { FaultProxy } from '../../../support/fault-proxy';
import { decidedRecord } from '../../../support/audit';

const SPEC = { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } as const;
const bounce = (recipient: string, ruleId: string, shadow?: { ruleId: string; action: 'bounce' | 'drop' }[]): RecipientDecision => ({
  recipient,
  action: 'bounce',
  ruleId,
  bounce: SPEC,
  ...(shadow ? { shadow } : {}),
});
const drop = (recipient: string, ruleId: string): RecipientDecision => ({ recipient, action: 'drop', ruleId });
const deliver = (recipient: string, shadow?: { ruleId: string; action: 'bounce' | 'drop' }[]): RecipientDecision => ({
  recipient,
  action: 'default',
  defaultAction: 'deliver',
  ...(shadow ? { shadow } : {}),
});

/** A record decided `agoMs` before now (test/support/audit). */
const record = (messageId: string, decisions: RecipientDecision[], overrides: Partial<AuditRecord> = {}, agoMs = 60_000): AuditRecord =>
  decidedRecord(messageId, decisions, agoMs, overrides);

async function collect(reader: RuleIndexReader, ruleId: string, from: Date, to = new Date()): Promise<RuleIndexEntry[]> {
  const out: RuleIndexEntry[] = [];
  for await (const e of reader.entries(ruleId, from, to)) out.push(e);
  return out;
}

describe('rule-index (dynamodb)', () => {
  describe('ruleMatches', () => {
    it('lists each rule once, bounce rules first, then drops, then shadow matches, counting recipients', () => {
      const matches = ruleMatches({
        decisions: [
          deliver('a@example.com', [{ ruleId: 'trial', action: 'bounce' }]),
          drop('trap@example.com', 'traps'),
          bounce('b@example.com', 'gone', [{ ruleId: 'trial', action: 'bounce' }]),
          bounce('c@example.com', 'gone'),
          deliver('d@example.com', [{ ruleId: 'maybe-drop', action: 'drop' }]),
        ],
      });
      expect(matches).toEqual([
        { ruleId: 'gone', outcome: 'bounce', recipients: 2 },
        { ruleId: 'traps', outcome: 'drop', recipients: 1 },
        { ruleId: 'trial', outcome: 'would-bounce', recipients: 2 },
        { ruleId: 'maybe-drop', outcome: 'would-drop', recipients: 1 },
      ]);
    });

    it('indexes nothing for a message whose rules only allowed or deferred', () => {
      expect(ruleMatches({ decisions: [{ recipient: 'a@example.com', action: 'allow', ruleId: 'ok' }, deliver('b@example.com')] })).toEqual([]);
    });

    it(`indexes at most ${MAX_INDEXED_RULES} rules of one message, keeping the bounce rules`, () => {
      const decisions = Array.from({ length: 40 }, (_, i) => (i < 30 ? deliver(`s${i}@example.com`, [{ ruleId: `shadow-${i}`, action: 'bounce' }]) : bounce(`b${i}@example.com`, `rule-${i}`)));
      const matches = ruleMatches({ decisions });
      expect(matches).toHaveLength(MAX_INDEXED_RULES);
      expect(matches.slice(0, 10).every((m) => m.outcome === 'bounce')).toBe(true);
    });
  });

  describe('daysBetween', () => {
    it('names each UTC day of the window, oldest first', () => {
      const to = new Date(Date.UTC(2030, 0, 2, 1, 0));
      expect(daysBetween(new Date(to.getTime() - 24 * 3_600_000), to)).toEqual(['2030-01-01', '2030-01-02']);
      expect(daysBetween(to, to)).toEqual(['2030-01-02']);
    });
  });

  describe('claim and read back, on DynamoDB Local', () => {
    let client: DynamoDBClient;
    let table: string;
    let ledger: DynamoDbMessageLedger;
    let reader: RuleIndexReader;
    const counter = () => countDynamoDbRequests(client);
    let counts: ReturnType<typeof countDynamoDbRequests>;
    const hourAgo = () => new Date(Date.now() - 3_600_000);

    beforeAll(async () => {
      client = localDynamoDbClient();
      counts = counter();
      table = uniqueTableName('rule-index');
      await createStateTable(client, table);
      ledger = new DynamoDbMessageLedger({ client, tableName: table });
      reader = new RuleIndexReader({ doc: stateDocumentClient(client), tableName: table });
    });
    afterAll(async () => {
      await deleteTable(client, table);
      client.destroy();
    });
    beforeEach(() => counts.reset());

    it('indexes a message with one rule on its audit item alone: one write, and the entry follows the state', async () => {
      await ledger.claim(record('one-rule', [bounce('a@example.com', 'only'), deliver('b@example.com')]));
      expect(counts.snapshot().byOperation).toEqual({ PutItem: 1 });
      const [entry] = await collect(reader, 'only', hourAgo());
      expect(entry).toMatchObject({ messageId: 'one-rule', outcome: 'bounce', recipients: 1, state: 'PENDING', current: true });
      await ledger.transition('one-rule', ['PENDING'], 'SENDING');
      await ledger.transition('one-rule', ['SENDING'], 'SENT', { sesBounceMessageId: 'ses-1' });
      expect((await collect(reader, 'only', hourAgo())).map((e) => e.state)).toEqual(['SENT']);
      // The audit record read back carries no index attribute.
      expect(Object.keys((await ledger.get('one-rule')) ?? {})).not.toContain('ruleKey');
    });

    it('counts a message under each of its rules: further rules in one batch of small items expiring with the audit item', async () => {
      const r = record(
        'three-rules',
        [bounce('a@example.com', 'gone'), drop('trap@example.com', 'traps'), deliver('c@example.com', [{ ruleId: 'trial', action: 'bounce' }])],
        { state: 'SKIPPED', guard: { allowed: false, reasons: ['auto-submitted'] } },
      );
      await ledger.claim(r);
      expect(counts.snapshot().byOperation).toEqual({ PutItem: 1, BatchWriteItem: 1 });
      const read = async (ruleId: string) => (await collect(reader, ruleId, hourAgo())).filter((e) => e.messageId === 'three-rules');
      expect(await read('gone')).toEqual([expect.objectContaining({ outcome: 'bounce', state: 'SKIPPED', guard: r.guard, current: true })]);
      expect(await read('traps')).toEqual([expect.objectContaining({ outcome: 'drop', state: 'SKIPPED', current: false })]);
      expect(await read('trial')).toEqual([expect.objectContaining({ outcome: 'would-bounce', recipients: 1, current: false })]);
      const further = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'match#three-rules#1' } } }));
      expect(further.Item?.expiresAt).toEqual({ N: String(r.expiresAt) });
      expect(further.Item?.decisions).toBeUndefined();
    });

    it('records what the guard and the budget would have said on a shadow-only message', async () => {
      const shadowVerdict = { guard: { allowed: true, reasons: [] }, budget: 'spent' as const };
      await ledger.claim(
        record('shadow-only', [deliver('a@example.com', [{ ruleId: 'trial-2', action: 'bounce' }, { ruleId: 'trial-3', action: 'drop' }])], { state: 'SHADOW', shadowVerdict }),
      );
      const [first] = await collect(reader, 'trial-2', hourAgo());
      const [second] = await collect(reader, 'trial-3', hourAgo());
      expect(first).toMatchObject({ outcome: 'would-bounce', state: 'SHADOW', shadowVerdict });
      expect(second).toMatchObject({ outcome: 'would-drop', state: 'SHADOW', shadowVerdict });
    });

    it('writes no further item for a claim it lost', async () => {
      await ledger.claim(record('lost', [bounce('a@example.com', 'x1')]));
      counts.reset();
      const second = await ledger.claim(record('lost', [bounce('a@example.com', 'x1'), bounce('b@example.com', 'x2')]));
      expect(second.claimed).toBe(false);
      expect(counts.snapshot().byOperation).toEqual({ PutItem: 1 });
      expect(await collect(reader, 'x2', hourAgo())).toEqual([]);
    });

    it("reads only the window's entries of the rule: one Query per UTC day, newest first", async () => {
      const ago = (h: number) => h * 3_600_000;
      await ledger.claim(record('w-old', [bounce('a@example.com', 'window')], {}, ago(30)));
      await ledger.claim(record('w-mid', [bounce('a@example.com', 'window')], {}, ago(20)));
      await ledger.claim(record('w-new', [bounce('a@example.com', 'window')], {}, ago(1)));
      await ledger.claim(record('w-other', [bounce('a@example.com', 'window-2')], {}, ago(1)));
      counts.reset();
      const to = new Date();
      const from = new Date(to.getTime() - ago(24));
      const entries = await collect(reader, 'window', from, to);
      expect(entries.map((e) => e.messageId)).toEqual(['w-new', 'w-mid']);
      expect(counts.snapshot().byOperation).toEqual({ Query: daysBetween(from, to).length });
    });

    it('still answers the claim when the batch of further items loses every answer, and says so in the log', async () => {
      const proxy = await FaultProxy.start(dynamoDbEndpoint());
      const faulty = new DynamoDBClient({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
      const warnings: string[] = [];
      const lost: [string, number][] = [];
      const l = new DynamoDbMessageLedger({
        client: faulty,
        tableName: table,
        logger: { warn: (m) => warnings.push(m) },
        metrics: { addMetric: (name, _unit, value) => lost.push([name, value]) },
      });
      try {
        proxy.arm({ mode: 'reset', match: /BatchWriteItem/, times: 2 });
        await expect(l.claim(record('batch-fault', [bounce('a@example.com', 'f1'), bounce('b@example.com', 'f2')]))).resolves.toEqual({ claimed: true });
        expect(warnings).toEqual([expect.stringMatching(/^rule index: entries not written/)]);
        // Counted too: the dashboard shows the report is short (one further rule, f2).
        expect(lost).toEqual([['RuleIndexEntriesLost', 1]]);
        expect((await ledger.get('batch-fault'))?.state).toBe('PENDING');
      } finally {
        faulty.destroy();
        await proxy.close();
      }
    });
  });
});
