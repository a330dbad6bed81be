import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDbRulesPointer } from '../../../lambda/adapters/dynamodb/rules-pointer';
import { compileSnapshot, pointerInvalidItems, snapshotVersion } from '../../../lambda/app/compile-snapshot';
import { buildCompileDeps } from '../../../lambda/app/compile-wiring';
import { MetricName } from '../../../lambda/commons/metric-names';
import { compileRules } from '../../../lambda/domain/rules';
import { decodeSnapshot } from '../../../lambda/domain/rules/snapshot';
import { localDynamoDbClient } from '../../support/dynamodb';
import { factsFor } from '../../support/facts';
import { recorder, useSnapshotRig } from '../../support/rules-snapshot';

const NOW = new Date(Date.now());

describe('compile-snapshot', () => {
  const local = useSnapshotRig();

  const pointer = () => new DynamoDbRulesPointer({ client: local.rig.admin, tableName: local.rig.config.stateTable, rulesTable: local.rig.config.rulesTable }).read();
  const objectBytes = async (key: string) => {
    const out = await local.s3.client().send(new GetObjectCommand({ Bucket: local.rig.bucket, Key: key }));
    return out.Body!.transformToByteArray();
  };
  const objectKeys = async () => ((await local.s3.client().send(new ListObjectsV2Command({ Bucket: local.rig.bucket }))).Contents ?? []).map((o) => o.Key);

  describe('compileSnapshot', () => {
    it('publishes a snapshot that decides like the Scan path, and a pointer naming it', async () => {
      const items = [
        { ruleId: 'gone', recipients: ['gone@example.com'], action: 'bounce', bounceType: 'DoesNotExist' },
        { ruleId: 'vip', recipients: ['ceo@example.com'], action: 'allow', priority: 1 },
        { ruleId: 'corp', recipients: ['example.com'], action: 'bounce', subject: ['*lottery*'] },
        { ruleId: 'off', recipients: ['off@example.com'], action: 'bounce', enabled: false },
      ];
      for (const item of items) await local.rig.put(item);
      const log = recorder();
      const result = await compileSnapshot(local.rig.compileDeps({ logger: log.logger, metrics: log.sink }));

      expect(result).toMatchObject({ rules: 3, invalid: 0, disabled: 1, published: true });
      const p = await pointer();
      expect(p).toMatchObject({ version: result.version, objectKey: `rules/${result.version}.json.gz`, rules: 3, disabled: 1, invalidCount: 0, invalid: [] });
      const bytes = await objectBytes(p!.objectKey);
      expect(p!.bytes).toBe(bytes.length);
      const facts = factsFor(['gone@example.com', 'ceo@example.com', 'x@example.com', 'off@example.com'], {
        headers: [{ name: 'Subject', value: 'lottery win' }],
      });
      expect(decodeSnapshot(bytes).rules.evaluate(facts, NOW)).toEqual(compileRules(items).rules.evaluate(facts, NOW));
      expect(log.count(MetricName.InvalidRules)).toBe(0);
    });

    it('lists invalid items in the pointer with their reasons and whose bounces they hold, logs and counts them', async () => {
      await local.rig.put({ ruleId: 'ok', recipients: ['example.com'], action: 'bounce' });
      await local.rig.put({ ruleId: 'typo', recipients: ['alice@example.com'], action: 'allow', disabled: true });
      await local.rig.put({ ruleId: 'no-recipients', action: 'bounce' });
      const log = recorder();
      const result = await compileSnapshot(local.rig.compileDeps({ logger: log.logger, metrics: log.sink }));

      expect(result.invalid).toBe(2);
      const p = await pointer();
      expect(p?.invalidCount).toBe(2);
      expect(p?.invalid).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ ruleId: 'typo', problems: [expect.stringMatching(/^disabled: unknown attribute "disabled"/)], holdsBouncesFor: 'alice@example.com' }),
          expect.objectContaining({ ruleId: 'no-recipients', holdsBouncesFor: expect.stringMatching(/every recipient/) }),
        ]),
      );
      expect(log.count(MetricName.InvalidRules)).toBe(2);
      expect(log.lines.filter((l) => l.message === 'invalid rule skipped').map((l) => l.extra?.ruleId).sort()).toEqual(['no-recipients', 'typo']);
      // The snapshot holds the bounces too: alice is not bounced while "typo" is invalid.
      const [alice] = decodeSnapshot(await objectBytes(p!.objectKey)).rules.evaluate(factsFor('alice@example.com'), NOW);
      expect(alice).toMatchObject({ action: 'default', heldBy: 'no-recipients' });
    });

    it('does not replace a pointer from a compile whose scan started later, and removes its own object', async () => {
      await local.rig.put({ ruleId: 'r', recipients: ['example.com'], action: 'bounce' });
      let now = Date.now();
      const later = await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now } }));
      now -= 60_000;
      const earlier = await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now } }));
      expect(later.published).toBe(true);
      expect(earlier.published).toBe(false);
      expect((await pointer())?.version).toBe(later.version);
      expect(await objectKeys()).toEqual([`rules/${later.version}.json.gz`]);
    });

    it('counts InvalidRules only for the compile whose snapshot is in use, not for one a later compile superseded', async () => {
      await local.rig.put({ ruleId: 'typo', recipients: ['alice@example.com'], action: 'allow', disabled: true });
      let now = Date.now();
      const published = recorder();
      await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now }, logger: published.logger, metrics: published.sink }));
      now -= 60_000;
      const superseded = recorder();
      const earlier = await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now }, logger: superseded.logger, metrics: superseded.sink }));
      expect(earlier.published).toBe(false);
      expect(published.count(MetricName.InvalidRules)).toBe(1);
      expect(superseded.count(MetricName.InvalidRules)).toBe(0);
    });

    it('throws when the snapshot cannot be written (no such bucket), leaving the pointer as it was', async () => {
      await local.rig.put({ ruleId: 'r', recipients: ['example.com'], action: 'bounce' });
      const first = await compileSnapshot(local.rig.compileDeps());
      const dynamodb = localDynamoDbClient();
      try {
        const broken = buildCompileDeps({ ...local.rig.config, rulesSnapshotBucket: 'no-such-bucket' }, { dynamodb, s3: local.s3.client() });
        await expect(compileSnapshot(broken)).rejects.toThrow(/NoSuchBucket/);
      } finally {
        dynamodb.destroy();
      }
      expect((await pointer())?.version).toBe(first.version);
    });

    it('marks the older pointer stale when a compile fails, and the next good compile clears it', async () => {
      await local.rig.put({ ruleId: 'r', recipients: ['example.com'], action: 'bounce' });
      let now = Date.now();
      await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now } }));
      now += 1_000;
      const log = recorder();
      const dynamodb = localDynamoDbClient();
      try {
        const broken = buildCompileDeps({ ...local.rig.config, rulesSnapshotBucket: 'no-such-bucket' }, { dynamodb, s3: local.s3.client() }, { clock: { now: () => now }, logger: log.logger });
        await expect(compileSnapshot(broken)).rejects.toThrow(/NoSuchBucket/);
      } finally {
        dynamodb.destroy();
      }
      expect(await pointer()).toMatchObject({ staleSince: new Date(now).toISOString(), staleReason: expect.stringMatching(/NoSuchBucket/) });
      expect(log.lines.some((l) => l.message.startsWith('rules pointer marked stale'))).toBe(true);
      now += 1_000;
      const good = await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now } }));
      const after = await pointer();
      expect(after?.version).toBe(good.version);
      expect(after?.staleSince).toBeUndefined();
    });

    it('does not mark stale a pointer from a scan that started after the failed one', async () => {
      await local.rig.put({ ruleId: 'r', recipients: ['example.com'], action: 'bounce' });
      let now = Date.now();
      await compileSnapshot(local.rig.compileDeps({ clock: { now: () => now } }));
      now -= 5_000;
      const dynamodb = localDynamoDbClient();
      try {
        const broken = buildCompileDeps({ ...local.rig.config, rulesSnapshotBucket: 'no-such-bucket' }, { dynamodb, s3: local.s3.client() }, { clock: { now: () => now } });
        await expect(compileSnapshot(broken)).rejects.toThrow(/NoSuchBucket/);
      } finally {
        dynamodb.destroy();
      }
      expect((await pointer())?.staleSince).toBeUndefined();
    });

    it('reads the rules table with strongly consistent Scans (a compile must see the write that started it)', async () => {
      await local.rig.put({ ruleId: 'r', recipients: ['example.com'], action: 'bounce' });
      const dynamodb = localDynamoDbClient();
      const scans: unknown[] = [];
      dynamodb.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ScanCommand') scans.push((args.input as { ConsistentRead?: boolean }).ConsistentRead);
          return next(args);
        },
        { step: 'initialize', name: 'recordScanInput' },
      );
      try {
        await compileSnapshot(buildCompileDeps(local.rig.config, { dynamodb, s3: local.s3.client() }));
        expect(scans).toEqual([true]);
      } finally {
        dynamodb.destroy();
      }
    });
  });

  describe('pointerInvalidItems', () => {
    it('keeps the pointer small: items while they fit 3,000 bytes, problems clipped, the first always', () => {
      const many = Array.from({ length: 500 }, (_, i) => ({
        ruleId: `bad-${i}`,
        index: 500 - i,
        errors: Array.from({ length: 8 }, (_, j) => ({ field: `f${j}`, reason: 'x'.repeat(1_000) })),
        covers: undefined,
      }));
      const listed = pointerInvalidItems(many);
      expect(listed.length).toBeGreaterThanOrEqual(1);
      expect(listed.length).toBeLessThan(500);
      expect(JSON.stringify(listed.slice(1)).length).toBeLessThanOrEqual(3_000);
      expect(listed[0].index).toBe(1);
      expect(listed[0].problems).toHaveLength(6);
      expect(listed[0].problems[5]).toBe('… and 3 more');
      expect(listed[0].problems[0].length).toBeLessThanOrEqual(300);
    });
  });

  describe('snapshotVersion', () => {
    it('sorts by scan start', () => {
      const t = Date.now();
      const versions = [t + 1_000, t, t + 10].map((ms) => snapshotVersion(ms, 'ffffffff'));
      expect([...versions].sort()).toEqual([versions[1], versions[2], versions[0]]);
    });
  });
});
