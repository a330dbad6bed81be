import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbMessageLedger, transitionUpdate } from '../../../../lambda/adapters/dynamodb/message-ledger';
import { STATE_PARTITION_KEY } from '../../../../lambda/config/tables';
import type { AuditRecord } from '../../../../lambda/ports';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

function record(messageId: string, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    messageId,
    receivedAt: '2026-11-26T10:00:00.000Z',
    sender: 'alice@sender.example',
    decisions: [
      {
        recipient: 'bob@example.com',
        action: 'bounce',
        ruleId: 'r1',
        bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', explanation: undefined },
      },
      { recipient: 'carol@example.com', action: 'default', defaultAction: 'deliver' },
    ],
    guard: { allowed: true, reasons: [] },
    state: 'PENDING',
    attempts: 0,
    createdAt: '2026-11-26T10:00:01.000Z',
    updatedAt: '2026-11-26T10:00:01.000Z',
    expiresAt: 1_800_000_000,
    ...overrides,
  };
}

describe('message-ledger (dynamodb)', () => {
  let client: DynamoDBClient;
  let table: string;
  let ledger: DynamoDbMessageLedger;
  const now = new Date('2026-11-26T10:05:00.000Z');

  beforeAll(async () => {
    client = localDynamoDbClient();
    table = uniqueTableName('ledger');
    await createTable(client, table, STATE_PARTITION_KEY);
    ledger = new DynamoDbMessageLedger({ client, tableName: table, now: () => now });
  });
  afterAll(async () => {
    await deleteTable(client, table);
    client.destroy();
  });

  describe('claim', () => {
    it('stores the record, maps included and undefined fields left out, when the id is new', async () => {
      await expect(ledger.claim(record('claim-new'))).resolves.toEqual({ claimed: true });
      const stored = await ledger.get('claim-new');
      const { explanation: _, ...bounceWithoutUndefined } = (record('claim-new').decisions[0] as { bounce: object & { explanation?: string } }).bounce;
      expect(stored).toEqual({
        ...record('claim-new'),
        decisions: [{ ...record('claim-new').decisions[0], bounce: bounceWithoutUndefined }, record('claim-new').decisions[1]],
      });
    });

    it('issue 15: keeps drops, shadow matches (on bounce decisions too) and the shadow verdict', async () => {
      const shadow = [{ ruleId: 'try', action: 'bounce' as const }];
      const bounce = { bounceType: 'DoesNotExist' as const, status: '5.1.1', action: 'failed' as const };
      const shadowRecord = record('claim-shadow', {
        state: 'SHADOW',
        decisions: [
          { recipient: 'bob@example.com', action: 'bounce', ruleId: 'r1', bounce, shadow: [{ ruleId: 'try', action: 'drop', stackWide: true }] },
          { recipient: 'trap@example.com', action: 'drop', ruleId: 'trap', shadow },
          { recipient: 'carol@example.com', action: 'default', defaultAction: 'deliver', shadow },
        ],
        shadowVerdict: { guard: { allowed: false, reasons: ['spam-verdict'] }, budget: 'not-checked' },
      });
      await ledger.claim(shadowRecord);
      expect(await ledger.get('claim-shadow')).toEqual(shadowRecord);
    });

    it('returns the existing item and changes nothing when the id is already claimed', async () => {
      await ledger.claim(record('claim-dup', { sender: 'first@example.com' }));
      const second = await ledger.claim(record('claim-dup', { sender: 'second@example.com', state: 'SKIPPED' }));
      expect(second.claimed).toBe(false);
      if (second.claimed) return;
      expect(second.existing.sender).toBe('first@example.com');
      expect(second.existing.state).toBe('PENDING');
      expect(second.existing.decisions).toHaveLength(2);
      expect((await ledger.get('claim-dup'))?.sender).toBe('first@example.com');
    });

    it('lets exactly one of 20 concurrent claims win', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ledger.claim(record('claim-race', { sender: `s${i}@example.com` }))),
      );
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const senders = new Set(results.flatMap((r) => (r.claimed ? [] : [r.existing.sender])));
      // Every loser sees the one winning item.
      expect(senders.size).toBe(1);
      expect((await ledger.get('claim-race'))?.sender).toBe([...senders][0]);
    });
  });

  describe('get', () => {
    it('returns undefined when no item exists', async () => {
      await expect(ledger.get('never-claimed')).resolves.toBeUndefined();
    });
  });

  describe('transition', () => {
    it('moves the state, sets updatedAt and the patch when the state matches', async () => {
      await ledger.claim(record('tr-ok'));
      await expect(ledger.transition('tr-ok', ['PENDING'], 'SENDING')).resolves.toBe(true);
      await expect(ledger.transition('tr-ok', ['SENDING'], 'SENT', { sesBounceMessageId: 'ses-1', attempts: 1 })).resolves.toBe(true);
      const stored = await ledger.get('tr-ok');
      expect(stored).toMatchObject({ state: 'SENT', sesBounceMessageId: 'ses-1', attempts: 1, updatedAt: now.toISOString() });
      expect(stored?.createdAt).toBe('2026-11-26T10:00:01.000Z');
    });

    it('returns false and changes nothing when the state is not one of from', async () => {
      await ledger.claim(record('tr-refused', { state: 'SENT' }));
      await expect(ledger.transition('tr-refused', ['PENDING', 'SENDING'], 'FAILED', { lastError: 'x' })).resolves.toBe(false);
      expect(await ledger.get('tr-refused')).toMatchObject({ state: 'SENT', updatedAt: '2026-11-26T10:00:01.000Z' });
      expect((await ledger.get('tr-refused'))?.lastError).toBeUndefined();
    });

    it('returns false when no item exists, without creating one', async () => {
      await expect(ledger.transition('tr-missing', ['PENDING'], 'SENDING')).resolves.toBe(false);
      await expect(ledger.get('tr-missing')).resolves.toBeUndefined();
    });

    it('accepts any of several source states', async () => {
      await ledger.claim(record('tr-many', { state: 'SENDING' }));
      await expect(ledger.transition('tr-many', ['PENDING', 'SENDING'], 'EXPIRED')).resolves.toBe(true);
    });

    it('lets exactly one of 10 concurrent PENDING → SENDING transitions win', async () => {
      await ledger.claim(record('tr-race'));
      const results = await Promise.all(Array.from({ length: 10 }, () => ledger.transition('tr-race', ['PENDING'], 'SENDING')));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('transitionUpdate', () => {
    it('refuses an empty list of source states', () => {
      expect(() => transitionUpdate('m', [], 'SENT', undefined, now.toISOString())).toThrow(/needs at least one source state/);
    });
  });
});
