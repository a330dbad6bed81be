/**
 * The rules pointer item in the state table (`pk = rules#pointer`): which
 * compiled snapshot is current, and the compile step's verdict on the table.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SesBouncerError } from '../../commons/errors';
import { STATE_PARTITION_KEY } from '../../config/tables';
import { RULES_POINTER_PK, rulesPointerKey, type PointerInvalidItem, type RulesPointer } from '../../domain/rules/pointer';
import { stateDocumentClient } from './message-ledger';

/** The pointer could not be read or written (an SDK error), or the stored item is not a pointer. */
export class RulesPointerError extends SesBouncerError {}

export interface DynamoDbRulesPointerOptions {
  readonly client: DynamoDBClient;
  /** The state table. */
  readonly tableName: string;
  /**
   * The rules table the pointer describes: the key becomes
   * `rules#pointer#<rulesTable>` ({@link rulesPointerKey}), so bouncers sharing
   * a state table keep one pointer each. Without it, `rules#pointer`.
   */
  readonly rulesTable?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function isInvalidItem(v: unknown): v is PointerInvalidItem {
  if (typeof v !== 'object' || v === null) return false;
  const i = v as Record<string, unknown>;
  return (
    (i.ruleId === undefined || isString(i.ruleId)) &&
    typeof i.index === 'number' &&
    Array.isArray(i.problems) &&
    i.problems.every(isString) &&
    isString(i.holdsBouncesFor)
  );
}

/** The item as a pointer, or a reason it is not one. */
function toPointer(item: Record<string, unknown>): RulesPointer | string {
  const { version, objectKey, scanStartedAt, compiledAt, rules, disabled, invalidCount, invalid, bytes, staleSince, staleReason } = item;
  if (!isString(version) || version === '') return 'version is missing';
  if (!isString(objectKey) || objectKey === '') return 'objectKey is missing';
  if (!isString(scanStartedAt) || !isString(compiledAt)) return 'scanStartedAt or compiledAt is missing';
  if (!isCount(rules) || !isCount(disabled) || !isCount(invalidCount) || !isCount(bytes)) return 'a count is missing';
  if (!Array.isArray(invalid) || !invalid.every(isInvalidItem)) return 'invalid is not a list of items';
  if ((staleSince !== undefined && !isString(staleSince)) || (staleReason !== undefined && !isString(staleReason))) return 'staleSince or staleReason is not a string';
  return {
    version,
    objectKey,
    scanStartedAt,
    compiledAt,
    rules,
    disabled,
    invalidCount,
    invalid,
    bytes,
    ...(staleSince !== undefined ? { staleSince } : {}),
    ...(staleReason !== undefined ? { staleReason } : {}),
  };
}

/**
 * Reads and publishes the pointer. `publish` is conditional: a compile whose
 * scan started earlier never replaces a pointer written by one whose scan
 * started later, so concurrent compiles (one per stream shard, retries) end
 * on the newest table state whatever order they finish in.
 */
export class DynamoDbRulesPointer {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly key: string;

  constructor(options: DynamoDbRulesPointerOptions) {
    this.doc = stateDocumentClient(options.client);
    this.tableName = options.tableName;
    this.key = options.rulesTable === undefined ? RULES_POINTER_PK : rulesPointerKey(options.rulesTable);
  }

  /**
   * The current pointer; undefined when none was published yet. One GetItem
   * of one small item, whatever the number of rules. Throws
   * {@link RulesPointerError} when it cannot be read or is not a pointer.
   */
  async read(): Promise<RulesPointer | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [STATE_PARTITION_KEY]: this.key } }));
      item = out.Item;
    } catch (error) {
      throw new RulesPointerError(`cannot read the rules pointer from table ${JSON.stringify(this.tableName)}: ${message(error)}`, { cause: error });
    }
    if (!item) return undefined;
    const pointer = toPointer(item);
    if (typeof pointer === 'string') throw new RulesPointerError(`the rules pointer in table ${JSON.stringify(this.tableName)} is malformed: ${pointer}`);
    return pointer;
  }

  /**
   * Writes the pointer unless one with a later `scanStartedAt` (or the same
   * one and a later version) is there. True when written, false when a newer
   * pointer won. Throws {@link RulesPointerError} on any other failure.
   */
  async publish(pointer: RulesPointer): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [STATE_PARTITION_KEY]: this.key, ...pointer },
          ConditionExpression: 'attribute_not_exists(#pk) OR #s < :s OR (#s = :s AND #v < :v)',
          ExpressionAttributeNames: { '#pk': STATE_PARTITION_KEY, '#s': 'scanStartedAt', '#v': 'version' },
          ExpressionAttributeValues: { ':s': pointer.scanStartedAt, ':v': pointer.version },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new RulesPointerError(`cannot publish the rules pointer to table ${JSON.stringify(this.tableName)}: ${message(error)}`, { cause: error });
    }
  }

  /**
   * Marks the pointer stale after a failed compile whose scan started at
   * `scanStartedAt`: only a pointer from an earlier scan (which may lack the
   * change that started the failed compile), and only once (the first
   * failure's time is kept). True when marked; false when there is no
   * pointer, it is newer, or it is marked already.
   */
  async markStale(scanStartedAt: string, reason: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [STATE_PARTITION_KEY]: this.key },
          UpdateExpression: 'SET #since = :s, #reason = :r',
          ConditionExpression: 'attribute_exists(#pk) AND #s < :s AND attribute_not_exists(#since)',
          ExpressionAttributeNames: { '#pk': STATE_PARTITION_KEY, '#s': 'scanStartedAt', '#since': 'staleSince', '#reason': 'staleReason' },
          ExpressionAttributeValues: { ':s': scanStartedAt, ':r': reason.slice(0, MAX_STALE_REASON) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new RulesPointerError(`cannot mark the rules pointer stale in table ${JSON.stringify(this.tableName)}: ${message(error)}`, { cause: error });
    }
  }
}

/** Longest failure reason kept on the pointer. */
const MAX_STALE_REASON = 500;

const message = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
