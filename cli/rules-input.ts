/**
 * Reading rule items from a JSON file or standard input, and checking them
 * with the rules domain before anything is written.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { printable } from '../lambda/commons/printable';
import { DEFAULT_PRIORITY, compileRules, type RuleCompilation } from '../lambda/domain/rules';
import { CommandError } from './errors';
import type { CliIo } from './io';
import type { RuleItem } from './rules-table';

/** Reads and parses JSON from a file, or from stdin when `source` is `-`. */
export async function readJson(source: string, io: CliIo): Promise<unknown> {
  let text: string;
  const name = source === '-' ? 'standard input' : JSON.stringify(source);
  try {
    text = source === '-' ? await io.readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CommandError(`cannot read ${name}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CommandError(`${name} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Rule items from `-` (standard input), a JSON file, or every `*.json` file of
 * a directory in name order (as `npm start --rules DIR` seeds them).
 */
export async function readRuleItems(source: string, io: CliIo, single: boolean): Promise<unknown[]> {
  if (source !== '-' && (await stat(source).catch(() => undefined))?.isDirectory()) {
    const files = (await readdir(source)).filter((f) => f.endsWith('.json')).sort();
    if (files.length === 0) throw new CommandError(`directory ${JSON.stringify(source)} holds no .json file`);
    const items: unknown[] = [];
    for (const file of files) {
      const path = join(source, file);
      items.push(...itemsOf(await readJson(path, io), path, single));
    }
    return items;
  }
  return itemsOf(await readJson(source, io), source, single);
}

/**
 * The rule items in a parsed document: a JSON array, `{"rules": [...]}`, or
 * (when `single` is allowed) one rule object.
 */
export function itemsOf(doc: unknown, source: string, single: boolean): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (doc !== null && typeof doc === 'object') {
    const rules = (doc as Record<string, unknown>).rules;
    if (Array.isArray(rules)) return rules;
    if (single && rules === undefined) return [doc];
  }
  const what = single ? 'a rule object, a JSON array of rules or {"rules": [...]}' : 'a JSON array of rules or {"rules": [...]}';
  throw new CommandError(`${source === '-' ? 'standard input' : JSON.stringify(source)} must hold ${what}`);
}

/** One line per problem: `<ruleId or item #n>  <field>: <reason>`, control characters escaped. */
export function issueLines(compilation: Pick<RuleCompilation, 'invalid'>): string[] {
  const lines: string[] = [];
  for (const bad of compilation.invalid) {
    const who = bad.ruleId !== undefined ? bad.ruleId : `item #${bad.index + 1} (no ruleId)`;
    for (const e of bad.errors) lines.push(printable(`${who}  ${e.field}: ${e.reason}`));
  }
  return lines;
}

/** One line per warning (ignored attributes). */
export function warningLines(compilation: Pick<RuleCompilation, 'warnings'>): string[] {
  return compilation.warnings.map((w) => printable(`${w.ruleId ?? '(no ruleId)'}  ${w.field}: ${w.reason}`));
}

/** Validates items exactly as the functions do when they load the table. */
export function checkItems(items: readonly unknown[]): RuleCompilation {
  return compileRules(items);
}

/** True when the value is a JSON object (a candidate rule item). */
export function isItem(value: unknown): value is RuleItem {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Items in evaluation order: priority (absent or unreadable counts as the
 * default) then ruleId by code unit, as the rules domain orders rules.
 */
export function inEvaluationOrder<T extends RuleItem>(items: readonly T[]): T[] {
  const priorityOf = (item: RuleItem): number => {
    const p = item.priority;
    const n = typeof p === 'number' ? p : typeof p === 'string' && p.trim() !== '' ? Number(p) : NaN;
    return Number.isFinite(n) ? n : DEFAULT_PRIORITY;
  };
  const idOf = (item: RuleItem) => (typeof item.ruleId === 'string' ? item.ruleId : '');
  return [...items].sort((a, b) => {
    const byPriority = priorityOf(a) - priorityOf(b);
    if (byPriority !== 0) return byPriority;
    const x = idOf(a);
    const y = idOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
