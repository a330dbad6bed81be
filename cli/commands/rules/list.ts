import { parseRule } from '../../../lambda/domain/rules';
import type { Command } from '../../command';
import { println } from '../../io';
import { renderTable, truncate } from '../../format/table';
import { inEvaluationOrder } from '../../rules-input';
import { readCompileVerdict, verdictLines } from '../../compile-verdict';

/** Raw list attribute (L, SS or a single S) as display text. */
function listText(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  return value === undefined || value === null ? '' : String(value);
}

/** `rules list`: every item of the table as an aligned table, in evaluation order. */
export const listCommand: Command = {
  spec: {
    name: 'rules list',
    summary: 'show the rules table as a readable table',
    help: `Usage: ses-bouncer rules list [options]

Prints every item of the rules table in evaluation order (priority, then ruleId):
ruleId, enabled, priority, action, mode (enforce, or shadow: evaluated and
recorded, deciding nothing), bounce type and status, recipients and description. Items the functions would skip are marked INVALID with the reason.

With --state-table (or SES_BOUNCER_STATE_TABLE) it then shows the compile
step's verdict, read from the rules pointer the deployed functions use: the
snapshot's version and time, how many rules are in use, and each item the
compile skipped, why, and which recipients it holds bounces for.

Options:
  --json    print {"table", "rules": [...], "counts", "compile"} instead of a
            table; each rule carries "valid" and, when invalid, its "errors";
            "compile" is the compile step's verdict ("status": compiled,
            not-compiled, unreadable or unknown)

Examples:
  ses-bouncer rules list --table ses-bouncer-rules --state-table ses-bouncer-state
  ses-bouncer rules list --json --table ses-bouncer-rules`,
    flags: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const table = ctx.rulesTable();
    const items = inEvaluationOrder(await table.scan());
    const verdict = await readCompileVerdict(ctx, table.tableName);
    const out = ctx.io.stdout;
    const counts = { enabled: 0, disabled: 0, invalid: 0 };
    const listed = items.map((item) => {
      const result = parseRule(item);
      const ruleId = typeof item.ruleId === 'string' ? item.ruleId : undefined;
      if (!result.ok) {
        counts.invalid++;
        return { ruleId, valid: false as const, errors: result.errors, item };
      }
      const r = result.rule;
      counts[r.enabled ? 'enabled' : 'disabled']++;
      return { ruleId: r.ruleId, valid: true as const, enabled: r.enabled, priority: r.priority, action: r.action, mode: r.mode, bounce: r.bounce, rule: r, item };
    });
    if (ctx.args.flag('json')) {
      const rules = listed.map(({ item, ...entry }) =>
        entry.valid
          ? { ruleId: entry.ruleId, valid: true, enabled: entry.enabled, priority: entry.priority, action: entry.action, mode: entry.mode, bounce: entry.bounce, recipients: item.recipients, description: entry.rule.description }
          : { ruleId: entry.ruleId, valid: false, errors: entry.errors, item },
      );
      println(out, JSON.stringify({ table: table.tableName, rules, counts: { total: items.length, ...counts }, compile: verdict }, null, 2));
      return 0;
    }
    if (items.length === 0) {
      println(out, `no rules in table ${table.tableName}`);
      for (const line of verdictLines(verdict)) println(out, line);
      return 0;
    }
    const rows = listed.map((entry) => {
      const recipients = truncate(listText(entry.item.recipients), 60);
      if (!entry.valid) {
        const reason = entry.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
        return [entry.ruleId ?? '(no ruleId)', '-', String(entry.item.priority ?? '-'), 'INVALID', '-', '-', recipients, truncate(reason, 120)];
      }
      const bounce = entry.bounce ? `${entry.bounce.bounceType} ${entry.bounce.status}` : '-';
      return [entry.ruleId, entry.enabled ? 'yes' : 'no', String(entry.priority), entry.action, entry.mode, bounce, recipients, truncate(entry.rule.description ?? '', 60)];
    });
    for (const line of renderTable(['RULE ID', 'ENABLED', 'PRIORITY', 'ACTION', 'MODE', 'BOUNCE', 'RECIPIENTS', 'DESCRIPTION'], rows)) println(out, line);
    println(out);
    println(out, `${items.length} rules in ${table.tableName}: ${counts.enabled} enabled, ${counts.disabled} disabled, ${counts.invalid} invalid`);
    for (const line of verdictLines(verdict)) println(out, line);
    return 0;
  },
};
