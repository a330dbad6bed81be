import type { Command } from '../../command';
import { CommandError } from '../../errors';
import { println } from '../../io';

/** `rules get ID`: one item as JSON. */
export const getCommand: Command = {
  spec: {
    name: 'rules get',
    summary: 'print one rule as JSON',
    help: `Usage: ses-bouncer rules get RULE_ID [options]

Prints the item with that ruleId as JSON, as stored (before validation), in the
form rules put and rules import accept. Exits 1 when there is none. The
output is always JSON; --json is accepted as on every command that prints data.

Example:
  ses-bouncer rules get former-employee --table ses-bouncer-rules > rule.json`,
    flags: { json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
  },
  async run(ctx) {
    const ruleId = ctx.args.positionals[0];
    const table = ctx.rulesTable();
    const item = await table.get(ruleId);
    if (!item) throw new CommandError(`no rule with ruleId ${JSON.stringify(ruleId)} in table ${table.tableName}`);
    println(ctx.io.stdout, JSON.stringify(item, null, 2));
    return 0;
  },
};
