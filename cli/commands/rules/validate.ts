import type { Command } from '../../command';
import { println } from '../../io';
import { checkItems, issueLines, itemsOf, readJson, warningLines } from '../../rules-input';

/** `rules validate [FILE]`: every problem of a file or of the table; exit 1 when any. */
export const validateCommand: Command = {
  spec: {
    name: 'rules validate',
    summary: 'check rules from a file or the table; exit 1 on any problem',
    help: `Usage: ses-bouncer rules validate [FILE|-] [options]

Checks rules exactly as the functions do when they load the table: from FILE
(one rule, a JSON array or {"rules": [...]}) or, without FILE, every item of the
rules table. Prints every problem as "ruleId  field: reason" and ignored
attributes as warnings. Exits 1 when any rule is invalid, 0 when all are valid.

Examples:
  ses-bouncer rules validate rules.json
  ses-bouncer rules validate --table ses-bouncer-rules`,
    flags: {},
    positionals: { min: 0, max: 1 },
  },
  async run(ctx) {
    const source = ctx.args.positionals[0];
    const items =
      source === undefined ? await ctx.rulesTable().scan() : itemsOf(await readJson(source, ctx.io), source, true);
    const checked = checkItems(items);
    const out = ctx.io.stdout;
    for (const line of issueLines(checked)) println(out, line);
    for (const line of warningLines(checked)) println(out, `warning: ${line}`);
    const bad = checked.invalid.length;
    println(out, bad === 0 ? `all ${items.length} rules are valid` : `${bad} of ${items.length} rules are invalid`);
    return bad === 0 ? 0 : 1;
  },
};
