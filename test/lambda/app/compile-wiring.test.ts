import { ValidationError, ConfigError } from '../../../lambda/commons/errors';
import { buildCompileDeps, createCompileHandler } from '../../../lambda/app/compile-wiring';
import { DynamoDbRulesPointer } from '../../../lambda/adapters/dynamodb/rules-pointer';
import { lambdaContext } from '../../support/lambda-context';
import { recorder, useSnapshotRig } from '../../support/rules-snapshot';

/** A DynamoDB Streams record as Lambda's event source mapping hands it over (KEYS_ONLY view). */
const streamRecord = (ruleId: string, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'INSERT') => ({
  eventID: `${ruleId}-${eventName}`,
  eventName,
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: { Keys: { ruleId: { S: ruleId } }, SequenceNumber: '1', SizeBytes: 20, StreamViewType: 'KEYS_ONLY' },
});

describe('compile-wiring', () => {
  const local = useSnapshotRig();
  const silentContext = { addContext() {}, appendKeys() {}, removeKeys() {}, setCorrelationId() {} };
  const coldStart = { captureColdStartMetric() {} };

  describe('buildCompileDeps', () => {
    it('refuses a config without RULES_SNAPSHOT_BUCKET', () => {
      expect(() => buildCompileDeps({ ...local.rig.config, rulesSnapshotBucket: undefined }, local.rig.receiveClients())).toThrow(ConfigError);
    });
  });

  describe('createCompileHandler', () => {
    it('compiles once for a whole batch of stream records, whatever they say', async () => {
      for (let i = 0; i < 30; i++) await local.rig.put({ ruleId: `r${i}`, recipients: [`u${i}@example.com`], action: 'bounce' });
      const log = recorder();
      const clients = local.rig.receiveClients();
      const handler = createCompileHandler(buildCompileDeps(local.rig.config, clients, { logger: log.logger, metrics: log.sink }), { logContext: silentContext, coldStart });
      const records = [...Array.from({ length: 30 }, (_, i) => streamRecord(`r${i}`)), streamRecord('r3', 'MODIFY'), streamRecord('old', 'REMOVE')];

      const result = await handler({ Records: records }, lambdaContext());

      expect(result).toMatchObject({ rules: 30, invalid: 0, published: true });
      // Counted at the SDK edge: one Scan of the (one-page) table, one object, one pointer write.
      expect(clients.reads.snapshot().byOperation).toEqual({ Scan: 1, PutItem: 1 });
      expect(clients.s3Requests.requests()).toEqual({ PutObject: 1 });
      expect((await new DynamoDbRulesPointer({ client: local.rig.admin, tableName: local.rig.config.stateTable, rulesTable: local.rig.config.rulesTable }).read())?.version).toBe(result.version);
      const compiled = log.lines.find((l) => l.message === 'rules compiled')?.extra;
      expect(compiled).toMatchObject({ records: 32, rules: 30, snapshotVersion: result.version });
      // `version` on a log line is the package version: the snapshot's must not overwrite it.
      expect(compiled).not.toHaveProperty('version');
    });

    it('refuses an event that is not a stream batch with ValidationError, compiling nothing', async () => {
      const handler = createCompileHandler(local.rig.compileDeps(), { logContext: silentContext, coldStart });
      await expect(handler({ detail: 'scheduled' })).rejects.toThrow(ValidationError);
      await expect(new DynamoDbRulesPointer({ client: local.rig.admin, tableName: local.rig.config.stateTable, rulesTable: local.rig.config.rulesTable }).read()).resolves.toBeUndefined();
    });

    it('throws when the compile fails, so the event source mapping retries the batch, and logs why', async () => {
      const log = recorder();
      const deps = buildCompileDeps({ ...local.rig.config, rulesTable: 'no-such-rules-table' }, local.rig.receiveClients(), { logger: log.logger, metrics: log.sink });
      const flushed: number[] = [];
      const handler = createCompileHandler(deps, { logContext: silentContext, coldStart, flush: () => flushed.push(1) });
      await expect(handler({ Records: [streamRecord('r1')] })).rejects.toThrow(/ResourceNotFoundException|non-existent table/);
      expect(log.lines.find((l) => l.message === 'rules compile failed')).toMatchObject({ level: 'error', extra: { records: 1 } });
      expect(flushed).toEqual([1]);
    });
  });
});
