import type { Command } from '../../command';
import { CommandError } from '../../errors';
import { println } from '../../io';

/** `rules delete ID`: conditional delete; a missing rule is an error. */
export const deleteCommand: Command = {
  spec: {
    name: 'rules delete',
    summary: 'delete one rule',
    help: `Usage: ses-bouncer rules delete RULE_ID [options]

Deletes the rule with that ruleId. Exits 1, deleting nothing, when there is no
such rule (so a typo never passes silently). To keep a rule but stop it, set
"enabled": false with rules put instead.

Example:
  ses-bouncer rules delete closed-list --table ses-bouncer-rules`,
    flags: {},
    positionals: { min: 1, max: 1 },
  },
  async run(ctx) {
    const ruleId = ctx.args.positionals[0];
    const table = ctx.rulesTable();
    if (!(await table.delete(ruleId))) {
      throw new CommandError(`no rule with ruleId ${JSON.stringify(ruleId)} in table ${table.tableName}: nothing deleted`);
    }
    println(ctx.io.stdout, `deleted rule ${ruleId} from ${table.tableName}`);
    return 0;
  },
};
