import { dirname, join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../../../cli/rules-table';
import { localDynamoDbClient, newRulesTable, runCli, tempFiles } from '../../support';

describe('cli/commands/rules/validate', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  const good = { ruleId: 'good', recipients: ['a@example.com'], action: 'bounce' };
  const badAction = { ruleId: 'bad-action', recipients: ['b@example.com'], action: 'reject' };
  const badPattern = { ruleId: 'bad-pattern', recipients: ['Alice <alice@example.com>'], action: 'bounce', sender: ['x@example.com'] };

  describe('rules validate', () => {
    it('exits 1 listing both bad rules with their fields when a file holds two invalid items', async () => {
      const files = await tempFiles({ 'rules.json': JSON.stringify([good, badAction, badPattern]) });
      const r = await runCli(['rules', 'validate', files['rules.json']]);
      expect(r.code).toBe(1);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^bad-action {2}action: must be "bounce", "allow" or "drop" \(got "reject"\)$/),
          expect.stringMatching(/^bad-pattern {2}recipients\.0: /),
          'bad-pattern  sender: unknown attribute "sender": did you mean "senders"? (notes for people go in "notes")',
          '2 of 3 rules are invalid',
        ]),
      );
      expect(lines.some((l) => l.startsWith('good'))).toBe(false);
    });

    it('exits 0 for a clean file with people\'s notes, printing warnings for ignored attributes', async () => {
      const files = await tempFiles({ 'rule.json': JSON.stringify({ ...good, action: 'allow', status: '5.1.1', notes: { owner: 'ops', ticket: 'OPS-1' } }) });
      const r = await runCli(['rules', 'validate', files['rule.json']]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('warning: good  status: status is ignored on an allow rule\nall 1 rules are valid\n');
    });

    it('defect 6: exits 1 for an attribute the schema does not know, even one far from any field name', async () => {
      const files = await tempFiles({ 'rule.json': JSON.stringify({ ...good, owner: 'ops' }) });
      const r = await runCli(['rules', 'validate', files['rule.json']]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('good  owner: unknown attribute "owner": not a rule attribute; notes for people go in "notes"');
    });

    it('checks the table when no file is given: exit 1 with both bad items, then 0 once they are fixed', async () => {
      const { table, flags } = await newRulesTable(client);
      for (const item of [good, badAction, badPattern]) await client.send(new PutItemCommand({ TableName: table, Item: marshallItem(item) }));
      const bad = await runCli(['rules', 'validate', ...flags]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('bad-action  action:');
      expect(bad.stdout).toContain('bad-pattern  recipients.0:');
      expect(bad.stdout).toContain('2 of 3 rules are invalid');

      for (const item of [{ ...badAction, action: 'bounce' }, { ruleId: 'bad-pattern', recipients: ['alice@example.com'], action: 'bounce' }]) {
        await client.send(new PutItemCommand({ TableName: table, Item: marshallItem(item) }));
      }
      const clean = await runCli(['rules', 'validate', ...flags]);
      expect(clean).toEqual({ code: 0, stdout: 'all 3 rules are valid\n', stderr: '' });
    });
    it('checks every *.json file of a directory in name order, as npm start --rules DIR seeds them', async () => {
      const files = await tempFiles({ 'a.json': JSON.stringify([good]), 'b.json': JSON.stringify({ rules: [badAction] }), 'notes.txt': 'not a rule' });
      const dir = dirname(files['a.json']);
      const r = await runCli(['rules', 'validate', dir]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('bad-action  action:');
      expect(r.stdout).toContain('1 of 2 rules are invalid');
      const seeds = await runCli(['rules', 'validate', join(__dirname, '../../../../local')]);
      expect(seeds.stdout).toMatch(/^all \d+ rules are valid$/m);
    });

    it('prints a JSON report for --json and keeps the exit code', async () => {
      const files = await tempFiles({ 'rules.json': JSON.stringify([good, badAction]) });
      const r = await runCli(['rules', 'validate', '--json', files['rules.json']]);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ total: 2, valid: 1, invalid: [{ ruleId: 'bad-action', index: 1, errors: [expect.objectContaining({ field: 'action' })] }] });
      const missing = await runCli(['rules', 'validate', '--json', files['rules.json'].replace('rules.json', 'none.json')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no such file');
    });
  });
});
