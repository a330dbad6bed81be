import type { Command } from '../../command';
import { println } from '../../io';
import { checkItems, issueLines, readRuleItems, warningLines } from '../../rules-input';
import { readCompileVerdict, verdictLines, type CompileVerdict } from '../../compile-verdict';

/** `rules validate [FILE|DIR|-]`: every problem of a file, a directory or the table; exit 1 when any. */
export const validateCommand: Command = {
  spec: {
    name: 'rules validate',
    summary: 'check rules from a file, a directory or the table; exit 1 on any problem',
    help: `Usage: ses-bouncer rules validate [FILE|DIR|-] [options]

Checks rules exactly as the functions do when they load the table: from FILE
(one rule, a JSON array or {"rules": [...]}), from every *.json file of DIR in
name order (as npm start --rules DIR seeds them), from standard input (-) or,
without an argument, every item of the rules table. Prints every problem as
"ruleId  field: reason" and ignored attributes as warnings. Exits 1 when any
rule is invalid, 0 when all are valid.

Checking the table, with --state-table (or SES_BOUNCER_STATE_TABLE) it also
shows the compile step's verdict, read from the rules pointer the deployed
functions use: which items the last compile skipped, why, and which recipients
they hold bounces for. The exit code stays the table's own check.

Options:
  --json    print {"total", "valid", "invalid": [...], "warnings": [...]}, and
            "compile" (the compile step's verdict) when checking the table

Examples:
  ses-bouncer rules validate rules.json
  ses-bouncer rules validate local/
  ses-bouncer rules validate --table ses-bouncer-rules --state-table ses-bouncer-state`,
    flags: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 1 },
  },
  async run(ctx) {
    const source = ctx.args.positionals[0];
    let items: unknown[];
    let verdict: CompileVerdict | undefined;
    if (source === undefined) {
      const table = ctx.rulesTable();
      items = await table.scan();
      verdict = await readCompileVerdict(ctx, table.tableName);
    } else {
      items = await readRuleItems(source, ctx.io, true);
    }
    const checked = checkItems(items);
    const out = ctx.io.stdout;
    const bad = checked.invalid.length;
    if (ctx.args.flag('json')) {
      const report = { total: items.length, valid: items.length - bad, invalid: checked.invalid, warnings: checked.warnings, ...(verdict ? { compile: verdict } : {}) };
      println(out, JSON.stringify(report, null, 2));
      return bad === 0 ? 0 : 1;
    }
    for (const line of issueLines(checked)) println(out, line);
    for (const line of warningLines(checked)) println(out, `warning: ${line}`);
    println(out, bad === 0 ? `all ${items.length} rules are valid` : `${bad} of ${items.length} rules are invalid`);
    if (verdict) for (const line of verdictLines(verdict)) println(out, line);
    return bad === 0 ? 0 : 1;
  },
};
