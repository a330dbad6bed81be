import type { Command } from '../../command';
import { println } from '../../io';
import { checkItems, issueLines, readRuleItems, warningLines } from '../../rules-input';
import type { RuleItem } from '../../rules-table';

/** Progress goes to stderr every this many rules (and at the end). */
export const PROGRESS_EVERY = 500;

/** `rules import FILE`: validate every rule, then batch-write them all. */
export const importCommand: Command = {
  spec: {
    name: 'rules import',
    summary: 'validate many rules (JSON file) and write them all',
    help: `Usage: ses-bouncer rules import FILE|DIR|- [options]

Reads a JSON array of rules, or {"rules": [...]} (from FILE, every *.json file
of DIR in name order, or standard input), validates every one (and that
no ruleId appears twice) and, only if all are valid, writes them with
BatchWriteItem, 25 per call, retrying items DynamoDB leaves unprocessed.
Existing rules with the same ruleId are replaced; rules not in the file are
kept. When any rule is invalid nothing is written: every problem is listed as
"ruleId  field: reason" and the command exits 1. Progress goes to stderr every
${PROGRESS_EVERY} rules. The output of rules export imports unchanged.

Example:
  ses-bouncer rules import rules.json --table ses-bouncer-rules`,
    flags: {},
    positionals: { min: 1, max: 1 },
  },
  async run(ctx) {
    const source = ctx.args.positionals[0];
    const items = await readRuleItems(source, ctx.io, false);
    const table = ctx.rulesTable();
    const checked = checkItems(items);
    for (const line of warningLines(checked)) println(ctx.io.stderr, `warning: ${line}`);
    if (checked.invalid.length > 0) {
      for (const line of issueLines(checked)) println(ctx.io.stderr, line);
      println(ctx.io.stderr, `ses-bouncer: nothing written: ${checked.invalid.length} of ${items.length} rules are invalid`);
      return 1;
    }
    await table.putMany(items as RuleItem[], (written, total) => {
      if (written % PROGRESS_EVERY === 0 || written === total) println(ctx.io.stderr, `imported ${written}/${total} rules`);
    });
    println(ctx.io.stdout, `imported ${items.length} rules into ${table.tableName}`);
    return 0;
  },
};
