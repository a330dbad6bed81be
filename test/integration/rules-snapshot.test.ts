/**
 * Issue 13's integration test: 10,000 rules imported, then one edited, one
 * deleted, one invalid item put. After each change the compile step runs as
 * the rules table's stream would run it; the receive side (the rule source
 * buildReceiveDeps gives the receive function, on its own counted clients)
 * sees each change within one cache period, holds the invalid item's
 * bounces, and never Scans the table: while nothing changes it reads one
 * small item per cache period.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbRulesPointer } from '../../lambda/adapters/dynamodb/rules-pointer';
import type { SnapshotRuleSource } from '../../lambda/adapters/snapshot/snapshot-rule-source';
import { compileSnapshot } from '../../lambda/app/compile-snapshot';
import { buildReceiveDeps } from '../../lambda/app/receive-wiring';
import { MetricName } from '../../lambda/commons/metric-names';
import type { RecipientDecision } from '../../lambda/domain/model';
import { factsFor } from '../support/facts';
import { recorder, snapshotRig, type SnapshotRig } from '../support/rules-snapshot';
import { startLocalS3, type LocalS3 } from '../support/s3';

const RULES = 10_000;
const CACHE_MS = 60_000;
const address = (i: number) => `user${i}@corp${i % 50}.example`;

describe('rules snapshot (compile on change, receive reads the pointer)', () => {
  let s3: LocalS3;
  let rig: SnapshotRig;
  let clock: number;
  const log = recorder();
  let rules: SnapshotRuleSource;
  let sqs: SQSClient;
  let reads: ReturnType<SnapshotRig['receiveClients']>['reads'];
  let objects: ReturnType<SnapshotRig['receiveClients']>['s3Requests'];

  beforeAll(async () => {
    s3 = await startLocalS3();
    rig = await snapshotRig(s3);
    clock = Date.now();
    await rig.putMany(
      Array.from({ length: RULES }, (_, i) =>
        i % 10 === 9
          ? { ruleId: `rule-${i}`, recipients: [address(i)], action: 'allow' }
          : { ruleId: `rule-${i}`, recipients: [address(i)], action: 'bounce', bounceType: 'DoesNotExist' },
      ),
    );
    const clients = rig.receiveClients();
    reads = clients.reads;
    objects = clients.s3Requests;
    sqs = new SQSClient({ region: 'eu-west-1' });
    const deps = buildReceiveDeps(rig.config, { ...clients, sqs }, { clock: { now: () => clock }, logger: log.logger, metrics: log.sink });
    rules = deps.rules as SnapshotRuleSource;
  }, 120_000);

  afterAll(async () => {
    sqs.destroy();
    await rig.dispose();
    await s3.stop();
  });

  /** What the stream's event source mapping does after a change: one compile. */
  const compileAfterChange = async () => {
    clock += 1_000;
    const result = await compileSnapshot(rig.compileDeps({ clock: { now: () => clock } }));
    expect(result.published).toBe(true);
    return result;
  };
  const decide = async (...indexes: number[]): Promise<RecipientDecision[]> =>
    (await rules.current()).evaluate(factsFor(indexes.map(address)), new Date(clock));
  /** Lets the cache period end, as a warm function would see it a minute later. */
  const nextPeriod = async () => {
    await rules.whenIdle();
    clock += CACHE_MS;
  };

  it('loads the imported 10,000 rules from the snapshot', async () => {
    const { rules: count } = await compileAfterChange();
    expect(count).toBe(RULES);
    const decisions = await decide(0, 9, 5);
    expect(decisions.map((d) => [d.action, 'ruleId' in d ? d.ruleId : undefined])).toEqual([
      ['bounce', 'rule-0'],
      ['allow', 'rule-9'],
      ['bounce', 'rule-5'],
    ]);
    expect(reads.snapshot().byOperation).toEqual({ GetItem: 1 });
    expect(objects.requests()).toEqual({ GetObject: 1 });
  });

  it('reads one small item per cache period and never Scans while the rules are unchanged', async () => {
    reads.reset();
    objects.reset();
    for (let minute = 0; minute < 30; minute++) {
      await nextPeriod();
      await decide(0);
    }
    await rules.whenIdle();
    expect(reads.snapshot().byOperation).toEqual({ GetItem: 30 });
    expect(objects.requests()).toEqual({});
  });

  it('sees an edit within one cache period of the compile', async () => {
    await rig.put({ ruleId: 'rule-5', recipients: [address(5)], action: 'allow' });
    await compileAfterChange();
    await nextPeriod();
    const [d] = await decide(5);
    expect(d).toEqual({ recipient: address(5), action: 'allow', ruleId: 'rule-5' });
  });

  it('sees a deletion within one cache period of the compile', async () => {
    await rig.remove('rule-0');
    await compileAfterChange();
    await nextPeriod();
    const [d] = await decide(0);
    expect(d).toEqual({ recipient: address(0), action: 'default', defaultAction: 'deliver' });
  });

  it('skips an invalid item, holds the bounces it could cover, and says so in the pointer', async () => {
    await rig.put({ ruleId: 'typo-allow', recipients: [address(1)], action: 'allow', expires: '2030-01-01' });
    const { invalid } = await compileAfterChange();
    expect(invalid).toBe(1);
    await nextPeriod();
    const [held, other] = await decide(1, 2);
    expect(held).toEqual({ recipient: address(1), action: 'default', defaultAction: 'deliver', heldBy: 'typo-allow' });
    expect(other).toMatchObject({ action: 'bounce', ruleId: 'rule-2' });
    const pointer = await new DynamoDbRulesPointer({ client: rig.admin, tableName: rig.config.stateTable, rulesTable: rig.config.rulesTable }).read();
    expect(pointer).toMatchObject({ rules: RULES - 1, invalidCount: 1, invalid: [expect.objectContaining({ ruleId: 'typo-allow', holdsBouncesFor: address(1) })] });
    expect(pointer!.invalid[0].problems[0]).toMatch(/unknown attribute "expires": did you mean "activeUntil"/);
  });

  it('made no Scan of the rules table on the receive side at any point, and never fell back', async () => {
    await rules.whenIdle();
    expect(reads.snapshot().byOperation.Scan).toBeUndefined();
    expect(log.count(MetricName.RulesSnapshotFallback)).toBe(0);
    expect(log.lines.filter((l) => l.message === 'rules loaded').length).toBe(4);
  });
});
