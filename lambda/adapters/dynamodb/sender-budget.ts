/**
 * SenderBudget over the state table. One item per sender domain and fixed
 * window holds the domain's count and one counter attribute per sender
 * address, so taking a bounce is ONE conditional UpdateItem: both counters
 * rise together, or — when either is spent — neither does.
 *
 * Item: `pk = budget#domain#<domain>#<windowStartMs>`, `domainCount`,
 * `addr#<address>` per address, `expiresAt` (TTL) after the window ends.
 * Addresses are counted without BATV wrapper and `+tag` (see budgetAddress).
 * The item grows by one attribute per distinct address in the window, which
 * the domain limit bounds; DynamoDB's 400 KB item limit leaves room for about
 * a thousand distinct maximum-length addresses (far more typical ones), so
 * keep the per-domain limit below that.
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SesBouncerError } from '../../commons/errors';
import { STATE_PARTITION_KEY, STATE_TTL_ATTRIBUTE } from '../../config/tables';
import { budgetAddress } from '../../domain/rules';
import type { SenderBudget } from '../../ports';

/** The budget could not be read or written; the caller must not bounce on it. */
export class SenderBudgetError extends SesBouncerError {}

export interface SenderBudgetLimits {
  /** Bounces per sender address per window (config `senderBudgetPerAddress`). */
  readonly perAddress: number;
  /** Bounces per sender domain per window (config `senderBudgetPerDomain`). */
  readonly perDomain: number;
  /** Fixed window length (config `senderBudgetWindowMs`). */
  readonly windowMs: number;
}

export interface DynamoDbSenderBudgetOptions extends SenderBudgetLimits {
  readonly client: DynamoDBClient;
  /** The state table (partition key `pk`, TTL `expiresAt`). */
  readonly tableName: string;
}

/** Key of a sender's counters in one window, shared by the DynamoDB and in-memory budgets. */
export function budgetKey(sender: string, now: Date, windowMs: number): { pk: string; address: string; windowEndMs: number } | undefined {
  const { address, domain } = budgetAddress(sender);
  if (address === '') return undefined;
  const windowStart = Math.floor(now.getTime() / windowMs) * windowMs;
  return { pk: `budget#domain#${domain || '(none)'}#${windowStart}`, address, windowEndMs: windowStart + windowMs };
}

export class DynamoDbSenderBudget implements SenderBudget {
  constructor(private readonly options: DynamoDbSenderBudgetOptions) {}

  /**
   * Takes one bounce from the sender's address and domain budgets. False,
   * changing nothing, when either is spent, when a limit is 0, or for the null
   * sender. Throws {@link SenderBudgetError} when DynamoDB fails.
   */
  async consume(sender: string, now: Date): Promise<boolean> {
    const { perAddress, perDomain, windowMs, tableName, client } = this.options;
    const key = budgetKey(sender, now, windowMs);
    if (!key || perAddress <= 0 || perDomain <= 0) return false;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { [STATE_PARTITION_KEY]: { S: key.pk } },
          UpdateExpression: 'ADD #domain :one, #address :one SET #ttl = :ttl',
          ConditionExpression:
            '(attribute_not_exists(#domain) OR #domain < :perDomain) AND (attribute_not_exists(#address) OR #address < :perAddress)',
          ExpressionAttributeNames: { '#domain': 'domainCount', '#address': `addr#${key.address}`, '#ttl': STATE_TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':perDomain': { N: String(perDomain) },
            ':perAddress': { N: String(perAddress) },
            // Kept an hour past the window so the item can be inspected; TTL deletion is lazy anyway.
            ':ttl': { N: String(Math.ceil(key.windowEndMs / 1000) + 3600) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
        return false;
      }
      throw new SenderBudgetError(`cannot update the sender budget in table "${tableName}": ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Whether {@link consume} would succeed now, with ONE GetItem of the same
   * item and no write: a shadow bounce must not spend a real sender's budget.
   * Eventually consistent (half the read cost): a verdict off by a bounce
   * taken in the last second is good enough for a record of what would have
   * happened. Throws {@link SenderBudgetError} when DynamoDB fails.
   */
  async peek(sender: string, now: Date): Promise<boolean> {
    const { perAddress, perDomain, windowMs, tableName, client } = this.options;
    const key = budgetKey(sender, now, windowMs);
    if (!key || perAddress <= 0 || perDomain <= 0) return false;
    try {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { [STATE_PARTITION_KEY]: { S: key.pk } },
          ProjectionExpression: '#domain, #address',
          ExpressionAttributeNames: { '#domain': 'domainCount', '#address': `addr#${key.address}` },
        }),
      );
      const domainCount = Number(Item?.domainCount?.N ?? 0);
      const addressCount = Number(Item?.[`addr#${key.address}`]?.N ?? 0);
      return domainCount < perDomain && addressCount < perAddress;
    } catch (error) {
      throw new SenderBudgetError(`cannot read the sender budget in table "${tableName}": ${(error as Error).message}`, { cause: error });
    }
  }
}
