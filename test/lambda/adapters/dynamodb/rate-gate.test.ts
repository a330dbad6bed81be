/**
 * The DynamoDB rate gate on DynamoDB Local.
 *
 * @timing-sensitive: asserts real-time spacing of concurrent holders, so it runs
 * after the CPU-heavy suites (test/support/sequencer.js).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbMessageLedger } from '../../../../lambda/adapters/dynamodb/message-ledger';
import { DEFAULT_RESERVE_LEAD_MS, DynamoDbRateGate } from '../../../../lambda/adapters/dynamodb/rate-gate';
import { STATE_PARTITION_KEY } from '../../../../lambda/config/tables';
import { systemClock } from '../../../../lambda/ports/clock';
import type { AuditRecord } from '../../../../lambda/ports';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

function pending(messageId: string): AuditRecord {
  const at = new Date().toISOString();
  return {
    messageId,
    receivedAt: at,
    sender: 'alice@sender.example',
    decisions: [],
    guard: { allowed: true, reasons: [] },
    state: 'PENDING',
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    expiresAt: 1_800_000_000,
  };
}

describe('rate-gate (dynamodb)', () => {
  let client: DynamoDBClient;
  let table: string;
  let ledger: DynamoDbMessageLedger;

  beforeAll(async () => {
    client = localDynamoDbClient();
    table = uniqueTableName('gate');
    await createTable(client, table, STATE_PARTITION_KEY);
    ledger = new DynamoDbMessageLedger({ client, tableName: table });
  });
  afterAll(async () => {
    await deleteTable(client, table);
    client.destroy();
  });

  const gate = (key: string, intervalMs = 1000) => new DynamoDbRateGate({ client, tableName: table, key, intervalMs });

  describe('acquire', () => {
    it('grants an immediate slot when the gate is idle and spaces the next by interval + margin', async () => {
      const g = gate('idle');
      const before = Date.now();
      const first = await g.acquire({ maxWaitMs: 5000 });
      const second = await g.acquire({ maxWaitMs: 5000 });
      if (first.kind !== 'reserved' || second.kind !== 'reserved') throw new Error('expected two reservations');
      expect(first.slot.startAt).toBeGreaterThanOrEqual(before);
      expect(first.slot.startAt).toBeLessThanOrEqual(Date.now() + DEFAULT_RESERVE_LEAD_MS);
      expect(second.slot.startAt).toBe(first.slot.startAt + 1040);
      expect(second.slot.latestStartAt).toBe(second.slot.startAt + 20);
    });

    it('starts an idle-gate slot reserveLeadMs after the read when the gate is idle, so the write cannot make it late', async () => {
      const g = new DynamoDbRateGate({ client, tableName: table, key: 'lead', intervalMs: 1000, reserveLeadMs: 150 });
      const before = Date.now();
      const first = await g.acquire({ maxWaitMs: 0 });
      if (first.kind !== 'reserved') throw new Error('expected a reservation even with maxWaitMs 0');
      expect(first.slot.startAt).toBeGreaterThanOrEqual(before + 150);
    });

    it('reserves nothing and reports the next free slot when it is further than maxWaitMs', async () => {
      const g = gate('full', 5000);
      await g.acquire({ maxWaitMs: 0 });
      const refused = await g.acquire({ maxWaitMs: 1000 });
      expect(refused.kind).toBe('no-slot');
      // Nothing was written: a later acquire gets the same next slot.
      const next = await g.acquire({ maxWaitMs: 10_000 });
      if (refused.kind !== 'no-slot' || next.kind !== 'reserved') throw new Error('unexpected results');
      expect(next.slot.startAt).toBe(refused.nextFreeAt);
    });

    it('moves the message to SENDING in the same write when given a transition', async () => {
      await ledger.claim(pending('gated-1'));
      const result = await gate('tx').acquire({ maxWaitMs: 5000, transition: { messageId: 'gated-1', from: ['PENDING'], to: 'SENDING' } });
      expect(result.kind).toBe('reserved');
      expect((await ledger.get('gated-1'))?.state).toBe('SENDING');
    });

    it('reserves no slot when the transition is refused', async () => {
      const g = gate('tx-refused');
      const first = await g.acquire({ maxWaitMs: 5000 });
      await ledger.claim({ ...pending('gated-2'), state: 'SENT' });
      const refused = await g.acquire({ maxWaitMs: 5000, transition: { messageId: 'gated-2', from: ['PENDING'], to: 'SENDING' } });
      expect(refused).toEqual({ kind: 'transition-refused' });
      expect((await ledger.get('gated-2'))?.state).toBe('SENT');
      const next = await g.acquire({ maxWaitMs: 5000 });
      if (first.kind !== 'reserved' || next.kind !== 'reserved') throw new Error('expected reservations');
      expect(next.slot.startAt).toBe(first.slot.startAt + 1040);
    });

    it('gives exactly one of many concurrent acquirers the message', async () => {
      await ledger.claim(pending('gated-3'));
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          gate('tx-race').acquire({ maxWaitMs: 60_000, transition: { messageId: 'gated-3', from: ['PENDING'], to: 'SENDING' } }),
        ),
      );
      expect(results.filter((r) => r.kind === 'reserved')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'transition-refused')).toHaveLength(5);
    });

    it('keeps the gates of different keys independent', async () => {
      const a = await gate('key-a', 5000).acquire({ maxWaitMs: 0 });
      const b = await gate('key-b', 5000).acquire({ maxWaitMs: 0 });
      expect([a.kind, b.kind]).toEqual(['reserved', 'reserved']);
    });

    it('starts calls of 4 concurrent holders × 4 slots at least the interval apart', async () => {
      const starts: number[] = [];
      const holder = async () => {
        const g = gate('pace'); // one gate object per "instance"
        for (let n = 0; n < 4; ) {
          const result = await g.acquire({ maxWaitMs: 30_000 });
          if (result.kind !== 'reserved') throw new Error(`unexpected ${result.kind}`);
          await systemClock.sleep(result.slot.startAt - Date.now());
          while (Date.now() < result.slot.startAt) await systemClock.sleep(1);
          const startedAt = Date.now();
          if (startedAt > result.slot.latestStartAt) continue; // too late: give the slot up, as the use case does
          starts.push(startedAt);
          n++;
        }
      };
      const began = Date.now();
      await Promise.all([holder(), holder(), holder(), holder()]);
      starts.sort((x, y) => x - y);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]);
      expect(starts).toHaveLength(16);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
      // Close to one per interval + margin under a backlog (generous bound: a loaded CI machine may wake late).
      expect(starts[15] - began).toBeLessThan(16 * 1040 + 3000);
    }, 40_000);
  });
});
