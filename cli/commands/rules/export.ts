import type { Command } from '../../command';
import { println } from '../../io';
import { checkItems, inEvaluationOrder, issueLines } from '../../rules-input';

/** `rules export`: the whole table as a JSON array that `rules import` accepts. */
export const exportCommand: Command = {
  spec: {
    name: 'rules export',
    summary: 'print every rule as a JSON array (the input of rules import)',
    help: `Usage: ses-bouncer rules export [options]

Prints every item of the rules table as a JSON array, sorted by priority then
ruleId, exactly as stored. Feed it back with rules import (e.g. to copy rules
between tables or keep them in version control). Items the functions would skip
are exported too, and named on stderr.

Example:
  ses-bouncer rules export --table ses-bouncer-rules > rules.json`,
    flags: {},
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const items = inEvaluationOrder(await ctx.rulesTable().scan());
    for (const line of issueLines(checkItems(items))) println(ctx.io.stderr, `warning: invalid rule exported: ${line}`);
    println(ctx.io.stdout, JSON.stringify(items, null, 2));
    return 0;
  },
};
