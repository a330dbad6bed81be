/**
 * Seeds the rules table from JSON files when it is empty, so `npm start`
 * bounces something out of the box and a persistent table is never
 * overwritten.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../lambda/commons/errors';
import { RULES_PARTITION_KEY } from '../lambda/config/tables';

/** The rules `npm start` seeds unless `--rules` names others. */
export const DEFAULT_SEED_RULES = join(__dirname, 'seed-rules.json');

/** A rule item as written in a seed file (plain JSON, as `rules put` takes it). */
export type RuleItem = Record<string, unknown> & { ruleId: string };

function itemsOf(json: unknown, file: string): RuleItem[] {
  const list = Array.isArray(json) ? json : json && typeof json === 'object' && Array.isArray((json as { rules?: unknown }).rules) ? (json as { rules: unknown[] }).rules : [json];
  return list.map((item, i) => {
    if (!item || typeof item !== 'object' || typeof (item as Record<string, unknown>)[RULES_PARTITION_KEY] !== 'string') {
      throw new ValidationError(`seed rule ${i} in "${file}" has no string ${RULES_PARTITION_KEY}`, `${i}.${RULES_PARTITION_KEY}`);
    }
    return item as RuleItem;
  });
}

/**
 * Reads rule items from a JSON file (one item, an array, or `{ "rules": [...] }`)
 * or from every `*.json` file of a directory, in name order.
 */
export function loadRuleItems(path: string): RuleItem[] {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  return files.flatMap((file) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ValidationError(`seed file "${file}" is not valid JSON: ${(error as Error).message}`, undefined, { cause: error });
    }
    return itemsOf(json, file);
  });
}

/**
 * Puts the items into the rules table if it holds no rule yet. Returns how
 * many were written (0 when the table already had rules).
 */
export async function seedRulesIfEmpty(client: DynamoDBClient, table: string, items: readonly RuleItem[]): Promise<number> {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const probe = await doc.send(new ScanCommand({ TableName: table, Limit: 1, ProjectionExpression: RULES_PARTITION_KEY }));
  if ((probe.Items?.length ?? 0) > 0) return 0;
  for (const item of items) await doc.send(new PutCommand({ TableName: table, Item: item }));
  return items.length;
}
