import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { localDynamoDbClient, newRulesTable, runCli, tempFiles } from '../../support';

describe('cli/commands/rules/import', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  async function storedIds(table: string): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) ids.push(unmarshall(item).ruleId as string);
      start = page.LastEvaluatedKey;
    } while (start);
    return ids.sort();
  }

  describe('rules import', () => {
    it('writes every rule of a JSON array and of a {"rules": [...]} document', async () => {
      const { table, flags } = await newRulesTable(client);
      const files = await tempFiles({
        'array.json': JSON.stringify([
          { ruleId: 'a', recipients: ['a@example.com'], action: 'bounce' },
          { ruleId: 'b', recipients: ['b@example.com'], action: 'allow' },
        ]),
        'object.json': JSON.stringify({ rules: [{ ruleId: 'c', recipients: ['c@example.com'], action: 'bounce', priority: 3 }] }),
      });
      const r = await runCli(['rules', 'import', files['array.json'], ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`imported 2 rules into ${table}\n`);
      expect(r.stderr).toBe('imported 2/2 rules\n');
      expect((await runCli(['rules', 'import', files['object.json'], ...flags])).code).toBe(0);
      expect(await storedIds(table)).toEqual(['a', 'b', 'c']);
    });

    it('defect 6: writes nothing and exits 1 when a rule has attributes the schema does not know, naming what was meant', async () => {
      const { table, flags } = await newRulesTable(client);
      const base = { recipients: ['former@example.com'], action: 'bounce' };
      const rules = [
        { ruleId: 'disabled', ...base, disabled: true },
        { ruleId: 'until', ...base, until: '2026-01-01' },
        { ruleId: 'expires', ...base, expires: '2026-01-01' },
        { ruleId: 'end-date', ...base, endDate: '2026-01-01' },
        { ruleId: 'min-size', ...base, minSize: 10 },
        { ruleId: 'max-size', ...base, maxSize: 10 },
        { ruleId: 'from', ...base, from: ['x@example.org'] },
        { ruleId: 'to', ...base, to: ['y@example.com'] },
        { ruleId: 'attachments', ...base, attachments: ['*.exe'] },
        { ruleId: 'from-address', ...base, fromAddress: ['x@example.org'] },
        { ruleId: 'noted', ...base, notes: { owner: 'ops', why: 'left in March' } },
      ];
      const r = await runCli(['rules', 'import', '-', ...flags], { stdin: JSON.stringify(rules) });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^disabled {2}disabled: unknown attribute "disabled": did you mean "enabled" \(write "enabled": false\)\?/),
          expect.stringMatching(/^until {2}until: .*did you mean "activeUntil"\?/),
          expect.stringMatching(/^expires {2}expires: .*did you mean "activeUntil"\?/),
          expect.stringMatching(/^end-date {2}endDate: .*did you mean "activeUntil"\?/),
          expect.stringMatching(/^min-size {2}minSize: .*did you mean "minSizeBytes"\?/),
          expect.stringMatching(/^max-size {2}maxSize: .*did you mean "maxSizeBytes"\?/),
          expect.stringMatching(/^from {2}from: .*did you mean "senders" .* or "fromHeader"/),
          expect.stringMatching(/^to {2}to: .*did you mean "recipients"\?/),
          expect.stringMatching(/^attachments {2}attachments: .*did you mean "attachmentNames" or "attachmentTypes"\?/),
          expect.stringMatching(/^from-address {2}fromAddress: .*did you mean "senders"/),
          'ses-bouncer: nothing written: 10 of 11 rules are invalid',
        ]),
      );
      expect(lines.some((l) => l.startsWith('noted'))).toBe(false);
      expect(await storedIds(table)).toEqual([]);
    });

    it('writes nothing and exits 1 listing every problem with ruleId and field when any rule is invalid', async () => {
      const { table, flags } = await newRulesTable(client);
      const rules = [
        { ruleId: 'fine', recipients: ['a@example.com'], action: 'bounce' },
        { ruleId: 'bad-action', recipients: ['b@example.com'], action: 'reject' },
        { ruleId: 'bad-fields', recipients: [], action: 'bounce', bounceType: 'Gone' },
        { recipients: ['d@example.com'], action: 'allow' },
        { ruleId: 'fine', recipients: ['e@example.com'], action: 'allow' },
      ];
      const r = await runCli(['rules', 'import', '-', ...flags], { stdin: JSON.stringify(rules) });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^bad-action {2}action: must be "bounce", "allow" or "drop"/),
          expect.stringMatching(/^bad-fields {2}recipients: must not be empty$/),
          expect.stringMatching(/^bad-fields {2}bounceType: must be one of /),
          expect.stringMatching(/^item #4 \(no ruleId\) {2}ruleId: /),
          'fine  ruleId: duplicate ruleId "fine"',
          'ses-bouncer: nothing written: 4 of 5 rules are invalid',
        ]),
      );
      expect(await storedIds(table)).toEqual([]);
    });

    it('writes a long import in batches, reporting progress every 500 rules and at the end', async () => {
      const { table, flags } = await newRulesTable(client);
      const rules = Array.from({ length: 1010 }, (_, i) => ({ ruleId: `r${String(i).padStart(4, '0')}`, recipients: [`u${i}@example.com`], action: 'bounce' }));
      const r = await runCli(['rules', 'import', '-', ...flags], { stdin: JSON.stringify(rules) });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('imported 500/1010 rules\nimported 1000/1010 rules\nimported 1010/1010 rules\n');
      const ids = await storedIds(table);
      expect(ids).toHaveLength(1010);
      expect(ids[1009]).toBe('r1009');
    });

    it('exits 1 when the document is neither a list nor {"rules": [...]}', async () => {
      const { flags } = await newRulesTable(client);
      const r = await runCli(['rules', 'import', '-', ...flags], { stdin: JSON.stringify({ ruleId: 'one' }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('ses-bouncer: standard input must hold a JSON array of rules or {"rules": [...]}\n');
    });
  });
});
