import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { countDynamoDbRequests } from '../../../../bench/lib/sdk-edge';
import { marshallItem } from '../../../../cli/rules-table';
import { reportRules } from '../../../../cli/report/rule-report';
import { DynamoDbMessageLedger } from '../../../../lambda/adapters/dynamodb/message-ledger';
import type { RecipientDecision } from '../../../../lambda/domain/model';
import type { AuditRecord } from '../../../../lambda/ports';
import { createStateTable } from '../../../../local/tables';
import { dynamoDbEndpoint, uniqueTableName } from '../../../support/dynamodb';
import { localDynamoDbClient, newRulesTable, newStateTable, runCli } from '../../support';
import { decidedRecord } from '../../../support/audit';

const SPEC = { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } as const;
const HOUR = 3_600_000;

const record = decidedRecord;

describe('cli/commands/rules/report', () => {
  const client = localDynamoDbClient();
  let state: string;
  let stateFlags: string[];
  let rulesFlags: string[];
  const escId = 'evil\u001b[2Jid';

  beforeAll(async () => {
    state = uniqueTableName('cli-report');
    await createStateTable(client, state);
    stateFlags = ['--state-table', state, '--endpoint-url', dynamoDbEndpoint(), '--region', 'us-east-1'];
    const ledger = new DynamoDbMessageLedger({ client, tableName: state });
    const bounce = (recipient: string, ruleId: string): RecipientDecision => ({ recipient, action: 'bounce', ruleId, bounce: SPEC });
    const claims: AuditRecord[] = [
      // "gone": two bounced (one sent), one refused by the guard, one refused for the budget after the claim.
      record('g-sent', [bounce('a@example.com', 'gone')], 5 * HOUR),
      record('g-pending', [bounce('a@example.com', 'gone'), bounce('b@example.com', 'gone')], 2 * HOUR),
      record('g-auto', [bounce('a@example.com', 'gone')], 3 * HOUR, { state: 'SKIPPED', guard: { allowed: false, reasons: ['auto-submitted'] } }),
      record('g-budget', [bounce('a@example.com', 'gone')], 4 * HOUR),
      // Out of the 24 h window.
      record('g-old', [bounce('a@example.com', 'gone')], 30 * HOUR),
      // One message, three rules: counted under each.
      record(
        'multi',
        [
          bounce('a@example.com', 'gone'),
          { recipient: 'trap@example.com', action: 'drop', ruleId: 'traps' },
          { recipient: 'c@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'trial', action: 'bounce' }] },
        ],
        1 * HOUR,
      ),
      // Shadow only: what the guard and the budget would have said.
      record('s-ok', [{ recipient: 'a@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'trial', action: 'bounce' }] }], 6 * HOUR, {
        state: 'SHADOW',
        shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'within' },
      }),
      record('s-spent', [{ recipient: 'a@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'trial', action: 'bounce' }] }], 7 * HOUR, {
        state: 'SHADOW',
        shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'spent' },
      }),
      record('s-spam', [{ recipient: 'a@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'trial', action: 'drop' }] }], 8 * HOUR, {
        state: 'SHADOW',
        shadowVerdict: { guard: { allowed: false, reasons: ['spam-verdict'] }, budget: 'not-checked' },
      }),
      record(escId, [{ recipient: 'a@example.com', action: 'drop', ruleId: 'traps' }], 9 * HOUR, { state: 'DROPPED' }),
    ];
    for (const c of claims) await ledger.claim(c);
    await ledger.transition('g-sent', ['PENDING'], 'SENDING');
    await ledger.transition('g-sent', ['SENDING'], 'SENT');
    await ledger.transition('g-budget', ['PENDING'], 'SKIPPED', { guard: { allowed: false, reasons: ['sender-budget-exceeded'] } });

    const rules = await newRulesTable(client);
    rulesFlags = rules.flags;
    const items = [
      { ruleId: 'trial', priority: 5, recipients: ['c@example.com'], action: 'bounce' },
      { ruleId: 'gone', recipients: ['a@example.com'], action: 'bounce' },
      { ruleId: 'traps', priority: 1, recipients: ['trap@example.com'], action: 'bounce' },
      { ruleId: 'quiet', recipients: ['nobody@example.com'], action: 'bounce' },
    ];
    for (const item of items) await client.send(new PutItemCommand({ TableName: rules.table, Item: marshallItem(item) }));
  });
  afterAll(() => client.destroy());

  describe('rules report', () => {
    it('counts what one rule did in the last 24 h, newest message ids first, with the reasons for refusals', async () => {
      const r = await runCli(['rules', 'report', '--rule', 'gone', ...stateFlags]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^RULE ID\s+BOUNCED\s+REFUSED\s+DROPPED\s+WOULD-BOUNCE\s+WOULD-DROP\s+LAST MATCH\s+EXPLAIN$/);
      expect(lines[1]).toMatch(/^gone\s+3\s+2\s+0\s+0\s+0\s+\S+Z\s+multi g-pending g-auto$/);
      expect(r.stdout).toContain('gone: refused 2: auto-submitted 1, sender-budget-exceeded 1');
      expect(r.stdout).toMatch(/1 rules, 5 matches from \S+ to \S+ \(24h\), rule index of /);
    });

    it('reports every rule of the rules table in evaluation order, a message with several rules under each', async () => {
      const r = await runCli(['rules', 'report', ...rulesFlags, ...stateFlags]);
      expect(r.code).toBe(0);
      const rows = r.stdout.split('\n').slice(1, 5);
      expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['traps', 'trial', 'gone', 'quiet']);
      expect(rows[0]).toMatch(/^traps\s+0\s+0\s+2\s+0\s+0\s/);
      expect(rows[1]).toMatch(/^trial\s+0\s+0\s+0\s+3 \(1 refused\)\s+1\s/);
      expect(rows[3]).toMatch(/^quiet\s+0\s+0\s+0\s+0\s+0\s+-\s+-$/);
      expect(r.stdout).toContain('trial: would have been refused 1: budget-spent 1');
      // The "multi" message counts under gone, traps and trial.
      for (const row of rows.slice(0, 3)) expect(row).toContain('multi');
    });

    it('escapes control characters of a message id instead of sending them to the terminal', async () => {
      const r = await runCli(['rules', 'report', '--rule', 'traps', ...stateFlags]);
      expect(r.stdout).not.toContain('\u001b');
      expect(r.stdout).toContain('evil\\x1b[2Jid');
    });

    it('widens the window with --since and prints one JSON document with --json', async () => {
      const r = await runCli(['rules', 'report', '--rule', 'gone', '--rule', 'trial', '--since', '2d', '--json', ...stateFlags]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ stateTable: state, since: '2d' });
      expect(Date.parse(doc.to) - Date.parse(doc.from)).toBe(48 * HOUR);
      expect(doc.rules.map((x: { ruleId: string }) => x.ruleId)).toEqual(['gone', 'trial']);
      expect(doc.rules[0]).toMatchObject({
        messages: 6,
        recipients: 7,
        bounced: 4,
        refused: 2,
        bouncedStates: { SENT: 1, PENDING: 3 },
        refusedBy: { 'auto-submitted': 1, 'sender-budget-exceeded': 1 },
        examples: ['multi', 'g-pending', 'g-auto'],
        asReceived: 0,
      });
      expect(doc.rules[1]).toMatchObject({ wouldBounce: 3, wouldBounceRefused: 1, wouldBounceRefusedBy: { 'budget-spent': 1 }, wouldDrop: 1, asReceived: 0 });
    });

    it('reads a rule through the index with Query only, one per UTC day of the window', async () => {
      const counted = localDynamoDbClient();
      const counts = countDynamoDbRequests(counted);
      const to = new Date();
      const from = new Date(to.getTime() - 24 * HOUR);
      const [gone] = await reportRules(counted, state, ['gone'], from, to);
      expect(gone.messages).toBe(5);
      const days = from.toISOString().slice(0, 10) === to.toISOString().slice(0, 10) ? 1 : 2;
      expect(counts.snapshot().byOperation).toEqual({ Query: days });
      counted.destroy();
    });

    it('refuses a --since that is not a duration, naming the value', async () => {
      const r = await runCli(['rules', 'report', '--rule', 'gone', '--since', 'yesterday', ...stateFlags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--since "yesterday" is not a duration');
      expect((await runCli(['rules', 'report', '--rule', 'gone', '--since', '365d', ...stateFlags])).code).toBe(2);
    });

    it('says what to do when the state table has no rule index', async () => {
      const bare = await newStateTable(client);
      const r = await runCli(['rules', 'report', '--rule', 'gone', ...bare.flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('has no rule-by-time index: deploy this version of the bouncer');
    });

    it('needs a rules table only without --rule', async () => {
      const r = await runCli(['rules', 'report', ...stateFlags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no rules table');
    });
  });
});
