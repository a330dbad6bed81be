import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { printable } from '../../../lambda/commons/printable';
import { STATE_RULE_INDEX } from '../../../lambda/config/tables';
import { whereOf } from '../../aws';
import type { Command, CommandContext } from '../../command';
import { CommandError } from '../../errors';
import { renderTable } from '../../format/table';
import { println } from '../../io';
import { inEvaluationOrder } from '../../rules-input';
import { MAX_SINCE_DAYS, parseSince, reportRules, type RuleReport } from '../../report/rule-report';

const DEFAULT_SINCE = '24h';

/** `rules report`: what each rule did, from the state table's rule index (Query only). */
export const reportCommand: Command = {
  spec: {
    name: 'rules report',
    summary: 'what each rule did: bounced, refused, dropped, shadow matches',
    help: `Usage: ses-bouncer rules report [--rule ID]... [--since 24h] [--json] [options]

For each rule, over the last --since: messages bounced (the guard and the
sender budget let the bounce go), refused (the guard or the budget said no,
with the reasons), dropped, and shadow-matched (would-bounce, and how many of
those the guard or the budget would have refused; would-drop), the last match
and up to 3 message ids to pass to "ses-bouncer explain". A message with
several rules counts under each.

It reads the state table's rule-by-time index with Query only (one per rule
and UTC day of the window), never a Scan. Without --rule it reports every rule
of the rules table (--table), in evaluation order; a rule deleted from the
table is reported only when named with --rule.

Options:
  --rule ID      report this rule only (repeat for several); needs no rules table
  --since DUR    window ending now: 30m, 24h, 7d (default ${DEFAULT_SINCE}, at most ${MAX_SINCE_DAYS}d)
  --json         print {"stateTable", "from", "to", "rules": [...]} instead of a table

Examples:
  ses-bouncer rules report --table ses-bouncer-rules --state-table ses-bouncer-state
  ses-bouncer rules report --rule spam-trap --since 7d --state-table ses-bouncer-state`,
    flags: { rule: { type: 'string', multiple: true }, since: { type: 'string' }, json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const since = ctx.args.string('since') ?? DEFAULT_SINCE;
    const windowMs = parseSince(since);
    if (windowMs === undefined) {
      throw ctx.usageError(`--since ${JSON.stringify(since)} is not a duration: use minutes, hours or days such as 30m, 24h or 7d (at most ${MAX_SINCE_DAYS}d)`);
    }
    const stateTable = ctx.stateTableName();
    const named = ctx.args.strings('rule');
    const ruleIds = named.length > 0 ? [...new Set(named)] : await rulesOfTable(ctx);
    const to = new Date();
    const from = new Date(to.getTime() - windowMs);
    let reports: RuleReport[];
    try {
      reports = await reportRules(ctx.dynamodb(), stateTable, ruleIds, from, to);
    } catch (error) {
      throw readError(ctx, stateTable, error);
    }

    const out = ctx.io.stdout;
    if (ctx.args.flag('json')) {
      println(out, JSON.stringify({ stateTable, since, from: from.toISOString(), to: to.toISOString(), rules: reports }, null, 2));
      return 0;
    }
    if (reports.length === 0) {
      println(out, `no rules in table ${printable(ctx.args.common.table ?? '')}: name one with --rule`);
      return 0;
    }
    for (const line of renderTable(
      ['RULE ID', 'BOUNCED', 'REFUSED', 'DROPPED', 'WOULD-BOUNCE', 'WOULD-DROP', 'LAST MATCH', 'EXPLAIN'],
      reports.map((r) => [
        r.ruleId,
        String(r.bounced),
        String(r.refused),
        String(r.dropped),
        r.wouldBounceRefused > 0 ? `${r.wouldBounce} (${r.wouldBounceRefused} refused)` : String(r.wouldBounce),
        String(r.wouldDrop),
        r.lastMatch ?? '-',
        r.examples.join(' ') || '-',
      ]),
    )) {
      println(out, line);
    }
    const why = reports.flatMap((r) => [
      ...(r.refused > 0 ? [`${printable(r.ruleId)}: refused ${r.refused}: ${reasons(r.refusedBy)}`] : []),
      ...(r.wouldBounceRefused > 0 ? [`${printable(r.ruleId)}: would have been refused ${r.wouldBounceRefused}: ${reasons(r.wouldBounceRefusedBy)}`] : []),
    ]);
    if (why.length > 0) {
      println(out);
      for (const line of why) println(out, line);
    }
    println(out);
    const total = reports.reduce((n, r) => n + r.messages, 0);
    println(out, `${reports.length} rules, ${total} matches from ${from.toISOString()} to ${to.toISOString()} (${since}), rule index of ${printable(stateTable)}`);
    const asReceived = reports.reduce((n, r) => n + r.asReceived, 0);
    if (asReceived > 0) {
      println(out, `${asReceived} bounce decisions under a message's further rules are counted by their state at receipt (see docs/rules.md)`);
    }
    return 0;
  },
};

/** `reason n, reason n` by count, largest first. */
function reasons(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([reason, n]) => `${printable(reason)} ${n}`)
    .join(', ');
}

/** The rule ids of the rules table, in evaluation order (items without a usable id are left out). */
async function rulesOfTable(ctx: CommandContext): Promise<string[]> {
  const items = inEvaluationOrder(await ctx.rulesTable().scan());
  return items.flatMap((item) => (typeof item.ruleId === 'string' && item.ruleId !== '' ? [item.ruleId] : []));
}

/** A missing table or index as a clear message; anything else unchanged. */
function readError(ctx: CommandContext, stateTable: string, error: unknown): unknown {
  if (error instanceof ResourceNotFoundException) {
    return new CommandError(`state table ${JSON.stringify(stateTable)} does not exist${whereOf(ctx.args.common)}`, { cause: error });
  }
  if (error instanceof Error && error.name === 'ValidationException' && /index/i.test(error.message)) {
    return new CommandError(
      `state table ${JSON.stringify(stateTable)} has no ${STATE_RULE_INDEX} index: deploy this version of the bouncer (the stack adds it; a shared state table gets it from its owner)`,
      { cause: error },
    );
  }
  return error;
}
