import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { buildCompileDeps } from '../../lambda/app/compile-wiring';
import { compileSnapshot } from '../../lambda/app/compile-snapshot';
import { loadConfig } from '../../lambda/config/config';
import { marshallItem } from '../../cli/rules-table';
import { verdictLines } from '../../cli/compile-verdict';
import { createStateTable } from '../../local/tables';
import { dynamoDbEndpoint, uniqueTableName } from '../support/dynamodb';
import { RECEIVE_ENV } from '../support/env';
import { startLocalS3, type LocalS3 } from '../support/s3';
import { localDynamoDbClient, newRulesTable, runCli } from './support';

const quiet = { info() {}, warn() {}, error() {} };

describe('cli/compile-verdict', () => {
  const client = localDynamoDbClient();
  let s3: LocalS3;
  let bucket: string;
  beforeAll(async () => {
    s3 = await startLocalS3();
    bucket = await s3.createBucket('cli-verdict-snapshots');
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  /** A rules table with one good, one disabled and one broken rule, and a state table beside it. */
  async function tables(extra: Record<string, unknown>[] = []) {
    const rules = await newRulesTable(client);
    const stateTable = uniqueTableName('cli-verdict-state');
    await createStateTable(client, stateTable);
    const items = [
      { ruleId: 'gone', recipients: ['former@example.com'], action: 'bounce' },
      { ruleId: 'paused', enabled: false, recipients: ['example.org'], action: 'bounce' },
      { ruleId: 'broken', recipients: ['x@example.com'], action: 'reject' },
      ...extra,
    ];
    for (const item of items) await client.send(new PutItemCommand({ TableName: rules.table, Item: marshallItem(item) }));
    return { rulesTable: rules.table, stateTable, flags: [...rules.flags, '--state-table', stateTable] };
  }

  /** Runs the real compile step (the compile function's use case) against those tables and the local S3. */
  async function compile(rulesTable: string, stateTable: string) {
    const config = loadConfig({ ...RECEIVE_ENV, RULES_TABLE: rulesTable, STATE_TABLE: stateTable, RULES_SNAPSHOT_BUCKET: bucket });
    return compileSnapshot(buildCompileDeps(config, { dynamodb: client, s3: s3.client() }, { logger: quiet, metrics: { addMetric() {} } }));
  }

  describe('rules list', () => {
    it('says how to name the state table when none is given', async () => {
      const { flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
        'compile step: not shown; pass --state-table NAME or set SES_BOUNCER_STATE_TABLE (the stack output StateTableName)',
      );
    });

    it('says that the functions still scan the table when nothing was compiled yet', async () => {
      const { flags, stateTable } = await tables();
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`compile step: no compiled snapshot of this table in ${stateTable} yet; the functions scan the rules table`);
    });

    it("shows the compile step's verdict: version, time, counts, and each skipped item with its reason and the bounces it holds", async () => {
      const { flags, rulesTable, stateTable } = await tables();
      const compiled = await compile(rulesTable, stateTable);
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      const at = lines.findIndex((l) => l.startsWith('compile step:'));
      expect(lines[at]).toMatch(new RegExp(`^compile step: snapshot ${compiled.version}, compiled \\S+Z \\(\\d+ s ago\\): 1 rule in use, 1 disabled, 1 invalid item skipped$`));
      expect(lines[at + 1]).toBe('  skipped broken: action: must be "bounce", "allow" or "drop" (got "reject")');
      expect(lines[at + 2]).toMatch(/^ {4}holds bounces for .*x@example\.com/);
      expect(lines).toHaveLength(at + 3);
    });

    it('puts the verdict in --json as "compile"', async () => {
      const { flags, rulesTable, stateTable } = await tables();
      const compiled = await compile(rulesTable, stateTable);
      const r = await runCli(['rules', 'list', '--json', ...flags]);
      const doc = JSON.parse(r.stdout);
      expect(doc.compile).toMatchObject({
        status: 'compiled',
        stateTable,
        version: compiled.version,
        objectKey: expect.stringMatching(/^rules\/.+\.json\.gz$/),
        rules: 1,
        disabled: 1,
        invalidCount: 1,
        invalid: [{ ruleId: 'broken', problems: ['action: must be "bounce", "allow" or "drop" (got "reject")'], holdsBouncesFor: expect.stringContaining('x@example.com') }],
      });
      const withoutState = JSON.parse((await runCli(['rules', 'list', '--json', '--table', rulesTable, '--endpoint-url', dynamoDbEndpoint(), '--region', 'us-east-1'])).stdout);
      expect(withoutState.compile).toEqual({ status: 'unknown', hint: expect.stringContaining('--state-table') });
    });

    it('shows a rule id with control characters escaped, as it shows the table', async () => {
      const { flags, rulesTable, stateTable } = await tables([{ ruleId: 'evil\u001b[2J\nid', recipients: [], action: 'bounce' }]);
      await compile(rulesTable, stateTable);
      const r = await runCli(['rules', 'list', ...flags]);
      expect(r.stdout).toContain('  skipped evil\\x1b[2J\\x0aid: ');
      expect(r.stdout).not.toContain('\u001b');
    });

    it('still lists the table, exit 0, when the state table cannot be read', async () => {
      const { flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'list', ...flags, '--state-table', 'no-such-state-table']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('compile step: cannot read the rules pointer: state table "no-such-state-table" does not exist');
    });
  });

  describe('rules validate --table', () => {
    it("adds the compile step's verdict after the table's own check, whose exit code it keeps", async () => {
      const { flags, rulesTable, stateTable } = await tables();
      await compile(rulesTable, stateTable);
      const r = await runCli(['rules', 'validate', ...flags]);
      expect(r.code).toBe(1);
      const lines = r.stdout.trimEnd().split('\n');
      const at = lines.indexOf('1 of 3 rules are invalid');
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 1]).toMatch(/^compile step: snapshot .*: 1 rule in use, 1 disabled, 1 invalid item skipped$/);
      expect(lines[at + 2]).toBe('  skipped broken: action: must be "bounce", "allow" or "drop" (got "reject")');
      const json = JSON.parse((await runCli(['rules', 'validate', '--json', ...flags])).stdout);
      expect(json.compile).toMatchObject({ status: 'compiled', invalidCount: 1 });
    });

    it('shows no verdict when checking a file', async () => {
      const { flags } = await tables();
      const r = await runCli(['rules', 'validate', '-', ...flags], { stdin: JSON.stringify({ ruleId: 'ok', recipients: ['a@example.com'], action: 'bounce' }) });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('compile step');
    });
  });

  describe('verdictLines', () => {
    const pointer = {
      status: 'compiled' as const,
      stateTable: 'state',
      version: 'v1',
      objectKey: 'rules/v1.json.gz',
      scanStartedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      compiledAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      rules: 10,
      disabled: 0,
      invalidCount: 12,
      invalid: [{ index: 4, problems: ['ruleId: is required'], holdsBouncesFor: 'every recipient' }],
      bytes: 300,
    };

    it('says when a later compile failed and the functions scan the table meanwhile', () => {
      const stale = { ...pointer, invalidCount: 0, invalid: [], staleSince: '2026-11-29T10:00:00.000Z', staleReason: 'RulesSnapshotStoreError: s3 AccessDenied\nforged' };
      expect(verdictLines(stale)).toEqual([
        expect.stringMatching(/: 10 rules in use, 0 disabled, 0 invalid items skipped$/),
        '  STALE since 2026-11-29T10:00:00.000Z: a later compile failed (RulesSnapshotStoreError: s3 AccessDenied\\x0aforged); the functions scan the rules table until a compile succeeds',
      ]);
    });

    it('names an item without ruleId by its position, gives the age in hours and counts the items the pointer does not list', () => {
      expect(verdictLines(pointer)).toEqual([
        expect.stringMatching(/\(3 h ago\): 10 rules in use, 0 disabled, 12 invalid items skipped$/),
        '  skipped (item 4 without ruleId): ruleId: is required',
        '    holds bounces for every recipient',
        `  and 11 more (the compile function's log has each as "invalid rule skipped")`,
      ]);
    });
  });
});
