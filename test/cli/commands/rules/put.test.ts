import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient, newRulesTable, runCli, tempFiles } from '../../support';

describe('cli/commands/rules/put', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  const rule = {
    ruleId: 'gone',
    priority: 10,
    recipients: ['former@example.com'],
    action: 'bounce',
    minSizeBytes: 0,
    headers: { 'List-Id': '*' },
  };

  describe('rules put', () => {
    it('writes a valid rule from a file with numbers stored as N and lists as L, then replaces it', async () => {
      const { table, flags } = await newRulesTable(client);
      const files = await tempFiles({ 'rule.json': JSON.stringify(rule), 'rule2.json': JSON.stringify({ ...rule, priority: 20 }) });
      const first = await runCli(['rules', 'put', files['rule.json'], ...flags]);
      expect(first).toEqual({ code: 0, stdout: `created rule gone in ${table}\n`, stderr: '' });
      const stored = await client.send(new GetItemCommand({ TableName: table, Key: { ruleId: { S: 'gone' } } }));
      expect(stored.Item?.priority).toEqual({ N: '10' });
      expect(stored.Item?.minSizeBytes).toEqual({ N: '0' });
      expect(stored.Item?.recipients).toEqual({ L: [{ S: 'former@example.com' }] });
      expect(stored.Item?.headers).toEqual({ M: { 'List-Id': { S: '*' } } });

      const second = await runCli(['rules', 'put', files['rule2.json'], ...flags]);
      expect(second.stdout).toBe(`replaced rule gone in ${table}\n`);
      const again = await client.send(new GetItemCommand({ TableName: table, Key: { ruleId: { S: 'gone' } } }));
      expect(again.Item?.priority).toEqual({ N: '20' });
    });

    it('reads the rule from standard input with "-"', async () => {
      const { table, flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'put', '-', ...flags], { stdin: JSON.stringify(rule) });
      expect(r.code).toBe(0);
      const stored = await client.send(new GetItemCommand({ TableName: table, Key: { ruleId: { S: 'gone' } } }));
      expect(stored.Item?.action).toEqual({ S: 'bounce' });
    });

    it('refuses an invalid rule with every problem and exits 1 without writing', async () => {
      const { table, flags } = await newRulesTable(client);
      const bad = { ruleId: 'bad', recipients: ['former@example.com'], action: 'bounce', status: '2.0.0', priority: 'high' };
      const r = await runCli(['rules', 'put', '-', ...flags], { stdin: JSON.stringify(bad) });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('bad  status: must be 4.x.x (temporary) or 5.x.x (permanent)');
      expect(r.stderr).toContain('bad  priority: must be a number');
      expect(r.stderr).toContain('ses-bouncer: rule not written: 2 problems');
      const scan = await client.send(new ScanCommand({ TableName: table }));
      expect(scan.Count).toBe(0);
    });

    it('writes a rule with people\'s notes, and refuses one with an unknown attribute', async () => {
      const { flags } = await newRulesTable(client);
      const noted = await runCli(['rules', 'put', '-', ...flags], { stdin: JSON.stringify({ ...rule, notes: 'OPS-1' }) });
      expect(noted).toMatchObject({ code: 0, stderr: '' });
      const r = await runCli(['rules', 'put', '-', ...flags], { stdin: JSON.stringify({ ...rule, ticket: 'OPS-1' }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('gone  ticket: unknown attribute "ticket": not a rule attribute; notes for people go in "notes"');
    });

    it('exits 1 for a list (pointing to rules import), for bad JSON and for a missing file', async () => {
      const { flags } = await newRulesTable(client);
      const list = await runCli(['rules', 'put', '-', ...flags], { stdin: JSON.stringify([rule]) });
      expect(list.code).toBe(1);
      expect(list.stderr).toContain('use rules import');
      const json = await runCli(['rules', 'put', '-', ...flags], { stdin: '{"ruleId": ' });
      expect(json.code).toBe(1);
      expect(json.stderr).toMatch(/^ses-bouncer: standard input is not valid JSON: /);
      const missing = await runCli(['rules', 'put', '/nonexistent/rule.json', ...flags]);
      expect(missing).toEqual({ code: 1, stdout: '', stderr: 'ses-bouncer: cannot read "/nonexistent/rule.json": no such file\n' });
    });
  });
});
