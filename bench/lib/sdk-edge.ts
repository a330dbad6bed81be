/**
 * Counters at the AWS SDK edge: middleware added to a real client's stack, so
 * the code under test runs unchanged and every HTTP attempt is seen (the
 * counters sit inside the retry middleware).
 */
import { Transform, type Readable } from 'node:stream';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

/** DynamoDB operations by kind, as DynamoDB bills them (a transaction counts as one write request). */
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** Operation name from a command name of the low-level or the document client (`GetCommand` → `GetItem`). */
export function operationOf(commandName: string): string {
  const name = commandName.replace(/Command$/, '');
  const documentNames: Record<string, string> = {
    Get: 'GetItem',
    Put: 'PutItem',
    Update: 'UpdateItem',
    Delete: 'DeleteItem',
    BatchGet: 'BatchGetItem',
    BatchWrite: 'BatchWriteItem',
    TransactGet: 'TransactGetItems',
    TransactWrite: 'TransactWriteItems',
  };
  return documentNames[name] ?? name;
}

/** Request counts since the last reset. */
export interface DynamoDbCounts {
  readonly reads: number;
  readonly writes: number;
  readonly other: number;
  readonly byOperation: Readonly<Record<string, number>>;
}

export interface DynamoDbRequestCounter {
  snapshot(): DynamoDbCounts;
  reset(): void;
}

/** Counts every request the client sends from now on, by operation and kind. */
export function countDynamoDbRequests(client: DynamoDBClient): DynamoDbRequestCounter {
  let byOperation: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = operationOf(String(context.commandName ?? 'unknown'));
      byOperation[op] = (byOperation[op] ?? 0) + 1;
      return next(args);
    },
    // finalizeRequest/low runs inside the retry middleware: each attempt counts.
    { step: 'finalizeRequest', priority: 'low', name: 'benchDynamoDbRequestCounter' },
  );
  return {
    snapshot() {
      let reads = 0;
      let writes = 0;
      let other = 0;
      for (const [op, n] of Object.entries(byOperation)) {
        if (READS.has(op)) reads += n;
        else if (WRITES.has(op)) writes += n;
        else other += n;
      }
      return { reads, writes, other, byOperation: { ...byOperation } };
    },
    reset() {
      byOperation = {};
    },
  };
}

export interface S3ByteCounter {
  /** Body bytes received from the store since the last reset. */
  bytes(): number;
  /** Requests sent since the last reset, by operation. */
  requests(): Readonly<Record<string, number>>;
  reset(): void;
}

/**
 * Counts the body bytes of every S3 response as the caller consumes them:
 * the raw HTTP body is replaced by a pass-through that counts, below the
 * deserializer, so a ranged GET counts what the server sent and a streamed
 * GET counts what the consumer read.
 */
export function countS3Bytes(client: S3Client): S3ByteCounter {
  let total = 0;
  let byOperation: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      byOperation[op] = (byOperation[op] ?? 0) + 1;
      const result = await next(args);
      const response = result.response as { body?: unknown };
      const body = response.body as Readable | undefined;
      if (body && typeof body.pipe === 'function') {
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            total += chunk.length;
            done(null, chunk);
          },
        });
        body.on('error', (error) => counted.destroy(error));
        // A consumer that stops early must not leave the socket open.
        counted.on('close', () => {
          if (!body.destroyed) body.destroy();
        });
        body.pipe(counted);
        response.body = counted;
      }
      return result;
    },
    // deserialize/low sits between the deserializer and the HTTP handler: it sees the raw body.
    { step: 'deserialize', priority: 'low', name: 'benchS3ByteCounter' },
  );
  return {
    bytes: () => total,
    requests: () => ({ ...byOperation }),
    reset() {
      total = 0;
      byOperation = {};
    },
  };
}

export interface ReadUnitCounter {
  /** Read capacity units DynamoDB reported for the reads sent since the last reset. */
  units(): number;
  /** Reads whose response carried no ConsumedCapacity (0 when every one did). */
  unreported(): number;
  reset(): void;
}

/**
 * Sums the read capacity units DynamoDB reports for every GetItem, Query and
 * Scan the client sends: asks for `ReturnConsumedCapacity: TOTAL` on each
 * (which changes nothing else about the read) and adds up the answers. This is
 * what the reads are billed, whatever their number of requests.
 */
export function countReadUnits(client: DynamoDBClient): ReadUnitCounter {
  let units = 0;
  let unreported = 0;
  const reads = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand']);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!reads.has(String(context.commandName))) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits;
      if (consumed === undefined) unreported++;
      else units += consumed;
      return result;
    },
    { step: 'initialize', name: 'benchReadUnitCounter' },
  );
  return {
    units: () => units,
    unreported: () => unreported,
    reset() {
      units = 0;
      unreported = 0;
    },
  };
}
