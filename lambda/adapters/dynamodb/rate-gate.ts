import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SesBouncerError } from '../../commons/errors';
import { STATE_PARTITION_KEY } from '../../config/tables';
import { systemClock, type Clock } from '../../ports/clock';
import {
  DEFAULT_LATE_TOLERANCE_MS,
  DEFAULT_SLOT_MARGIN_MS,
  assertSlotSpacing,
  type AcquireOptions,
  type AcquireResult,
  type RateGate,
} from '../../ports/rate-gate';
import { stateDocumentClient, transitionUpdate } from './message-ledger';

/** The gate could not reserve a slot because every attempt lost a race; the job should be retried later. */
export class RateGateContentionError extends SesBouncerError {}

export interface DynamoDbRateGateOptions {
  readonly client: DynamoDBClient;
  /** The state table; the gate is its item `gate#<key>`. */
  readonly tableName: string;
  /** Gate key (config `rateGateKey`): stacks that share it share the pace. */
  readonly key: string;
  /** Minimum spacing between call starts (config `rateGateIntervalMs`). */
  readonly intervalMs: number;
  /** @default {@link DEFAULT_SLOT_MARGIN_MS} */
  readonly marginMs?: number;
  /** @default {@link DEFAULT_LATE_TOLERANCE_MS} */
  readonly lateToleranceMs?: number;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Lost races tolerated per acquire before {@link RateGateContentionError}. @default 25 */
  readonly maxConflicts?: number;
  /**
   * Earliest start of a slot, counted from the read of the gate: covers the
   * reservation's own write, so that a slot on an idle gate is not already
   * past its lateness tolerance when the write returns. @default {@link DEFAULT_RESERVE_LEAD_MS}
   */
  readonly reserveLeadMs?: number;
}

/**
 * Default lead of a reservation. A TransactWriteItems takes 10–30 ms; with a
 * 20 ms lateness tolerance a slot starting "now" was often missed (the holder
 * then gave it up and wrote a second reservation).
 */
export const DEFAULT_RESERVE_LEAD_MS = 60;

/**
 * Slot reservation over one DynamoDB item, `gate#<key>`, holding `nextSlotAt`
 * (epoch ms): the earliest start of the next reservation.
 *
 * acquire: read `nextSlotAt` (strongly consistent); if `nextSlotAt - now > maxWaitMs`
 * reserve nothing (`no-slot`), else `startAt = max(now + reserveLead, nextSlotAt)`. Then write
 * `nextSlotAt = startAt + interval + margin` only if the item still holds the
 * value read (optimistic concurrency; a lost race re-reads). When a ledger
 * transition (PENDING → SENDING) is given, both writes go in one
 * TransactWriteItems: one write request for "slot + state change", and a
 * consumer never holds a slot for a message it does not own, or the reverse.
 *
 * Why the gap between call starts is never below `interval`: a holder starts
 * no earlier than `startAt` (it sleeps until then) and no later than
 * `startAt + tolerance` (else it gives the slot up). The next slot starts at
 * `startAt + interval + margin`, so consecutive starts are at least
 * `interval + margin - tolerance ≥ interval` apart. The remaining
 * `margin - tolerance` (20 ms by default) absorbs clock skew between
 * instances and the jitter between "start" and the request reaching SES.
 * Under a backlog the pace is one call per `interval + margin`
 * (1040 ms → 0.96/s).
 */
export class DynamoDbRateGate implements RateGate {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly key: Record<string, string>;
  private readonly intervalMs: number;
  private readonly marginMs: number;
  private readonly lateToleranceMs: number;
  private readonly clock: Clock;
  private readonly maxConflicts: number;
  private readonly reserveLeadMs: number;

  constructor(options: DynamoDbRateGateOptions) {
    this.doc = stateDocumentClient(options.client);
    this.tableName = options.tableName;
    this.key = { [STATE_PARTITION_KEY]: `gate#${options.key}` };
    this.intervalMs = options.intervalMs;
    this.marginMs = options.marginMs ?? DEFAULT_SLOT_MARGIN_MS;
    this.lateToleranceMs = options.lateToleranceMs ?? DEFAULT_LATE_TOLERANCE_MS;
    this.clock = options.clock ?? systemClock;
    this.maxConflicts = options.maxConflicts ?? 25;
    this.reserveLeadMs = options.reserveLeadMs ?? DEFAULT_RESERVE_LEAD_MS;
    assertSlotSpacing(this.marginMs, this.lateToleranceMs);
  }

  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    for (let conflicts = 0; conflicts <= this.maxConflicts; conflicts++) {
      const seen = await this.readNextSlotAt();
      const now = this.clock.now();
      const nextFree = Math.max(now, seen ?? 0);
      // The wait for other holders decides no-slot; the lead only moves the start later (never closer to others).
      if (nextFree - now > options.maxWaitMs) return { kind: 'no-slot', nextFreeAt: nextFree };
      const startAt = Math.max(now + this.reserveLeadMs, nextFree);
      const outcome = await this.reserve(seen, startAt + this.intervalMs + this.marginMs, options);
      if (outcome === 'reserved') {
        return { kind: 'reserved', slot: { startAt, latestStartAt: startAt + this.lateToleranceMs } };
      }
      if (outcome === 'transition-refused') return { kind: 'transition-refused' };
      // Lost the race for the gate item: someone else took this slot. A short
      // random pause spreads the re-reads of the contenders.
      await this.clock.sleep(Math.floor(Math.random() * 15));
    }
    throw new RateGateContentionError(`rate gate '${this.key[STATE_PARTITION_KEY]}' lost ${this.maxConflicts + 1} races in a row`);
  }

  private async readNextSlotAt(): Promise<number | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }));
    const value = out.Item?.nextSlotAt;
    return typeof value === 'number' ? value : undefined;
  }

  private async reserve(
    seen: number | undefined,
    nextSlotAt: number,
    options: AcquireOptions,
  ): Promise<'reserved' | 'gate-conflict' | 'transition-refused'> {
    const gateUpdate = {
      TableName: this.tableName,
      Key: this.key,
      UpdateExpression: 'SET nextSlotAt = :next',
      ConditionExpression: seen === undefined ? 'attribute_not_exists(#pk)' : 'nextSlotAt = :seen',
      ExpressionAttributeNames: seen === undefined ? { '#pk': STATE_PARTITION_KEY } : undefined,
      ExpressionAttributeValues: seen === undefined ? { ':next': nextSlotAt } : { ':next': nextSlotAt, ':seen': seen },
    };
    const transition = options.transition;
    if (!transition) {
      try {
        await this.doc.send(new UpdateCommand(gateUpdate));
        return 'reserved';
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 'gate-conflict';
        throw error;
      }
    }
    try {
      const ledgerUpdate = transitionUpdate(
        transition.messageId,
        transition.from,
        transition.to,
        transition.patch,
        new Date(this.clock.now()).toISOString(),
      );
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Update: gateUpdate }, { Update: { TableName: this.tableName, ...ledgerUpdate } }],
        }),
      );
      return 'reserved';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [gate, ledger] = error.CancellationReasons ?? [];
      // The message condition decides first: if another consumer owns the
      // message, winning the gate would not matter.
      if (ledger?.Code === 'ConditionalCheckFailed') return 'transition-refused';
      if (gate?.Code === 'ConditionalCheckFailed' || gate?.Code === 'TransactionConflict' || ledger?.Code === 'TransactionConflict') {
        return 'gate-conflict';
      }
      throw error;
    }
  }
}
