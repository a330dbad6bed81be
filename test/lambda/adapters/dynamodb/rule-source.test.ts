import { DeleteItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRuleSource, RulesUnavailableError, type RuleSourceLogger } from '../../../../lambda/adapters/dynamodb/rule-source';
import { factsFor } from '../../../support/facts';
import { createTable, deleteTable, localDynamoDbClient, uniqueTableName } from '../../../support/dynamodb';

const NOW = new Date('2026-06-01T12:00:00Z');

/** What an operator types: DynamoDB JSON through plain PutItem. */
const operatorItem = (ruleId: string, recipients: string[], extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  ruleId: { S: ruleId },
  recipients: { SS: recipients },
  action: { S: 'bounce' },
  ...extra,
});

function recordingLogger() {
  const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const logger: RuleSourceLogger = {
    info: (message, extra) => lines.push({ level: 'info', message, extra }),
    warn: (message, extra) => lines.push({ level: 'warn', message, extra }),
    error: (message, extra) => lines.push({ level: 'error', message, extra }),
  };
  return { logger, lines };
}

function recordingMetrics() {
  const values: { name: string; value: number }[] = [];
  return { metrics: { addMetric: (name: string, _unit: unknown, value: number) => values.push({ name, value }) }, values };
}

/** Counts Scan requests sent through the client. */
function countScans(client: DynamoDBClient): () => number {
  let scans = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ScanCommand') scans++;
      return next(args);
    },
    { step: 'initialize', name: `countScans${Math.random()}` },
  );
  return () => scans;
}

describe('rule-source', () => {
  let client: DynamoDBClient;
  let table: string;
  let clock: number;
  const put = (item: Record<string, AttributeValue>) => client.send(new PutItemCommand({ TableName: table, Item: item }));

  beforeEach(async () => {
    client = localDynamoDbClient();
    table = uniqueTableName('rules');
    await createTable(client, table, 'ruleId');
    clock = 1_000_000;
  });

  afterEach(async () => {
    await deleteTable(client, table);
    client.destroy();
  });

  const source = (extra: Partial<ConstructorParameters<typeof DynamoDbRuleSource>[0]> = {}) => {
    const log = recordingLogger();
    const m = recordingMetrics();
    const s = new DynamoDbRuleSource({ client, tableName: table, cacheMs: 60_000, now: () => clock, logger: log.logger, metrics: m.metrics, ...extra });
    return { s, lines: log.lines, metrics: m.values };
  };

  describe('DynamoDbRuleSource.current', () => {
    it('loads items written with PutItem in DynamoDB JSON and evaluates them', async () => {
      await put(operatorItem('former', ['former@example.com'], { priority: { N: '10' }, bounceType: { S: 'DoesNotExist' }, enabled: { BOOL: true } }));
      await put(operatorItem('retired', ['old.example'], { recipients: { L: [{ S: 'old.example' }] }, status: { S: '5.1.2' } }));
      const rules = await source().s.current();
      expect(rules.size).toBe(2);
      expect(rules.evaluate(factsFor(['Former@example.com', 'x@old.example', 'y@example.com']), NOW)).toEqual([
        expect.objectContaining({ action: 'bounce', ruleId: 'former' }),
        expect.objectContaining({ action: 'bounce', ruleId: 'retired', bounce: expect.objectContaining({ status: '5.1.2' }) }),
        expect.objectContaining({ action: 'default' }),
      ]);
    });

    it('reads every page of a table larger than one Scan page', async () => {
      // Scan pages stop at 1 MB: 150 items of ~10 KB (an ignored `notes` attribute) need two pages.
      const padding = { notes: { S: 'x'.repeat(10_000) } };
      for (let i = 0; i < 150; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => put(operatorItem(`r${i + j}`, [`u${i + j}@example.com`], padding))));
      }
      let pages = 0;
      client.middlewareStack.add((next) => async (args) => {
        pages++;
        return next(args);
      }, { step: 'initialize', name: 'countPages' });
      expect((await source().s.current()).size).toBe(150);
      expect(pages).toBeGreaterThan(1);
    });

    it('skips, logs once per load and counts invalid items, keeping the valid ones', async () => {
      await put(operatorItem('good', ['a@example.com']));
      await put(operatorItem('bad-type', ['b@example.com'], { bounceType: { S: 'Gone' } }));
      await put({ ruleId: { S: 'no-action' }, recipients: { SS: ['c@example.com'] } });
      const { s, lines, metrics } = source();
      const rules = await s.current();
      await s.current();
      expect(rules.size).toBe(1);
      const warned = lines.filter((l) => l.message === 'invalid rule skipped').map((l) => l.extra?.ruleId).sort();
      expect(warned).toEqual(['bad-type', 'no-action']);
      expect(lines.find((l) => l.extra?.ruleId === 'bad-type')?.extra?.problems).toEqual([expect.stringMatching(/^bounceType: /)]);
      expect(metrics).toEqual([{ name: 'InvalidRules', value: 2 }]);
    });

    it('serves the cached rules until the cache time has passed, then the edited ones', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const { s } = source({ refreshAheadMs: 0 });
      expect((await s.current()).evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('bounce');
      await put({ ...operatorItem('r', ['a@example.com']), action: { S: 'allow' } });
      clock += 59_999;
      expect((await s.current()).evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('bounce');
      clock += 1;
      expect((await s.current()).evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('allow');
    });

    it('drops a deleted rule after the cache time and the refresh', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const { s } = source();
      expect((await s.current()).size).toBe(1);
      await client.send(new DeleteItemCommand({ TableName: table, Key: { ruleId: { S: 'r' } } }));
      clock += 60_000;
      expect((await s.current()).size).toBe(0);
    });

    it('refreshes in the background in the last quarter of the cache time, once however many callers', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const scans = countScans(client);
      const { s } = source();
      const first = await s.current();
      await put({ ...operatorItem('r', ['a@example.com']), action: { S: 'allow' } });
      clock += 44_999;
      await s.current();
      await s.whenIdle();
      expect(scans()).toBe(1);
      clock += 1;
      // Before any Scan can answer, every caller gets the compiled set it already had.
      const answers = await Promise.all(Array.from({ length: 10 }, () => s.current()));
      expect(answers.every((a) => a === first)).toBe(true);
      await s.whenIdle();
      expect(scans()).toBe(2);
      const refreshed = await s.current();
      expect(refreshed).not.toBe(first);
      expect(refreshed.evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('allow');
      // Fresh again: no further Scan until the next refresh window.
      clock += 44_999;
      await s.current();
      await s.whenIdle();
      expect(scans()).toBe(2);
    });

    it('never serves rules older than the cache time: an idle function waits for the reload', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const scans = countScans(client);
      const { s } = source();
      await s.current();
      await put({ ...operatorItem('r', ['a@example.com']), action: { S: 'allow' } });
      clock += 10 * 60_000;
      expect((await s.current()).evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('allow');
      expect(scans()).toBe(2);
    });

    it('starts no background refresh when refreshAheadMs is 0', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const scans = countScans(client);
      const { s } = source({ refreshAheadMs: 0 });
      await s.current();
      clock += 59_999;
      await s.current();
      await s.whenIdle();
      expect(scans()).toBe(1);
    });

    it('loads for every call when cacheMs is 0 (no background refresh)', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const { s } = source({ cacheMs: 0 });
      await s.current();
      await put({ ...operatorItem('r', ['a@example.com']), action: { S: 'allow' } });
      expect((await s.current()).evaluate(factsFor(['a@example.com']), NOW)[0].action).toBe('allow');
    });

    it('shares one load between concurrent callers', async () => {
      await put(operatorItem('r', ['a@example.com']));
      let scans = 0;
      client.middlewareStack.add((next) => async (args) => {
        scans++;
        return next(args);
      }, { step: 'initialize', name: 'countScans' });
      const { s } = source();
      const all = await Promise.all(Array.from({ length: 10 }, () => s.current()));
      expect(scans).toBe(1);
      expect(new Set(all).size).toBe(1);
    });

    it('keeps serving the previous rules, and logs, when a reload fails', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const { s, lines } = source({ maxStaleMs: 300_000 });
      const first = await s.current();
      await deleteTable(client, table);
      clock += 60_000;
      expect(await s.current()).toBe(first);
      await s.whenIdle();
      expect(lines.some((l) => l.level === 'error' && l.message.includes('serving the previous rules'))).toBe(true);
      await createTable(client, table, 'ruleId');
    });

    it('serves stale rules up to maxStaleMs while reloads fail, retrying in the background every retryMs', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const scans = countScans(client);
      const { s } = source({ maxStaleMs: 300_000, retryMs: 10_000 });
      const first = await s.current();
      await deleteTable(client, table);
      clock += 60_000;
      expect(await s.current()).toBe(first);
      await s.whenIdle();
      expect(scans()).toBe(2);
      // Within retryMs of the failure: no new attempt.
      clock += 9_999;
      expect(await s.current()).toBe(first);
      await s.whenIdle();
      expect(scans()).toBe(2);
      // Well past the cache time but within maxStaleMs, failing: still served, and retried.
      clock += 200_000;
      expect(await s.current()).toBe(first);
      await s.whenIdle();
      expect(scans()).toBe(3);
      await createTable(client, table, 'ruleId');
    });

    it('gives up on stale rules after maxStaleMs and throws a named error', async () => {
      await put(operatorItem('r', ['a@example.com']));
      const { s } = source({ maxStaleMs: 300_000 });
      await s.current();
      await deleteTable(client, table);
      clock += 60_000 + 300_000;
      await expect(s.current()).rejects.toBeInstanceOf(RulesUnavailableError);
      await createTable(client, table, 'ruleId');
    });

    it('throws a named error quoting the table when the first load fails', async () => {
      const s = new DynamoDbRuleSource({ client, tableName: 'no-such-table', cacheMs: 60_000, logger: recordingLogger().logger, metrics: recordingMetrics().metrics });
      await expect(s.current()).rejects.toThrow(/cannot load rules from table "no-such-table"/);
    });
  });
  describe('defect 5: an invalid allow rule never lets a wrong bounce through', () => {
    const catchAll = operatorItem('catch-all', ['*@example.com'], { priority: { N: '500' } });

    it('reads enabled typed as the string "true" in the console, so postmaster-always protects postmaster@', async () => {
      await put(catchAll);
      await put({ ruleId: { S: 'postmaster-always' }, recipients: { L: [{ S: 'postmaster@example.com' }, { S: 'abuse@example.com' }] }, action: { S: 'allow' }, priority: { N: '1' }, enabled: { S: 'true' } });
      const { s, metrics } = source();
      const decisions = (await s.current()).evaluate(factsFor(['postmaster@example.com', 'abuse@example.com', 'bob@example.com']), NOW);
      expect(decisions.map((d) => [d.action, d.action === 'default' ? undefined : d.ruleId])).toEqual([
        ['allow', 'postmaster-always'],
        ['allow', 'postmaster-always'],
        ['bounce', 'catch-all'],
      ]);
      expect(metrics).toContainEqual({ name: 'InvalidRules', value: 0 });
    });

    it('holds the catch-all bounce for every recipient an invalid allow item covers, and logs why', async () => {
      await put(catchAll);
      await put({ ruleId: { S: 'postmaster-always' }, recipients: { L: [{ S: 'postmaster@example.com' }, { S: 'abuse@example.com' }] }, action: { S: 'allow' }, priority: { N: '1' }, enabled: { S: 'yes' } });
      const { s, lines, metrics } = source();
      const decisions = (await s.current()).evaluate(factsFor(['postmaster@example.com', 'Abuse+x@example.com', 'bob@example.com']), NOW);
      expect(decisions).toEqual([
        { recipient: 'postmaster@example.com', action: 'default', defaultAction: 'deliver', heldBy: 'postmaster-always' },
        { recipient: 'Abuse+x@example.com', action: 'default', defaultAction: 'deliver', heldBy: 'postmaster-always' },
        expect.objectContaining({ recipient: 'bob@example.com', action: 'bounce', ruleId: 'catch-all' }),
      ]);
      expect(metrics).toContainEqual({ name: 'InvalidRules', value: 1 });
      const skipped = lines.find((l) => l.message === 'invalid rule skipped');
      expect(skipped?.extra).toMatchObject({ ruleId: 'postmaster-always', holdsBouncesFor: 'postmaster@example.com, abuse@example.com' });
    });

    it('holds every bounce while an item whose recipients cannot be read exists', async () => {
      await put(catchAll);
      await put({ ruleId: { S: 'unreadable' }, recipients: { S: '<postmaster@example.com>' }, action: { S: 'allow' } });
      const { s, lines } = source();
      const decisions = (await s.current()).evaluate(factsFor(['postmaster@example.com', 'bob@example.com']), NOW);
      expect(decisions.map((d) => d.action)).toEqual(['default', 'default']);
      expect(decisions.map((d) => (d.action === 'default' ? d.heldBy : undefined))).toEqual(['unreadable', 'unreadable']);
      expect(lines.find((l) => l.message === 'invalid rule skipped')?.extra?.holdsBouncesFor).toMatch(/every recipient/);
    });
  });
});
