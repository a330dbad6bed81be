/**
 * The compile step's verdict on the deployed rules table (issue 13), as
 * `rules list` and `rules validate` show it: read from the rules pointer in
 * the state table, so it says what the functions use now, which items they
 * skip and why, not what this CLI thinks of the table.
 */
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDbRulesPointer } from '../lambda/adapters/dynamodb/rules-pointer';
import { printable } from '../lambda/commons/printable';
import type { RulesPointer } from '../lambda/domain/rules/pointer';
import type { CommandContext } from './command';

/** How to name the state table, for a verdict that cannot be shown without it. */
export const STATE_TABLE_HINT = 'pass --state-table NAME or set SES_BOUNCER_STATE_TABLE (the stack output StateTableName)';

/** What is known about the compile step's verdict. */
export type CompileVerdict =
  /** No state table was named: the verdict is not looked up. */
  | { readonly status: 'unknown'; readonly hint: string }
  /** No compile published a pointer for this rules table yet: the functions scan the table. */
  | { readonly status: 'not-compiled'; readonly stateTable: string }
  /** The pointer could not be read (missing table, no permission, malformed item). */
  | { readonly status: 'unreadable'; readonly stateTable: string; readonly error: string }
  | ({ readonly status: 'compiled'; readonly stateTable: string } & RulesPointer);

/**
 * Reads the pointer of the rules table `rulesTable` from the state table of
 * `--state-table` / SES_BOUNCER_STATE_TABLE. Never throws: the verdict is
 * extra information beside the table's own listing.
 */
export async function readCompileVerdict(ctx: CommandContext, rulesTable: string): Promise<CompileVerdict> {
  const stateTable = ctx.args.common.stateTable;
  if (!stateTable) return { status: 'unknown', hint: STATE_TABLE_HINT };
  try {
    const pointer = await new DynamoDbRulesPointer({ client: ctx.dynamodb(), tableName: stateTable, rulesTable }).read();
    return pointer ? { status: 'compiled', stateTable, ...pointer } : { status: 'not-compiled', stateTable };
  } catch (error) {
    const cause = error instanceof Error ? error.cause : undefined;
    const message =
      cause instanceof ResourceNotFoundException ? `state table ${JSON.stringify(stateTable)} does not exist` : error instanceof Error ? error.message : String(error);
    return { status: 'unreadable', stateTable, error: message };
  }
}

/** "5 min ago" for an ISO time, from `now`. */
function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return 'at an unknown time';
  if (ms < 0) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min ago`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}

/** The verdict as text lines (untrusted parts escaped). */
export function verdictLines(verdict: CompileVerdict, now = Date.now()): string[] {
  switch (verdict.status) {
    case 'unknown':
      return [`compile step: not shown; ${verdict.hint}`];
    case 'not-compiled':
      return [
        `compile step: no compiled snapshot of this table in ${verdict.stateTable} yet; the functions scan the rules table until the first compile (the next rule edit, or the compile schedule)`,
      ];
    case 'unreadable':
      return [`compile step: cannot read the rules pointer: ${printable(verdict.error)}`];
    case 'compiled': {
      const lines = [
        `compile step: snapshot ${printable(verdict.version)}, compiled ${verdict.compiledAt} (${ago(verdict.compiledAt, now)}): ` +
          `${verdict.rules} ${verdict.rules === 1 ? 'rule' : 'rules'} in use, ${verdict.disabled} disabled, ${verdict.invalidCount} invalid ${verdict.invalidCount === 1 ? 'item' : 'items'} skipped`,
      ];
      if (verdict.staleSince !== undefined) {
        lines.push(
          `  STALE since ${verdict.staleSince}: a later compile failed (${printable(verdict.staleReason ?? 'no reason given')}); ` +
            'the functions scan the rules table until a compile succeeds',
        );
      }
      for (const bad of verdict.invalid) {
        const id = bad.ruleId === undefined ? `(item ${bad.index} without ruleId)` : printable(bad.ruleId);
        lines.push(`  skipped ${id}: ${printable(bad.problems.join('; '))}`);
        lines.push(`    holds bounces for ${printable(bad.holdsBouncesFor)}`);
      }
      const unlisted = verdict.invalidCount - verdict.invalid.length;
      if (unlisted > 0) lines.push(`  and ${unlisted} more (the compile function's log has each as "invalid rule skipped")`);
      return lines;
    }
  }
}
