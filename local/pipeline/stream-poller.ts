/**
 * Local mode's stand-in for a Lambda event source mapping on a DynamoDB
 * stream: it reads the rules table's stream from DynamoDB Local and hands the
 * records, batched as the mapping batches them, to a handler (the compile
 * step's own `createCompileHandler`). Like the mapping: a batch is sent when
 * it holds `batchSize` records or when `batchingWindowMs` has passed since its
 * first record; a batch whose handler throws is retried `retryAttempts` times,
 * then reported as failed and skipped (the stack sends it to the compile DLQ).
 * One loop, one timer at a time, both ended by `stop()`.
 */
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface StreamPollerOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** The function the batches go to; a rejection is a failed invocation. */
  readonly handle: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Most records per batch (GetRecords returns at most 1,000 per call). @default 1000 */
  readonly batchSize?: number;
  /** How long a batch waits for more records after its first one. @default 250 */
  readonly batchingWindowMs?: number;
  /** Pause between reads of an idle stream. @default 200 */
  readonly pollIntervalMs?: number;
  /** Retries of a failed batch before it is given up. @default 3 */
  readonly retryAttempts?: number;
  /** Called after each successful invocation, with its result. */
  readonly onHandled?: (result: unknown, records: number) => void;
  /** Called once a batch has failed every attempt (the stack's DLQ). */
  readonly onBatchFailed?: (error: unknown, records: number) => void;
  /** Called when reading the stream failed; the poller goes on. */
  readonly onError?: (error: unknown) => void;
}

/** A running poller. */
export interface StreamPoller {
  /** Resolves once every batch read so far was handed over (tests, the benchmark). */
  idle(): Promise<void>;
  /** Stops reading; waits for the batch in hand, if any. Safe to call twice. */
  stop(): Promise<void>;
}

/** A shard being read, and where. */
interface ShardCursor {
  readonly shardId: string;
  iterator?: string;
  lastSequence?: string;
}

/** A Streams API record as Lambda delivers it to a function (epoch seconds, the stream's ARN). */
export function toLambdaRecord(record: StreamsRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) } : {}),
      Keys: d.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
}

/**
 * Starts reading the stream from its latest position (like the stack's
 * mapping, StartingPosition LATEST): changes made before the start are not
 * delivered. Shards that close are followed into their children.
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const batchSize = options.batchSize ?? 1000;
  const windowMs = options.batchingWindowMs ?? 250;
  const pollMs = options.pollIntervalMs ?? 200;
  const retryAttempts = options.retryAttempts ?? 3;
  const { client, streamArn } = options;

  const cursors = new Map<string, ShardCursor>();
  const finished = new Set<string>();
  let pending: DynamoDBRecord[] = [];
  let firstPendingAt = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let idleWaiters: Array<() => void> = [];

  /** Picks up shards not read yet: the open ones at start (LATEST), new children later (from their start). */
  const discoverShards = async (initial: boolean) => {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (!shardId || cursors.has(shardId) || finished.has(shardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      // At start only the open shards matter (LATEST); a shard that appears later is a child: read it all.
      if (initial && closed) {
        finished.add(shardId);
        continue;
      }
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: initial ? 'LATEST' : 'TRIM_HORIZON' }),
      );
      cursors.set(shardId, { shardId, iterator: ShardIterator });
    }
  };

  /** Reads each shard once; returns how many records arrived. */
  const readShards = async (): Promise<number> => {
    let read = 0;
    let closedOne = false;
    for (const cursor of [...cursors.values()]) {
      if (!cursor.iterator) continue;
      try {
        const out = await client.send(new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: Math.min(1000, batchSize) }));
        for (const record of out.Records ?? []) {
          if (pending.length === 0) firstPendingAt = Date.now();
          pending.push(toLambdaRecord(record, streamArn));
          cursor.lastSequence = record.dynamodb?.SequenceNumber ?? cursor.lastSequence;
          read++;
        }
        cursor.iterator = out.NextShardIterator;
        if (!cursor.iterator) {
          cursors.delete(cursor.shardId);
          finished.add(cursor.shardId);
          closedOne = true;
        }
      } catch (error) {
        if (error instanceof ExpiredIteratorException) {
          // Pick up after the last record handed over, or (none yet) from the oldest record kept: LATEST
          // would skip edits made while the iterator aged; reading one twice only costs a compile.
          const { ShardIterator } = await client.send(
            new GetShardIteratorCommand({
              StreamArn: streamArn,
              ShardId: cursor.shardId,
              ...(cursor.lastSequence ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: cursor.lastSequence } : { ShardIteratorType: 'TRIM_HORIZON' }),
            }),
          );
          cursor.iterator = ShardIterator;
        } else if (error instanceof TrimmedDataAccessException) {
          // The iterator points before the oldest record the shard still holds (DynamoDB Local answers so
          // for an iterator taken on an empty shard, seen on a loaded machine): the same iterator would fail
          // forever. Read from the oldest record kept instead: at worst records already seen come again and
          // cause one more compile, which is harmless; skipping ahead could miss an edit.
          const { ShardIterator } = await client.send(
            new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: cursor.shardId, ShardIteratorType: 'TRIM_HORIZON' }),
          );
          cursor.iterator = ShardIterator;
          throw error;
        } else {
          throw error;
        }
      }
    }
    if (closedOne || cursors.size === 0) await discoverShards(false);
    return read;
  };

  /** Hands the batch to the handler, retrying like the mapping; never throws. */
  const deliver = async (batch: DynamoDBRecord[]) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await options.handle({ Records: batch });
        options.onHandled?.(result, batch.length);
        return;
      } catch (error) {
        if (attempt >= retryAttempts || stopped) {
          options.onBatchFailed?.(error, batch.length);
          return;
        }
      }
    }
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(timer);
      timer = undefined;
      wake = undefined;
    });

  await discoverShards(true);

  const loop = (async () => {
    while (!stopped) {
      let read = 0;
      try {
        read = await readShards();
      } catch (error) {
        options.onError?.(error);
      }
      const due = pending.length > 0 && (pending.length >= batchSize || Date.now() - firstPendingAt >= windowMs);
      if (due) {
        const batch = pending.slice(0, batchSize);
        pending = pending.slice(batchSize);
        if (pending.length > 0) firstPendingAt = Date.now();
        await deliver(batch);
        continue;
      }
      if (pending.length === 0 && read === 0) {
        for (const resolve of idleWaiters) resolve();
        idleWaiters = [];
      }
      if (stopped) break;
      // Within a window, look again when it ends (or sooner); idle, every poll interval.
      await sleep(pending.length > 0 ? Math.max(1, Math.min(pollMs, windowMs - (Date.now() - firstPendingAt))) : pollMs);
    }
    for (const resolve of idleWaiters) resolve();
    idleWaiters = [];
  })();

  return {
    idle: () => (stopped ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
