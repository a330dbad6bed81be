/**
 * docs/rules.md's worked rollout ("Rolling out a rule: shadow for a day, then
 * enforce") works as written: its JSON rule is saved under the name the doc
 * uses, and every `ses-bouncer` line of its shell blocks runs in order, in
 * process, against tables on DynamoDB Local. The only rewrite is the one the
 * doc names: `--endpoint-url` (and the Region) are added, the tables come
 * from SES_BOUNCER_RULES_TABLE and SES_BOUNCER_STATE_TABLE.
 *
 * The tables are those of a pipeline rig (test/support/pipeline-rig.ts), so
 * the day of mail between steps 1 and 3 goes through the receive function's
 * real wiring (rules read from the table the CLI wrote, the guard, the budget,
 * the ledger) on a clock that starts 20 hours ago; the report must then print
 * what the doc shows (counts, reasons, layout). Step 4's edit is made as the
 * doc says, and the next message is bounced.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from '../cli/support';
import { dynamoDbEndpoint } from '../support/dynamodb';
import { PipelineRig, type SesLambdaEvent } from '../support/pipeline-rig';

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

const HOUR = 3_600_000;

describe('docs/rules.md rollout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-rollout-'));
  const cwd = process.cwd();
  let rig: PipelineRig;
  let env: Record<string, string>;

  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 1, startAt: Date.now() - 20 * HOUR });
    env = { SES_BOUNCER_RULES_TABLE: rig.config.rulesTable, SES_BOUNCER_STATE_TABLE: rig.config.stateTable };
    process.chdir(dir);
  });
  afterAll(async () => {
    process.chdir(cwd);
    await rig.close();
  });

  /** A message through the receive function (and the send side); its id. */
  async function mail(recipient: string, autoSubmitted = false): Promise<string> {
    const event = await rig.arrive({
      source: 'colleague@partner.example',
      recipients: [recipient],
      edit: (e: SesLambdaEvent) => {
        if (autoSubmitted) e.Records[0].ses.mail.headers!.push({ name: 'Auto-Submitted', value: 'auto-replied' });
      },
    });
    await rig.receive(event);
    await rig.drain();
    return event.Records[0].ses.mail.messageId;
  }

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

    // 2. A day of mail through the receive function: three matches (one auto-submitted), one other message.
    const ids: string[] = [];
    ids.push(await mail('old-sales@example.com'));
    rig.clock.advance(11 * HOUR);
    ids.push(await mail('old-jobs@example.com', true));
    rig.clock.advance(7 * HOUR);
    ids.push(await mail('old-sales@example.com'));
    rig.clock.advance(HOUR);
    await mail('team@example.com');
    // Nothing was bounced: no SendBounce call.
    expect(rig.standIn.calls).toEqual([]);

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
    expect(row[7]).toBe([...ids].reverse().join(' '));
    expect(why).toEqual(shownWhy);
    expect(foot[0].replace(/from .*/, '')).toBe(shownFoot[0].replace(/from .*/, ''));

    // 4. The edit the doc asks for, then the same commands: enforced from the next reload.
    expect(section).toContain('set `"mode": "enforce"`');
    writeFileSync(join(dir, file), ruleJson.replace('"mode": "shadow"', '"mode": "enforce"'));
    const [, listed] = await runBlock(enforce);
    expect(modeOf(listed, rule.ruleId)).toBe('enforce');
    const bounced = await mail('old-sales@example.com');
    expect(rig.callsFor(bounced).map((c) => c.outcome.kind)).toEqual(['accepted']);
  });
});
