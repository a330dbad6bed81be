import { parseRule } from '../../../lambda/domain/rules';
import type { Command } from '../../command';
import { println } from '../../io';
import { renderTable, truncate } from '../../format/table';
import { inEvaluationOrder } from '../../rules-input';

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
ruleId, enabled, priority, action, bounce type and status, recipients and
description. Items the functions would skip are marked INVALID with the reason.

Example:
  ses-bouncer rules list --table ses-bouncer-rules`,
    flags: {},
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const table = ctx.rulesTable();
    const items = inEvaluationOrder(await table.scan());
    const out = ctx.io.stdout;
    if (items.length === 0) {
      println(out, `no rules in table ${table.tableName}`);
      return 0;
    }
    let enabled = 0;
    let disabled = 0;
    let invalid = 0;
    const rows = items.map((item) => {
      const result = parseRule(item);
      const id = typeof item.ruleId === 'string' ? item.ruleId : '(no ruleId)';
      const recipients = truncate(listText(item.recipients), 60);
      if (!result.ok) {
        invalid++;
        const reason = result.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
        return [id, '-', String(item.priority ?? '-'), 'INVALID', '-', recipients, truncate(reason, 120)];
      }
      const r = result.rule;
      if (r.enabled) enabled++;
      else disabled++;
      const bounce = r.bounce ? `${r.bounce.bounceType} ${r.bounce.status}` : '-';
      return [r.ruleId, r.enabled ? 'yes' : 'no', String(r.priority), r.action, bounce, recipients, truncate(r.description ?? '', 60)];
    });
    for (const line of renderTable(['RULE ID', 'ENABLED', 'PRIORITY', 'ACTION', 'BOUNCE', 'RECIPIENTS', 'DESCRIPTION'], rows)) println(out, line);
    println(out);
    println(out, `${items.length} rules in ${table.tableName}: ${enabled} enabled, ${disabled} disabled, ${invalid} invalid`);
    return 0;
  },
};
