import { ConditionalCheckFailedException, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { STATE_PARTITION_KEY } from '../../config/tables';
import type { AuditRecord, BounceState, MessageLedger } from '../../ports';

/** Partition key of a message's item in the state table. */
export function messageKey(messageId: string): Record<string, string> {
  return { [STATE_PARTITION_KEY]: `msg#${messageId}` };
}

/** Fields a transition may change besides the state (the ledger's `patch`). */
export type TransitionPatch = Partial<Pick<AuditRecord, 'attempts' | 'sesBounceMessageId' | 'lastError' | 'guard'>>;

/** The parts of an UpdateItem that move a message between states; shared with the rate gate's transaction. */
export interface TransitionUpdate {
  readonly Key: Record<string, string>;
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * Builds the conditional update `state ∈ from → to`, setting `updatedAt` and
 * the defined fields of `patch`. The condition on the state is the whole
 * concurrency story of the send path: a consumer that loses the race changes
 * nothing.
 */
export function transitionUpdate(
  messageId: string,
  from: readonly BounceState[],
  to: BounceState,
  patch: TransitionPatch | undefined,
  updatedAt: string,
): TransitionUpdate {
  if (from.length === 0) throw new RangeError(`transition of '${messageId}' to ${to} needs at least one source state`);
  const names: Record<string, string> = { '#state': 'state', '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':to': to, ':updatedAt': updatedAt };
  const sets = ['#state = :to', '#updatedAt = :updatedAt'];
  for (const [field, value] of Object.entries(patch ?? {})) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  const fromPlaceholders = from.map((state, i) => {
    values[`:from${i}`] = state;
    return `:from${i}`;
  });
  return {
    Key: messageKey(messageId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: `#state IN (${fromPlaceholders.join(', ')})`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Document-client options shared by the state-table adapters: optional fields are simply absent. */
export function stateDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export interface DynamoDbMessageLedgerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Clock for `updatedAt`. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The per-message item of the state table (`msg#<messageId>`): claim, job
 * state and audit record in one. Every write is conditional; a failed
 * condition is an answer (`claimed: false`, `false`), never an exception.
 */
export class DynamoDbMessageLedger implements MessageLedger {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => Date;

  constructor(options: DynamoDbMessageLedgerOptions) {
    this.doc = stateDocumentClient(options.client);
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
  }

  async claim(record: AuditRecord): Promise<{ claimed: true } | { claimed: false; existing: AuditRecord }> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, ...messageKey(record.messageId) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': STATE_PARTITION_KEY },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The failed put carries the winner's item: no second request needed.
      // The document client does not convert error payloads, hence fromAttributeMap.
      const existing = error.Item ? toRecord(fromAttributeMap(error.Item)) : await this.get(record.messageId);
      if (!existing) throw new Error(`claim of '${record.messageId}' failed its condition but no item exists`, { cause: error });
      return { claimed: false, existing };
    }
  }

  async get(messageId: string): Promise<AuditRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: messageKey(messageId), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async transition(
    messageId: string,
    from: readonly BounceState[],
    to: BounceState,
    patch?: TransitionPatch,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          ...transitionUpdate(messageId, from, to, patch, this.now().toISOString()),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function toRecord(item: Record<string, unknown>): AuditRecord {
  const { [STATE_PARTITION_KEY]: _pk, ...record } = item;
  return record as unknown as AuditRecord;
}

/** Converts a raw attribute map (as found on ConditionalCheckFailedException.Item) to plain values. */
export function fromAttributeMap(item: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) out[name] = fromAttributeValue(value);
  return out;
}

function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.B !== undefined) return value.B;
  throw new TypeError(`unsupported attribute value with keys ${JSON.stringify(Object.keys(value))}`);
}
