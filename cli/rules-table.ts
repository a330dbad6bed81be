/**
 * The rules table as the CLI reads and writes it: whole items, in the form an
 * operator wrote them (plain JSON values; numbers stored as numbers, lists as
 * lists). The pipeline reads the same items through `DynamoDbRuleSource`.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { RULES_PARTITION_KEY } from '../lambda/config/tables';
import { CommandError } from './errors';

/** A rule item as plain JSON. */
export type RuleItem = Record<string, unknown>;

/** BatchWriteItem's limit per call. */
export const BATCH_SIZE = 25;

export interface RulesTableOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Appended to "table ... does not exist" (e.g. ` in eu-west-1`). */
  readonly where?: string;
  /** Retries of UnprocessedItems per batch before giving up. @default 8 */
  readonly maxBatchRetries?: number;
  /** First wait before retrying unprocessed items, doubled each time. @default 50 */
  readonly retryBaseMs?: number;
}

/**
 * Converts an item read with `wrapNumbers` to plain JSON: numbers become
 * numbers when that loses nothing (else their exact text), sets become lists,
 * binary becomes base64. Rule items hold no binary; this only keeps a stray
 * attribute from breaking `export`.
 */
export function toJsonValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value.constructor?.name === 'NumberValue') {
    const text = String(value);
    const n = Number(text);
    return Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n)) ? n : text;
  }
  if (value instanceof Set) return [...value].map(toJsonValue);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RulesTable {
  readonly tableName: string;
  private readonly client: DynamoDBClient;

  constructor(private readonly options: RulesTableOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /** Every item, in table order, as plain JSON. */
  async scan(): Promise<RuleItem[]> {
    const items: RuleItem[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true })),
      );
      for (const raw of page.Items ?? []) items.push(toJsonValue(unmarshall(raw, { wrapNumbers: true })) as RuleItem);
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async get(ruleId: string): Promise<RuleItem | undefined> {
    const out = await this.call(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [RULES_PARTITION_KEY]: { S: ruleId } }, ConsistentRead: true })),
    );
    return out.Item ? (toJsonValue(unmarshall(out.Item, { wrapNumbers: true })) as RuleItem) : undefined;
  }

  /** Writes one item (replacing any with its ruleId); says whether it replaced one. */
  async put(item: RuleItem): Promise<'created' | 'replaced'> {
    const out = await this.call(() =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshallItem(item), ReturnValues: 'ALL_OLD' })),
    );
    return out.Attributes ? 'replaced' : 'created';
  }

  /** Deletes the item only if it exists (conditional delete); false when there was none. */
  async delete(ruleId: string): Promise<boolean> {
    try {
      await this.call(() =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { [RULES_PARTITION_KEY]: { S: ruleId } },
            ConditionExpression: 'attribute_exists(#id)',
            ExpressionAttributeNames: { '#id': RULES_PARTITION_KEY },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Writes items with BatchWriteItem, {@link BATCH_SIZE} at a time, retrying
   * UnprocessedItems with doubling waits. Reports the running total after
   * each batch. The items' ruleIds must be distinct (a batch refuses two
   * writes of one key).
   */
  async putMany(items: readonly RuleItem[], onProgress?: (written: number, total: number) => void): Promise<void> {
    const maxRetries = this.options.maxBatchRetries ?? 8;
    const baseMs = this.options.retryBaseMs ?? 50;
    let written = 0;
    for (let i = 0; i < items.length; i += BATCH_SIZE) {
      const chunk = items.slice(i, i + BATCH_SIZE);
      let pending: WriteRequest[] = chunk.map((item) => ({ PutRequest: { Item: marshallItem(item) } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > maxRetries) {
          throw new CommandError(
            `${written + chunk.length - pending.length} of ${items.length} rules written; ${pending.length} were still unprocessed after ${maxRetries} retries (table throttled?): run the import again`,
          );
        }
        if (attempt > 0) await sleep(baseMs * 2 ** (attempt - 1));
        const requests = pending;
        const out = await this.call(() =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } })),
        );
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
      written += chunk.length;
      onProgress?.(written, items.length);
    }
  }

  /** Runs one request, turning a missing table into a clear message. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CommandError(`rules table ${JSON.stringify(this.tableName)} does not exist${this.options.where ?? ''}`, { cause: error });
      }
      throw error;
    }
  }
}

/** Marshalls a JSON rule item: numbers as N, lists as L, maps as M; null stays NULL. */
export function marshallItem(item: RuleItem): Record<string, AttributeValue> {
  return marshall(item, { removeUndefinedValues: true });
}
