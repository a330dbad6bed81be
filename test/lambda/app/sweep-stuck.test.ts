/**
 * Issue 12, defect 3: nothing swept stuck claims. The sweep reads the state
 * table's sparse open index on DynamoDB Local (never a Scan) and moves what
 * nobody will come back for.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbMessageLedger } from '../../../lambda/adapters/dynamodb/message-ledger';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { sweepStuck, type SweepDeps } from '../../../lambda/app/sweep-stuck';
import { MetricName } from '../../../lambda/commons/metrics';
import { createStateTable } from '../../../local/tables';
import { deleteTable, localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { auditFor, job } from './send-fakes';

const MIN = 60_000;

describe('sweep-stuck', () => {
  let client: DynamoDBClient;
  let table: string;
  const commands: string[] = [];
  let clockMs = Date.now();
  let ledger: DynamoDbMessageLedger;

  beforeAll(async () => {
    client = localDynamoDbClient();
    client.middlewareStack.add((next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize', name: 'commandRecorder' });
    table = uniqueTableName('sweep');
    await createStateTable(client, table);
    ledger = new DynamoDbMessageLedger({ client, tableName: table, now: () => new Date(clockMs) });
  });
  afterAll(async () => {
    await deleteTable(client, table);
    client.destroy();
  });

  function deps(queue: MemoryBounceQueue, metrics: { name: string; value: number }[]): SweepDeps {
    const quiet = () => undefined;
    return {
      ledger,
      stale: ledger,
      queue,
      clock: { now: () => clockMs },
      settings: { pendingStaleMs: 20 * MIN, sendingStaleMs: 5 * MIN },
      metrics: { addMetric: (name, _unit, value) => metrics.push({ name, value }) },
      logger: { info: quiet, warn: quiet, error: quiet },
    };
  }

  /** A claim made `ageMs` ago by the wall clock, for a message received `receivedAgoMs` ago. */
  async function claimAt(id: string, ageMs: number, receivedAgoMs = ageMs + MIN) {
    const now = Date.now();
    const j = job(id, new Date(now - receivedAgoMs).toISOString());
    await ledger.claim(auditFor(j, now - ageMs));
    return j;
  }

  async function sendingSince(id: string, ageMs: number) {
    await claimAt(id, ageMs + MIN);
    clockMs = Date.now() - ageMs;
    await ledger.transition(id, ['PENDING'], 'SENDING');
    clockMs = Date.now();
  }

  it('defect 3: re-enqueues stale pending claims in the window once, expires those past 24 h, marks stale SENDING UNKNOWN, and leaves the rest', async () => {
    clockMs = Date.now();
    await claimAt('fresh-pending', 2 * MIN);
    const lost = await claimAt('lost-pending', 30 * MIN);
    await claimAt('old-pending', 30 * MIN, 24 * 60 * MIN);
    await sendingSince('dead-sending', 10 * MIN);
    await sendingSince('busy-sending', 1 * MIN);
    await claimAt('sent-long-ago', 60 * MIN);
    clockMs = Date.now() - 50 * MIN;
    await ledger.transition('sent-long-ago', ['PENDING'], 'SENDING');
    await ledger.transition('sent-long-ago', ['SENDING'], 'SENT');
    clockMs = Date.now();
    const queue = new MemoryBounceQueue();
    const metrics: { name: string; value: number }[] = [];
    commands.length = 0;

    const report = await sweepStuck(deps(queue, metrics));

    expect(report).toEqual({ requeued: 1, expired: 1, unknown: 1, raced: 0 });
    expect(queue.jobs.map((q) => q.job)).toEqual([lost]);
    expect((await ledger.get('lost-pending'))?.state).toBe('PENDING');
    expect((await ledger.get('old-pending'))?.state).toBe('EXPIRED');
    expect((await ledger.get('dead-sending'))).toMatchObject({ state: 'UNKNOWN', lastError: expect.stringMatching(/not resent/) });
    expect((await ledger.get('busy-sending'))?.state).toBe('SENDING');
    expect((await ledger.get('fresh-pending'))?.state).toBe('PENDING');
    expect((await ledger.get('sent-long-ago'))?.state).toBe('SENT');
    expect(metrics).toEqual(
      expect.arrayContaining([
        { name: MetricName.ClaimsRequeued, value: 1 },
        { name: MetricName.BouncesExpired, value: 1 },
        { name: MetricName.BouncesUnknown, value: 1 },
      ]),
    );
    // The index, never the table.
    expect(commands.filter((c) => c === 'ScanCommand')).toEqual([]);
    expect(commands.filter((c) => c === 'QueryCommand')).toHaveLength(2);

    // The touched claim is not re-enqueued again by the next run.
    const again = await sweepStuck(deps(queue, metrics));
    expect(again).toEqual({ requeued: 0, expired: 0, unknown: 0, raced: 0 });
    expect(queue.jobs).toHaveLength(1);
  });

  it('defect 3: final items leave the open index, so a run reads only what is open', async () => {
    clockMs = Date.now();
    await claimAt('final-1', 40 * MIN);
    clockMs = Date.now() - 35 * MIN;
    await ledger.transition('final-1', ['PENDING'], 'SKIPPED');
    clockMs = Date.now();
    const open = [...(await ledger.stale('PENDING', new Date(clockMs), 1000)), ...(await ledger.stale('SENDING', new Date(clockMs), 1000))];
    expect(open.map((r) => r.messageId)).not.toContain('final-1');
    expect(open.map((r) => r.messageId)).not.toContain('sent-long-ago');
  });
});
