import { parseRule } from '../../../lambda/domain/rules';
import type { Command } from '../../command';
import { CommandError } from '../../errors';
import { println } from '../../io';
import { isItem, readJson } from '../../rules-input';

/** `rules put FILE|-`: validate one rule, then write it. */
export const putCommand: Command = {
  spec: {
    name: 'rules put',
    summary: 'validate one rule (JSON file or stdin) and write it',
    help: `Usage: ses-bouncer rules put FILE|- [options]

Reads one rule object (JSON) from FILE, or from standard input with "-",
validates it exactly as the functions will, and writes it with PutItem
(replacing any rule with the same ruleId). An invalid rule is not written: every
problem is listed with its field and the command exits 1. Numbers are stored as
numbers, lists as lists. docs/rules.md describes the attributes.

Examples:
  ses-bouncer rules put rule.json --table ses-bouncer-rules
  echo '{"ruleId":"gone","recipients":["bob@example.com"],"action":"bounce"}' \\
    | ses-bouncer rules put - --table ses-bouncer-rules`,
    flags: {},
    positionals: { min: 1, max: 1 },
  },
  async run(ctx) {
    const source = ctx.args.positionals[0];
    const doc = await readJson(source, ctx.io);
    if (Array.isArray(doc) || (isItem(doc) && Array.isArray(doc.rules))) {
      throw new CommandError('rules put takes one rule object; use rules import for a list of rules');
    }
    const table = ctx.rulesTable();
    const result = parseRule(doc);
    for (const w of result.warnings) println(ctx.io.stderr, `warning: ${w.ruleId ?? '(no ruleId)'}  ${w.field}: ${w.reason}`);
    if (!result.ok) {
      for (const e of result.errors) println(ctx.io.stderr, `${e.ruleId ?? '(no ruleId)'}  ${e.field}: ${e.reason}`);
      println(ctx.io.stderr, `ses-bouncer: rule not written: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}`);
      return 1;
    }
    const outcome = await table.put(doc as Record<string, unknown>);
    println(ctx.io.stdout, `${outcome} rule ${result.rule.ruleId} in ${table.tableName}`);
    return 0;
  },
};
