import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  STATE_OPEN_ATTRIBUTE,
  STATE_OPEN_INDEX,
  STATE_OPEN_SORT_KEY,
  STATE_PARTITION_KEY,
} from '../../config/tables';
import { logger as projectLogger } from '../../commons/logger';
import { MetricName, MetricUnit, metrics as projectMetrics } from '../../commons/metrics';
import type { BounceSpec, RecipientDecision } from '../../domain/model';
import type { AuditRecord, BounceState, MessageLedger, OpenState, StaleClaims } from '../../ports';
import { RULE_INDEX_ITEM_ATTRIBUTES, ruleIndexWrites, writeFurtherItems, type RuleIndexLogger } from './rule-index';

/**
 * Attribute holding the token of the last write to an item. The SDK retries
 * a write whose answer was lost; the retry then fails its condition against
 * the item the first attempt wrote. Finding its own token there, the write
 * knows it took effect (issue 12, defect 2) instead of taking its own item
 * for someone else's.
 */
export const WRITE_TOKEN_ATTRIBUTE = 'writeToken';

/** States that keep a message in the sparse open index. */
const OPEN_STATES: ReadonlySet<BounceState> = new Set<BounceState>(['PENDING', 'SENDING']);

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
 * Builds the conditional update `state ∈ from → to`, setting `updatedAt`,
 * the write token and the defined fields of `patch`. The condition on the
 * state is the whole concurrency story of the send path: a consumer that
 * loses the race changes nothing. The open-index attribute follows the
 * state: set while PENDING or SENDING, removed once final.
 */
export function transitionUpdate(
  messageId: string,
  from: readonly BounceState[],
  to: BounceState,
  patch: TransitionPatch | undefined,
  updatedAt: string,
  writeToken: string = randomUUID(),
): TransitionUpdate {
  if (from.length === 0) throw new RangeError(`transition of '${messageId}' to ${to} needs at least one source state`);
  const names: Record<string, string> = {
    '#state': 'state',
    '#updatedAt': 'updatedAt',
    '#writeToken': WRITE_TOKEN_ATTRIBUTE,
    '#open': STATE_OPEN_ATTRIBUTE,
  };
  const values: Record<string, unknown> = { ':to': to, ':updatedAt': updatedAt, ':writeToken': writeToken };
  const sets = ['#state = :to', '#updatedAt = :updatedAt', '#writeToken = :writeToken'];
  if (OPEN_STATES.has(to)) sets.push('#open = :to');
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
    UpdateExpression: `SET ${sets.join(', ')}${OPEN_STATES.has(to) ? '' : ' REMOVE #open'}`,
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
  /** Where a failed rule-index write is reported. @default the project logger */
  readonly logger?: RuleIndexLogger;
  /** Counts index entries given up (`RuleIndexEntriesLost`). @default the project metrics instance */
  readonly metrics?: { addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void };
}

const defaultIndexLogger: RuleIndexLogger = {
  warn: (message, extra) => projectLogger.warn(message, extra as Record<string, string>),
};

/**
 * The per-message item of the state table (`msg#<messageId>`): claim, job
 * state and audit record in one. Every write is conditional; a failed
 * condition is an answer (`claimed: false`, `false`), never an exception.
 *
 * The claim also puts the message in the rule index (./rule-index): its first
 * rule as attributes of the item, further rules as `match#` items written
 * once the claim is won (one BatchWriteItem, only for messages with several
 * rules; a lost claim writes none).
 */
export class DynamoDbMessageLedger implements MessageLedger, StaleClaims {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => Date;
  private readonly log: RuleIndexLogger;
  private readonly onIndexEntriesLost: (entries: number) => void;

  constructor(options: DynamoDbMessageLedgerOptions) {
    this.doc = stateDocumentClient(options.client);
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.log = options.logger ?? defaultIndexLogger;
    const metrics = options.metrics ?? projectMetrics;
    this.onIndexEntriesLost = (entries) => metrics.addMetric(MetricName.RuleIndexEntriesLost, MetricUnit.Count, entries);
  }

  async claim(record: AuditRecord): Promise<{ claimed: true } | { claimed: false; existing: AuditRecord }> {
    const token = randomUUID();
    const index = ruleIndexWrites(record);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...toItem(record),
            ...messageKey(record.messageId),
            [WRITE_TOKEN_ATTRIBUTE]: token,
            ...(OPEN_STATES.has(record.state) ? { [STATE_OPEN_ATTRIBUTE]: record.state } : {}),
            ...index.onAuditItem,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': STATE_PARTITION_KEY },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The failed put carries the winner's item: no second request needed.
      // The document client does not convert error payloads, hence fromAttributeMap.
      const item = error.Item ? fromAttributeMap(error.Item) : await this.getItem(record.messageId);
      if (!item) throw new Error(`claim of '${record.messageId}' failed its condition but no item exists`, { cause: error });
      // Our own put, retried by the SDK after its answer was lost: the claim is ours.
      if (item[WRITE_TOKEN_ATTRIBUTE] !== token) return { claimed: false, existing: toRecord(item) };
    }
    // The claim is ours: only now the message's further rules go in the index (never fails the claim).
    if (index.furtherItems.length > 0) await writeFurtherItems(this.doc, this.tableName, record.messageId, index.furtherItems, this.log, this.onIndexEntriesLost);
    return { claimed: true };
  }

  async get(messageId: string): Promise<AuditRecord | undefined> {
    const item = await this.getItem(messageId);
    return item ? toRecord(item) : undefined;
  }

  private async getItem(messageId: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: messageKey(messageId), ConsistentRead: true }),
    );
    return out.Item;
  }

  /**
   * Open messages in `state` last changed before `updatedBefore`, oldest
   * first, read from the sparse open index (never a Scan). Index reads are
   * eventually consistent: callers move what they find with conditional
   * transitions, which see the current item.
   */
  async stale(state: OpenState, updatedBefore: Date, limit: number): Promise<AuditRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: STATE_OPEN_INDEX,
        KeyConditionExpression: '#open = :state AND #updated < :before',
        ExpressionAttributeNames: { '#open': STATE_OPEN_ATTRIBUTE, '#updated': STATE_OPEN_SORT_KEY },
        ExpressionAttributeValues: { ':state': state, ':before': updatedBefore.toISOString() },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toRecord);
  }

  async transition(
    messageId: string,
    from: readonly BounceState[],
    to: BounceState,
    patch?: TransitionPatch,
  ): Promise<boolean> {
    const update = transitionUpdate(messageId, from, to, patch, this.now().toISOString());
    try {
      await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A retry of our own update whose answer was lost finds its token: it did apply.
      const current = error.Item ? fromAttributeMap(error.Item) : undefined;
      return current !== undefined && current[WRITE_TOKEN_ATTRIBUTE] === update.ExpressionAttributeValues[':writeToken'];
    }
  }
}

/**
 * The stored form of an audit record. A bounce spec (with its diagnostic
 * code and explanation, up to a few KB) is stored once per rule in
 * `bounces`, not once per recipient: a message to many recipients of one
 * rule stays far below DynamoDB's 400 KB item limit (issue 12, defect 9).
 */
export function toItem(record: AuditRecord): Record<string, unknown> {
  const bounces: Record<string, BounceSpec> = {};
  const decisions = record.decisions.map((d) => {
    if (d.action !== 'bounce') return d;
    bounces[d.ruleId] = d.bounce;
    return { recipient: d.recipient, action: d.action, ruleId: d.ruleId, ...(d.shadow ? { shadow: d.shadow } : {}) };
  });
  return { ...record, decisions, bounces };
}

/**
 * Reads a stored item back into a record; items written before `bounces`
 * existed carry their spec inline. Key and index attributes are dropped.
 */
function toRecord(item: Record<string, unknown>): AuditRecord {
  const {
    [STATE_PARTITION_KEY]: _pk,
    [WRITE_TOKEN_ATTRIBUTE]: _token,
    [STATE_OPEN_ATTRIBUTE]: _open,
    bounces,
    decisions,
    ...withIndex
  } = item as Record<string, unknown> & { bounces?: Record<string, BounceSpec>; decisions?: RecipientDecision[] };
  const rest: Record<string, unknown> = { ...withIndex };
  for (const name of RULE_INDEX_ITEM_ATTRIBUTES) delete rest[name];
  const specs = bounces ?? {};
  const full = (decisions ?? []).map((d) =>
    d.action === 'bounce' && (d as { bounce?: BounceSpec }).bounce === undefined ? { ...d, bounce: specs[d.ruleId] } : d,
  );
  return { ...rest, decisions: full } as unknown as AuditRecord;
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
