/**
 * docs/rules.md's worked rollout ("Rolling out a rule: shadow for a day, then
 * enforce") works as written: its JSON rule is saved under the name the doc
 * uses, and every `ses-bouncer` line of its shell blocks runs in order, in
 * process, against tables on DynamoDB Local. The only rewrite is the one the
 * doc names: `--endpoint-url` (and the Region) are added, the tables come
 * from SES_BOUNCER_RULES_TABLE and SES_BOUNCER_STATE_TABLE.
 *
 * The day of mail between steps 1 and 3 is a few messages decided by the
 * rules read back from the table (the real evaluation and guard) and claimed
 * by the real ledger as shadow records; the report must then print what the
 * doc shows (counts, reasons, layout). Step 4's edit is made as the doc says.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { checkSender } from '../../lambda/domain/guard';
import { compileRules } from '../../lambda/domain/rules';
import type { AuditRecord } from '../../lambda/ports';
import { RulesTable } from '../../cli/rules-table';
import { createStateTable } from '../../local/tables';
import { runCli, type CliRun } from '../cli/support';
import { createTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { factsFor } from '../support/facts';

const doc = readFileSync(join(__dirname, '../../docs/rules.md'), 'utf8');

/** The rollout section, to the next `## ` heading. */
function rolloutSection(): string {
  const start = doc.indexOf('\n## Rolling out a rule');
  expect(start).toBeGreaterThan(0);
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next < 0 ? undefined : next);
}

/** Fenced blocks of a kind (`json`, `sh`, or '' for plain), indentation removed, read line by line. */
function blocks(text: string, kind: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(open[1].length));
    if (open[2] === kind) found.push(body.join('\n'));
    i = j;
  }
  return found;
}

describe('docs/rules.md rollout', () => {
  const client = localDynamoDbClient();
  const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-rollout-'));
  const rulesTable = uniqueTableName('rollout-rules');
  const stateTable = uniqueTableName('rollout-state');
  const env = { SES_BOUNCER_RULES_TABLE: rulesTable, SES_BOUNCER_STATE_TABLE: stateTable };
  const cwd = process.cwd();

  beforeAll(async () => {
    await createTable(client, rulesTable, 'ruleId');
    await createStateTable(client, stateTable);
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    client.destroy();
  });

  /** Runs every `ses-bouncer` line of a shell block, in order; each must exit 0. */
  async function runBlock(block: string): Promise<CliRun[]> {
    const runs: CliRun[] = [];
    for (const line of block.split('\n').filter((l) => l.startsWith('ses-bouncer '))) {
      const argv = [...line.replace(/^ses-bouncer /, '').trim().split(/\s+/), '--endpoint-url', dynamoDbEndpoint(), '--region', 'us-east-1'];
      const r = await runCli(argv, { env });
      expect({ line, code: r.code, stderr: r.stderr }).toEqual({ line, code: 0, stderr: '' });
      runs.push(r);
    }
    return runs;
  }

  const modeOf = (list: CliRun, ruleId: string) => {
    const lines = list.stdout.split('\n');
    const at = lines[0].indexOf('MODE');
    return lines.find((l) => l.startsWith(`${ruleId} `))?.slice(at).split(/\s+/)[0];
  };

  it('runs shadow for a day, reports what the rule would have done, then enforces it', async () => {
    const section = rolloutSection();
    const [ruleJson] = blocks(section, 'json');
    const rule = JSON.parse(ruleJson);
    expect(rule.mode).toBe('shadow');
    const file = /rules put (\S+\.json)/.exec(section)![1];
    writeFileSync(join(dir, file), ruleJson);
    const [put, report, enforce] = blocks(section, 'sh');

    // 1. The shadow rule goes in and is listed as such.
    const [, list] = await runBlock(put);
    expect(modeOf(list, rule.ruleId)).toBe('shadow');

    // 2. A day of mail, decided by the rules read back from the table.
    const compiled = compileRules(await new RulesTable({ client, tableName: rulesTable }).scan()).rules;
    const ledger = new DynamoDbMessageLedger({ client, tableName: stateTable });
    const mail = [
      { id: 'rollout-1', to: 'old-sales@example.com', ago: 20 },
      { id: 'rollout-2', to: 'old-jobs@example.com', ago: 9, headers: [{ name: 'Auto-Submitted', value: 'auto-replied' }] },
      { id: 'rollout-3', to: 'old-sales@example.com', ago: 2 },
      { id: 'rollout-4', to: 'team@example.com', ago: 1 },
    ];
    for (const m of mail) {
      const at = new Date(Date.now() - m.ago * 3_600_000);
      const facts = factsFor(m.to, { messageId: m.id, receivedAt: at.toISOString(), headers: m.headers ?? [] });
      const decisions = compiled.evaluate(facts, at);
      // Shadow changes no decision: every recipient is delivered.
      expect(decisions.map((d) => d.action)).toEqual(['default']);
      if (!decisions.some((d) => (d.shadow ?? []).length > 0)) continue;
      const guard = checkSender(facts, { senderAuth: 'spf-pass' });
      const record: AuditRecord = {
        messageId: m.id,
        receivedAt: at.toISOString(),
        sender: facts.sender,
        decisions,
        guard,
        state: 'SHADOW',
        shadowVerdict: { guard, budget: guard.allowed ? 'within' : 'not-checked' },
        attempts: 0,
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 30 * 86_400,
      };
      expect(await ledger.claim(record)).toEqual({ claimed: true });
    }

    // 3. The report prints what the doc shows: the same columns, counts and reasons.
    const [out] = await runBlock(report);
    const shown = blocks(section, '').find((b) => b.startsWith('RULE ID'))!;
    const cells = (text: string) => text.split('\n').map((l) => l.split(/\s{2,}/));
    const [shownHead, shownRow, , shownWhy, , shownFoot] = cells(shown);
    const [head, row, , why, , foot] = cells(out.stdout);
    expect(head).toEqual(shownHead);
    // Counts as shown; LAST MATCH is a time, EXPLAIN the newest ids.
    expect(row.slice(0, 6)).toEqual(shownRow.slice(0, 6));
    expect(row[6]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(row[7]).toBe('rollout-3 rollout-2 rollout-1');
    expect(why).toEqual(shownWhy);
    expect(foot[0].replace(/from .*/, '')).toBe(shownFoot[0].replace(/from .*/, ''));

    // 4. The edit the doc asks for, then the same commands: enforced from the next reload.
    expect(section).toContain('set `"mode": "enforce"`');
    writeFileSync(join(dir, file), ruleJson.replace('"mode": "shadow"', '"mode": "enforce"'));
    const [, listed] = await runBlock(enforce);
    expect(modeOf(listed, rule.ruleId)).toBe('enforce');
    const now = compileRules(await new RulesTable({ client, tableName: rulesTable }).scan()).rules;
    expect(now.evaluate(factsFor('old-sales@example.com'), new Date())).toEqual([
      expect.objectContaining({ action: 'bounce', ruleId: rule.ruleId }),
    ]);
  });
});
