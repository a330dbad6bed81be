import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RulesUnavailableError } from '../../../../lambda/adapters/dynamodb/rule-source';
import { SnapshotRuleSource } from '../../../../lambda/adapters/snapshot/snapshot-rule-source';
import { compileSnapshot } from '../../../../lambda/app/compile-snapshot';
import { buildCompileDeps } from '../../../../lambda/app/compile-wiring';
import { buildRuleSource } from '../../../../lambda/app/receive-wiring';
import { MetricName } from '../../../../lambda/commons/metric-names';
import type { Config } from '../../../../lambda/config/config';
import { factsFor } from '../../../support/facts';
import { recorder, snapshotRig, useSnapshotRig, type Recorded } from '../../../support/rules-snapshot';
import { startLocalS3 } from '../../../support/s3';

const CACHE_MS = 60_000;

describe('snapshot-rule-source', () => {
  const local = useSnapshotRig();
  let clock: number;
  let log: Recorded;

  beforeEach(async () => {
    clock = Date.now();
    log = recorder();
    await local.rig.put({ ruleId: 'gone', recipients: ['gone@example.com'], action: 'bounce', priority: 10 });
    await local.rig.put({ ruleId: 'corp', recipients: ['example.com'], action: 'bounce', bounceType: 'ContentRejected' });
  });

  /** A receive function's rule source, as receive-wiring builds it, on counted clients. */
  function source(config: Config = local.rig.config, extra: { maxStaleMs?: number } = {}) {
    const clients = local.rig.receiveClients();
    const rules = buildRuleSource(config, clients, { cacheMs: CACHE_MS, now: () => clock, logger: log.logger, metrics: log.sink, ...extra }) as SnapshotRuleSource;
    return { rules, reads: clients.reads, s3: clients.s3Requests, client: clients.dynamodb };
  }
  const compile = () => compileSnapshot(local.rig.compileDeps({ clock: { now: () => clock } }));
  const decide = async (s: SnapshotRuleSource, recipient: string) => (await s.current()).evaluate(factsFor(recipient), new Date(clock))[0];
  const fallbacks = () => log.lines.filter((l) => l.message === 'rules snapshot not used; loading rules with a Scan').map((l) => l.extra?.reason);

  describe('with a published snapshot', () => {
    it('loads it with one GetItem and one GetObject, no Scan', async () => {
      const { version } = await compile();
      const s = source();
      expect(await decide(s.rules, 'gone@example.com')).toMatchObject({ action: 'bounce', ruleId: 'gone' });
      expect(s.rules.servedVersion).toBe(version);
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1 });
      expect(s.s3.requests()).toEqual({ GetObject: 1 });
      expect(log.count(MetricName.RulesSnapshotFallback)).toBe(0);
    });

    it('reads only the pointer once per cache period while the rules are unchanged', async () => {
      await compile();
      const s = source();
      await s.rules.current();
      s.reads.reset();
      s.s3.reset();
      for (let minute = 1; minute <= 10; minute++) {
        clock += CACHE_MS;
        await s.rules.current();
        await s.rules.whenIdle();
      }
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 10 });
      expect(s.s3.requests()).toEqual({});
    });

    it('fetches the snapshot again only when the pointer names a new version, and applies the edit', async () => {
      await compile();
      const s = source();
      expect(await decide(s.rules, 'vip@example.com')).toMatchObject({ action: 'bounce', ruleId: 'corp' });
      await local.rig.put({ ruleId: 'vip', recipients: ['vip@example.com'], action: 'allow', priority: 1 });
      clock += 1_000;
      const { version } = await compile();
      s.s3.reset();
      clock += CACHE_MS;
      expect(await decide(s.rules, 'vip@example.com')).toMatchObject({ action: 'allow', ruleId: 'vip' });
      expect(s.rules.servedVersion).toBe(version);
      expect(s.s3.requests()).toEqual({ GetObject: 1 });
      expect(s.reads.snapshot().byOperation.Scan).toBeUndefined();
    });

    it('refreshes ahead of expiry in the background, serving the current rules at once', async () => {
      await compile();
      const s = source();
      await s.rules.current();
      s.reads.reset();
      clock += CACHE_MS - 1_000; // within the last quarter of the cache period
      await s.rules.current();
      await s.rules.whenIdle();
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1 });
      clock += 2_000; // past the first expiry, within the refreshed period: nothing read
      await s.rules.current();
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1 });
    });
  });

  describe('falls back to the Scan path, counted and logged', () => {
    it('when no compile has published a pointer yet', async () => {
      const s = source();
      expect(await decide(s.rules, 'gone@example.com')).toMatchObject({ action: 'bounce', ruleId: 'gone' });
      expect(fallbacks()).toEqual(['no-pointer']);
      expect(log.count(MetricName.RulesSnapshotFallback)).toBe(1);
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1, Scan: 1 });
      expect(s.rules.servedVersion).toBeUndefined();
    });

    it('when the snapshot object is missing', async () => {
      const { version } = await compile();
      await local.s3.client().send(new DeleteObjectCommand({ Bucket: local.rig.bucket, Key: `rules/${version}.json.gz` }));
      const s = source();
      expect(await decide(s.rules, 'x@example.com')).toMatchObject({ action: 'bounce', ruleId: 'corp' });
      expect(fallbacks()).toEqual(['snapshot-unreadable']);
      expect(log.lines.find((l) => l.extra?.reason === 'snapshot-unreadable')?.extra?.error).toMatch(/NoSuchKey/);
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1, Scan: 1 });
    });

    it('when the snapshot object is corrupt', async () => {
      const { version } = await compile();
      await local.s3.client().send(new PutObjectCommand({ Bucket: local.rig.bucket, Key: `rules/${version}.json.gz`, Body: 'not gzip at all' }));
      const s = source();
      expect(await decide(s.rules, 'gone@example.com')).toMatchObject({ action: 'bounce', ruleId: 'gone' });
      expect(fallbacks()).toEqual(['snapshot-undecodable']);
      expect(log.lines.find((l) => l.extra?.reason === 'snapshot-undecodable')?.extra?.error).toMatch(/SnapshotFormatError: .*not gzip data/);
    });

    it('when the pointer cannot be read (the state table is gone)', async () => {
      await compile();
      await local.rig.admin.send(new DeleteTableCommand({ TableName: local.rig.config.stateTable }));
      const s = source();
      expect(await decide(s.rules, 'gone@example.com')).toMatchObject({ action: 'bounce', ruleId: 'gone' });
      expect(fallbacks()).toEqual(['pointer-unreadable']);
    });

    it('when a failed compile marked the pointer stale, so an edit the snapshot lacks still applies', async () => {
      await compile();
      await local.rig.put({ ruleId: 'vip', recipients: ['vip@example.com'], action: 'allow', priority: 1 });
      clock += 1_000;
      const clients = local.rig.receiveClients();
      await expect(
        compileSnapshot(buildCompileDeps({ ...local.rig.config, rulesSnapshotBucket: 'no-such-bucket' }, clients, { clock: { now: () => clock }, logger: log.logger })),
      ).rejects.toThrow(/NoSuchBucket/);
      const s = source();
      expect(await decide(s.rules, 'vip@example.com')).toMatchObject({ action: 'allow', ruleId: 'vip' });
      expect(fallbacks()).toEqual(['pointer-stale']);
      expect(log.count(MetricName.RulesSnapshotFallback)).toBe(1);
    });

    it('when the snapshot store is down (S3 stopped)', async () => {
      const other = await startLocalS3();
      const downRig = await snapshotRig(other);
      try {
        await downRig.put({ ruleId: 'gone', recipients: ['gone@example.com'], action: 'bounce' });
        await compileSnapshot(downRig.compileDeps());
        const clients = downRig.receiveClients();
        await other.stop();
        const s = buildRuleSource(downRig.config, clients, { cacheMs: CACHE_MS, logger: log.logger, metrics: log.sink });
        const [d] = (await s.current()).evaluate(factsFor('gone@example.com'), new Date());
        expect(d).toMatchObject({ action: 'bounce', ruleId: 'gone' });
        expect(fallbacks()).toEqual(['snapshot-unreadable']);
      } finally {
        await downRig.dispose();
      }
    });

    it('and tries the snapshot again at the next period, without a Scan once it is readable', async () => {
      const { version } = await compile();
      await local.s3.client().send(new DeleteObjectCommand({ Bucket: local.rig.bucket, Key: `rules/${version}.json.gz` }));
      const s = source();
      await s.rules.current();
      expect(fallbacks()).toEqual(['snapshot-unreadable']);
      clock += 1_000;
      await compile();
      s.reads.reset();
      clock += CACHE_MS;
      await s.rules.current();
      expect(s.reads.snapshot().byOperation).toEqual({ GetItem: 1 });
      expect(s.rules.servedVersion).toBeDefined();
      expect(fallbacks()).toEqual(['snapshot-unreadable']);
    });
  });

  describe('never widens a bounce', () => {
    it('holds the bounces of an invalid item from the snapshot exactly as on the Scan path', async () => {
      await local.rig.put({ ruleId: 'broken-allow', recipients: ['alice@example.com'], action: 'allow', expires: '2030-01-01' });
      await compile();
      const snapshot = source();
      const scan = source({ ...local.rig.config, rulesSnapshotBucket: undefined });
      for (const s of [snapshot.rules, scan.rules]) {
        expect(await decide(s as SnapshotRuleSource, 'alice@example.com')).toMatchObject({ action: 'default', heldBy: 'broken-allow' });
        expect(await decide(s as SnapshotRuleSource, 'bob@example.com')).toMatchObject({ action: 'bounce', ruleId: 'corp' });
      }
      expect(snapshot.rules.servedVersion).toBeDefined();
    });
  });

  describe('when nothing can be read', () => {
    it('serves the last rules up to maxStaleMs past the cache period, then throws RulesUnavailableError', async () => {
      await compile();
      const s = source(local.rig.config, { maxStaleMs: 5 * 60_000 });
      await s.rules.current();
      await deleteBoth(local.rig.admin, local.rig.config);
      clock += CACHE_MS;
      expect(await decide(s.rules, 'gone@example.com')).toMatchObject({ action: 'bounce', ruleId: 'gone' });
      expect(log.lines.some((l) => l.level === 'error' && l.message === 'rules reload failed; serving the previous rules')).toBe(true);
      clock += 5 * 60_000;
      await s.rules.whenIdle();
      await expect(s.rules.current()).rejects.toThrow(RulesUnavailableError);
    });
  });
});

async function deleteBoth(client: DynamoDBClient, config: Config): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: config.stateTable }));
  await client.send(new DeleteTableCommand({ TableName: config.rulesTable }));
}

