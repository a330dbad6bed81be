/**
 * A whole pipeline on one machine, for integration and reliability tests:
 * DynamoDB Local tables (rules + state), an s3rver bucket, the SES stand-in,
 * real SDK clients, config from `loadConfig`, and the functions' REAL wiring
 * (`buildReceiveDeps` / `createReceiveHandler`, `buildSendDeps` /
 * `createSendHandler`). Only the bounce queue is replaced, by {@link RigQueue}:
 * an SQS look-alike that delivers at least once (optionally several times),
 * feeds K concurrent consumers with SQS-shaped events, honours delays and
 * visibility timeouts on the rig's clock, and dead-letters a record after
 * `maxReceiveCount` failed receives.
 *
 * Time: every part (the functions, the rate gate, the stand-in) reads one
 * {@link RigClock}: real time plus an offset. `advance()` moves it forward;
 * `drain()` jumps it to the next delayed record when nothing is running, so
 * a 5-minute requeue delay or a visibility timeout costs no real time.
 *
 * Each concurrent invocation is its own "Lambda instance" with its own deps
 * (built once, reused while warm). A fault injected as a crash kills that
 * instance: the port call never returns and no later code of it runs, the
 * invocation gets no answer (an SQS batch comes back after the visibility
 * timeout; a receive invocation fails), and the next invocation cold-starts
 * a new instance.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID, createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { encodeBounceJob, parseBounceJob } from '../../lambda/adapters/sqs/bounce-job';
import type { ReceiveDeps } from '../../lambda/app/receive-message';
import { buildSweepDeps } from '../../lambda/app/sweep-wiring';
import { sweepStuck, type SweepReport } from '../../lambda/app/sweep-stuck';
import { buildReceiveDeps, createReceiveHandler } from '../../lambda/app/receive-wiring';
import type { SendBounceDeps } from '../../lambda/app/send-bounce';
import { buildSendDeps, createSendHandler, sendReserveMs } from '../../lambda/app/send-wiring';
import { lambdaContext, NO_COLD_START_METRIC, SILENT_LOG_CONTEXT } from './lambda-context';
import { createClients, type Clients } from '../../lambda/commons/clients';
import { logger as projectLogger } from '../../lambda/commons/logger';
import { loadConfig, type Config, type ConfigEnv } from '../../lambda/config/config';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY } from '../../lambda/config/tables';
import type { AuditRecord, BounceJob, BounceQueue } from '../../lambda/ports';
import type { Clock } from '../../lambda/ports/clock';
import { startSesStandIn } from '../../local/ses-stand-in';
import type { SendBounceCall, SesStandIn, SesStandInOptions } from '../../local/ses-stand-in/types';
import { createTable, deleteTable, dynamoDbEndpoint, uniqueTableName } from './dynamodb';
import { startLocalS3, type LocalS3 } from './s3';
import { DynamoDBClient as RawDynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb/dynamodb-local';
import { createStateTable } from '../../local/tables';
import { FaultProxy } from './fault-proxy';

/** The SES documentation's sample event (test/fixtures/ses/lambda-action-event.json). */
export const SAMPLE_EVENT_FILE = join(__dirname, '../fixtures/ses/lambda-action-event.json');
/** `mail.timestamp` of the sample event: the rig's clock starts just after it by default. */
export const SAMPLE_RECEIVED_AT = Date.parse('2019-08-05T21:30:02.028Z');

/** Reads the sample event afresh (a deep copy every call). */
export function sampleEvent(): SesLambdaEvent {
  return JSON.parse(readFileSync(SAMPLE_EVENT_FILE, 'utf8')) as SesLambdaEvent;
}

/** The parts of an SES receipt-rule event the rig edits; the rest passes through untouched. */
export interface SesLambdaEvent {
  Records: Array<{
    eventSource: string;
    eventVersion: string;
    ses: {
      mail: {
        timestamp: string;
        source: string;
        messageId: string;
        destination: string[];
        headersTruncated: boolean;
        headers: Array<{ name: string; value: string }>;
        commonHeaders: Record<string, unknown>;
      };
      receipt: {
        timestamp: string;
        recipients: string[];
        spamVerdict: { status: string };
        virusVerdict: { status: string };
        spfVerdict: { status: string };
        dkimVerdict: { status: string };
        dmarcVerdict: { status: string };
        dmarcPolicy?: string;
        action: Record<string, unknown>;
        [key: string]: unknown;
      };
    };
  }>;
}

// ---------------------------------------------------------------------------
// Clock

/** Real time plus an offset that only grows; the functions, the gate and the stand-in all read it. */
export class RigClock implements Clock {
  private offsetMs: number;

  constructor(startAt: number) {
    this.offsetMs = startAt - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  sleep(ms: number): Promise<void> {
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  /** Moves time forward by `ms` (never back: the gate and the ledger assume a monotonic clock). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`the rig clock only moves forward, got ${ms} ms`);
    this.offsetMs += ms;
  }
}

// ---------------------------------------------------------------------------
// Faults

/** The ports of the two functions that a fault can target. */
export type PortName = 'rules' | 'mail' | 'ledger' | 'budget' | 'queue' | 'gate' | 'sender';

/** How a killed instance's receive invocation fails (Lambda reports the invocation as failed). */
export class SimulatedCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedCrash';
  }
}

export interface FaultSpec {
  /** Which function's instances. */
  readonly side: 'receive' | 'send';
  readonly port: PortName;
  readonly method: string;
  /** `before`: throw instead of calling; `after`: the call happens, then the caller gets the error instead of its result. */
  readonly when: 'before' | 'after';
  /**
   * `crash`: the instance dies: the call never returns, no later code of
   * that instance runs, its invocation answers nothing. An Error (or
   * factory): thrown to the caller, the instance lives on.
   */
  readonly effect: 'crash' | Error | (() => Error);
  /** Only calls whose arguments match. */
  readonly match?: (args: readonly unknown[]) => boolean;
  /** Only calls whose result matches (`after` only). */
  readonly matchResult?: (result: unknown) => boolean;
  /** How many matching calls fire. @default 1 */
  readonly times?: number;
}

export interface FaultHandle {
  /** How many times it fired so far. */
  fired(): number;
  /** Stop firing. */
  remove(): void;
}

/** The five crash points of issue 7's "crash at every step" suite, as fault specs. */
export const CRASH_POINTS = {
  'after the claim': { side: 'receive', port: 'ledger', method: 'claim', when: 'after', effect: 'crash' },
  'after the enqueue': { side: 'receive', port: 'queue', method: 'enqueue', when: 'after', effect: 'crash' },
  'after the rate slot': {
    side: 'send',
    port: 'gate',
    method: 'acquire',
    when: 'after',
    effect: 'crash',
    matchResult: (r) => (r as { kind?: string }).kind === 'reserved',
  },
  'after SendBounce': { side: 'send', port: 'sender', method: 'send', when: 'after', effect: 'crash' },
  'after the audit write': {
    side: 'send',
    port: 'ledger',
    method: 'transition',
    when: 'after',
    effect: 'crash',
    match: (args) => args[2] === 'SENT',
  },
} as const satisfies Record<string, FaultSpec>;
export type CrashPoint = keyof typeof CRASH_POINTS;

interface ActiveFault {
  readonly spec: FaultSpec;
  remaining: number;
  fired: number;
}

/** One "Lambda instance": its deps and whether a crash killed it. */
interface Instance<D> {
  readonly deps: D;
  dead: boolean;
  busy: boolean;
  /** Settles when a crash kills the instance; its invocation then answers nothing. */
  readonly died: Promise<SimulatedCrash>;
  kill(crash: SimulatedCrash): void;
}

function newInstance<D>(deps: D): Instance<D> {
  let kill!: (crash: SimulatedCrash) => void;
  const died = new Promise<SimulatedCrash>((resolve) => {
    kill = resolve;
  });
  const instance: Instance<D> = {
    deps,
    dead: false,
    busy: false,
    died,
    kill: (crash) => {
      instance.dead = true;
      kill(crash);
    },
  };
  return instance;
}

/** A call of a dead process: it never returns, and nothing after it runs. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

// ---------------------------------------------------------------------------
// Queue

/** One SQS message as the rig's queue keeps it. */
export interface QueueRecord {
  readonly sqsMessageId: string;
  readonly body: string;
  readonly job: BounceJob;
  readonly sentAt: number;
  /** Rig-clock time when it may be received. */
  visibleAt: number;
  receiveCount: number;
}

/** Why a record is in the dead-letter list. */
export interface DeadLetter {
  readonly record: QueueRecord;
  readonly at: number;
}

/**
 * BounceQueue with SQS's delivery semantics, on the rig clock. Every
 * `enqueue` becomes `1 + redeliveries` records with the same SQS message id
 * (at-least-once delivery: the copies may be handled concurrently).
 */
export class RigQueue implements BounceQueue {
  readonly waiting: QueueRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];
  /** Every enqueue as asked, for assertions (delays, counts). */
  readonly sent: Array<{ job: BounceJob; delaySeconds: number; at: number }> = [];

  constructor(
    private readonly clock: RigClock,
    public redeliveries: number,
  ) {}

  async enqueue(job: BounceJob, options?: { delaySeconds?: number }): Promise<void> {
    const delaySeconds = options?.delaySeconds ?? 0;
    // SQS refuses these; the adapters clamp, so seeing one here is a bug.
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0 || delaySeconds > 900) {
      throw new RangeError(`sqs refuses DelaySeconds ${delaySeconds}: it must be 0-900`);
    }
    // The production queue's body: what SQS would carry, size limit included.
    const body = encodeBounceJob(job);
    if (Buffer.byteLength(body) > 262_144) throw new RangeError(`sqs refuses a ${Buffer.byteLength(body)}-byte message: the limit is 262144`);
    const now = this.clock.now();
    this.sent.push({ job: parseBounceJob(body), delaySeconds, at: now });
    const sqsMessageId = randomUUID();
    for (let copy = 0; copy <= this.redeliveries; copy++) {
      this.waiting.push({
        sqsMessageId,
        body,
        job: parseBounceJob(body),
        sentAt: now,
        visibleAt: now + Math.ceil(delaySeconds) * 1000,
        receiveCount: 0,
      });
    }
  }
}

/** An SQS event record as the Lambda event source mapping delivers it. */
export function sqsRecordOf(record: QueueRecord, now: number): SQSRecord {
  return {
    messageId: record.sqsMessageId,
    receiptHandle: `rig-${record.sqsMessageId}-${record.receiveCount}`,
    body: record.body,
    attributes: {
      ApproximateReceiveCount: String(record.receiveCount),
      SentTimestamp: String(record.sentAt),
      SenderId: 'RIG',
      ApproximateFirstReceiveTimestamp: String(now),
    },
    messageAttributes: { messageId: { dataType: 'String', stringValue: record.job.messageId } },
    md5OfBody: createHash('md5').update(record.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:rig-bounces',
    awsRegion: 'us-east-1',
  };
}

// ---------------------------------------------------------------------------
// Recorders

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: Record<string, unknown>;
}

/** Logs of both functions, kept for assertions ("a clear logged reason"). */
export class LogRecorder {
  readonly entries: LogEntry[] = [];
  info = (message: string, extra: Record<string, unknown> = {}) => void this.entries.push({ level: 'info', message, extra });
  warn = (message: string, extra: Record<string, unknown> = {}) => void this.entries.push({ level: 'warn', message, extra });
  error = (message: string, extra: Record<string, unknown> = {}) => void this.entries.push({ level: 'error', message, extra });
}

/** Metrics of both functions: name → sum; dimensioned ones as `name|dim=value`. */
export class MetricRecorder {
  readonly totals = new Map<string, number>();
  addMetric = (name: string, _unit: unknown, value: number) => this.add(name, value);
  singleMetric = () => {
    const dims: string[] = [];
    return {
      addDimension: (name: string, value: string) => void dims.push(`${name}=${value}`),
      addMetric: (name: string, _unit: unknown, value: number) => this.add([name, ...dims].join('|'), value),
    };
  };
  get(name: string): number {
    return this.totals.get(name) ?? 0;
  }
  private add(key: string, value: number): void {
    this.totals.set(key, (this.totals.get(key) ?? 0) + value);
  }
}

/** One DynamoDB request seen by the counting middleware. */
export interface DynamoDbRequest {
  readonly command: string;
  readonly at: number;
}

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

// ---------------------------------------------------------------------------
// The rig

export interface PipelineRigOptions {
  /** Concurrent send consumers (reserved concurrency of the send function). @default 2 */
  readonly consumers?: number;
  /** Extra deliveries of every queue message (at-least-once). @default 0 */
  readonly redeliveries?: number;
  /** Records per send invocation. @default 1 */
  readonly batchSize?: number;
  /** SQS visibility timeout, rig-clock ms. @default 150000 (above the 120 s function timeout) */
  readonly visibilityTimeoutMs?: number;
  /** Receives before a failing record goes to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** The send function's timeout, for `getRemainingTimeInMillis`. @default 120000 */
  readonly functionTimeoutMs?: number;
  /** Where the rig clock starts. @default 5 s after the sample event's receipt */
  readonly startAt?: number;
  /** Extra config env; the rig's own names and endpoints win unless given here. */
  readonly env?: ConfigEnv;
  /** DynamoDB endpoint. @default the test run's DynamoDB Local */
  readonly dynamoDbEndpoint?: string;
  /** SES stand-in options besides `now` (which is the rig clock). */
  readonly standIn?: Omit<SesStandInOptions, 'now'>;
  /** Receive side: age of a PENDING claim that a duplicate re-enqueues. @default the app's */
  readonly recoveryAgeMs?: number;
  /** Keep the project logger's own output (rule loads). @default false */
  readonly verbose?: boolean;
  /** Put a {@link FaultProxy} between the functions' SES client and the stand-in (`rig.sesProxy`). @default false */
  readonly sesProxy?: boolean;
  /** Put a {@link FaultProxy} between the functions' DynamoDB client and DynamoDB Local (`rig.dynamoDbProxy`). @default false */
  readonly dynamoDbProxy?: boolean;
}

export interface DrainOptions {
  /** Real-time limit. @default 60000 */
  readonly timeoutMs?: number;
  /** Jump the clock to the next delayed record when nothing runs; a function is asked each time. @default true */
  readonly jumpTime?: boolean | (() => boolean);
  /** Poll interval while waiting in real time. @default 20 */
  readonly pollMs?: number;
}

export interface DrainReport {
  /** Send invocations made. */
  readonly invocations: number;
  /** Records delivered (a batch of n counts n). */
  readonly deliveries: number;
  /** Records reported failed (batchItemFailures or no answer). */
  readonly failedDeliveries: number;
  /** Total rig-clock time skipped by jumps. */
  readonly jumpedMs: number;
  readonly realMs: number;
}

export interface EventOverrides {
  readonly messageId?: string;
  /** ISO time for `mail.timestamp` and `receipt.timestamp`. @default the rig clock minus 1 s */
  readonly timestamp?: string;
  /** `mail.source` (envelope MAIL FROM). */
  readonly source?: string;
  /** `receipt.recipients` (and `mail.destination`). */
  readonly recipients?: string[];
  readonly verdicts?: Partial<Record<'spam' | 'virus' | 'spf' | 'dkim' | 'dmarc', string>>;
  readonly headersTruncated?: boolean;
  /** Last word on the event. */
  readonly edit?: (event: SesLambdaEvent) => void;
}

/** A started rig; {@link PipelineRig.close} stops everything it started. */
export class PipelineRig {
  readonly clock: RigClock;
  readonly queue: RigQueue;
  readonly logs = new LogRecorder();
  readonly metrics = new MetricRecorder();
  /** Every DynamoDB request of the functions (not of the rig's own helpers). */
  readonly dynamoDbRequests: DynamoDbRequest[] = [];
  /** Errors of the send consumers' loop itself (a handler threw: should not happen). */
  readonly consumerErrors: unknown[] = [];

  private readonly faults: ActiveFault[] = [];
  private readonly receivePool: Instance<ReceiveDeps>[] = [];
  private readonly sendPool: Instance<SendBounceDeps>[] = [];
  private readonly consumers: number;
  private readonly batchSize: number;
  private readonly visibilityMs: number;
  private readonly maxReceiveCount: number;
  private readonly functionTimeoutMs: number;
  private readonly recoveryAgeMs?: number;
  private draining = false;

  private constructor(
    readonly config: Config,
    readonly clients: Clients,
    readonly standIn: SesStandIn,
    readonly s3: LocalS3,
    private readonly ownDynamoDb: DynamoDBClient,
    options: PipelineRigOptions,
    clock: RigClock,
    /** Between the functions and the SES stand-in, when `sesProxy`. */
    readonly sesProxy?: FaultProxy,
    /** Between the functions and DynamoDB Local, when `dynamoDbProxy`. */
    readonly dynamoDbProxy?: FaultProxy,
  ) {
    this.clock = clock;
    this.queue = new RigQueue(clock, options.redeliveries ?? 0);
    this.consumers = options.consumers ?? 2;
    this.batchSize = options.batchSize ?? 1;
    this.visibilityMs = options.visibilityTimeoutMs ?? 150_000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.functionTimeoutMs = options.functionTimeoutMs ?? 120_000;
    this.recoveryAgeMs = options.recoveryAgeMs;
    const requests = this.dynamoDbRequests;
    clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push({ command: String(context.commandName), at: clock.now() });
        return next(args);
      },
      { step: 'initialize', name: 'rigRequestCounter' },
    );
  }

  /** Creates tables, bucket and stand-in, and builds config the way the stack's env would. */
  static async start(options: PipelineRigOptions = {}): Promise<PipelineRig> {
    if (!options.verbose) projectLogger.setLogLevel('SILENT');
    const clock = new RigClock(options.startAt ?? SAMPLE_RECEIVED_AT + 5_000);
    const endpoint = options.dynamoDbEndpoint ?? dynamoDbEndpoint();
    const own = new RawDynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const rulesTable = uniqueTableName('rig-rules');
    const stateTable = uniqueTableName('rig-state');
    await createTable(own, rulesTable, RULES_PARTITION_KEY);
    await createStateTable(own, stateTable);
    const s3 = await startLocalS3();
    const bucket = await s3.createBucket(`rig-mail-${randomUUID().slice(0, 8)}`);
    const standIn = await startSesStandIn({ ...options.standIn, now: () => clock.now() });
    const sesProxy = options.sesProxy ? await FaultProxy.start(standIn.endpoint) : undefined;
    const dynamoDbProxy = options.dynamoDbProxy ? await FaultProxy.start(endpoint) : undefined;
    const config = loadConfig({
      BOUNCE_SENDER: 'mailer-daemon@example.com',
      REPORTING_MTA: 'mx.example.com',
      RULES_TABLE: rulesTable,
      STATE_TABLE: stateTable,
      // Never called: the rig's queue replaces the SQS adapter.
      BOUNCE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/rig-bounces',
      MAIL_BUCKET: bucket,
      MAIL_PREFIX: 'inbound/',
      // Rules put by a test apply to the next invocation.
      RULES_CACHE_SECONDS: '0',
      // Budgets are not what these suites test; keep them out of the way.
      SENDER_BUDGET_PER_ADDRESS: '10000',
      SENDER_BUDGET_PER_DOMAIN: '100000',
      RATE_GATE_KEY: `rig-${randomUUID().slice(0, 8)}`,
      // All "instances" share one Node process on a busy 2-core machine: a call's
      // start-to-arrival jitter at the stand-in reached ~75 ms, beyond the default
      // 40 ms margin's 20 ms slack (a 965 ms gap, answered Throttling). 100 ms
      // gives 80 ms of slack; the pace becomes one call per 1100 ms.
      RATE_GATE_MARGIN_MS: '100',
      DYNAMODB_ENDPOINT: dynamoDbProxy?.endpoint ?? endpoint,
      S3_ENDPOINT: s3.endpoint,
      SES_ENDPOINT: sesProxy?.endpoint ?? standIn.endpoint,
      SQS_ENDPOINT: 'http://127.0.0.1:9',
      ...options.env,
    });
    // The production factory (SES with one attempt), except that s3rver checks its own credentials.
    const built = createClients(config);
    built.s3.destroy();
    const clients: Clients = { ...built, s3: s3.client() };
    return new PipelineRig(config, clients, standIn, s3, own, options, clock, sesProxy, dynamoDbProxy);
  }

  // ----- operator and SES-side helpers -----

  /** Writes a rule item with a plain PutItem, as an operator would (CLI or console). */
  async putRule(item: Record<string, unknown>): Promise<void> {
    const doc = DynamoDBDocumentClient.from(this.ownDynamoDb);
    await doc.send(new PutCommand({ TableName: this.config.rulesTable, Item: item }));
  }

  async deleteRule(ruleId: string): Promise<void> {
    const doc = DynamoDBDocumentClient.from(this.ownDynamoDb);
    await doc.send(new DeleteCommand({ TableName: this.config.rulesTable, Key: { [RULES_PARTITION_KEY]: ruleId } }));
  }

  /** Stores a raw message where the receipt rule's S3 action would (`<prefix><messageId>`). */
  async storeMail(messageId: string, raw: string | Buffer): Promise<void> {
    await this.clients.s3.send(
      new PutObjectCommand({ Bucket: this.config.mailBucket, Key: `${this.config.mailPrefix}${messageId}`, Body: raw }),
    );
  }

  /**
   * The sample event with changes. Unless given, the message id is fresh and
   * the timestamps are one second before the rig clock.
   */
  eventFor(overrides: EventOverrides = {}): SesLambdaEvent {
    const event = sampleEvent();
    const record = event.Records[0];
    const { mail, receipt } = record.ses;
    mail.messageId = overrides.messageId ?? `rig-${randomUUID()}`;
    const at = overrides.timestamp ?? new Date(this.clock.now() - 1000).toISOString();
    mail.timestamp = at;
    receipt.timestamp = at;
    if (overrides.source !== undefined) mail.source = overrides.source;
    if (overrides.recipients) {
      receipt.recipients = [...overrides.recipients];
      mail.destination = [...overrides.recipients];
    }
    for (const [name, status] of Object.entries(overrides.verdicts ?? {})) {
      (receipt as Record<string, unknown>)[`${name}Verdict`] = { status };
    }
    if (overrides.headersTruncated !== undefined) mail.headersTruncated = overrides.headersTruncated;
    overrides.edit?.(event);
    return event;
  }

  /** Tells the stand-in that "SES received" the event's message (so SendBounce may answer it). */
  registerReceived(event: SesLambdaEvent): void {
    for (const { ses } of event.Records) {
      this.standIn.registerReceived(ses.mail.messageId, {
        receivedAt: new Date(ses.mail.timestamp),
        sender: ses.mail.source,
        recipients: ses.receipt.recipients,
        rawHeaders: ses.mail.headers.map((h) => `${h.name}: ${h.value}`).join('\r\n'),
      });
    }
  }

  /** A raw .eml for the event: its header block and a short text body. */
  emlFor(event: SesLambdaEvent, body = 'Hello,\r\n\r\nthis is a test.\r\n'): string {
    const headers = event.Records[0].ses.mail.headers
      .filter((h) => h.name.toLowerCase() !== 'content-type')
      .map((h) => `${h.name}: ${h.value}`);
    return [...headers, 'Content-Type: text/plain; charset=us-ascii', '', body].join('\r\n');
  }

  /** What "SES" does for a received message: store it (S3 action), register it, return the event (Lambda action). */
  async arrive(overrides: EventOverrides = {}): Promise<SesLambdaEvent> {
    const event = this.eventFor(overrides);
    await this.storeMail(event.Records[0].ses.mail.messageId, this.emlFor(event));
    this.registerReceived(event);
    return event;
  }

  // ----- invoking the functions -----

  /**
   * One invocation of the receive function (a warm idle instance, or a cold
   * start). Rejects like the handler does, or with {@link SimulatedCrash}
   * when the instance died (Lambda reports the invocation as failed).
   */
  async receive(event: unknown): Promise<{ disposition: string }> {
    const instance = this.receivePool.find((i) => !i.busy && !i.dead) ?? this.newReceiveInstance();
    instance.busy = true;
    try {
      const handler = createReceiveHandler(instance.deps, { ...SILENT_INVOCATION, logger: this.logs });
      const outcome = await Promise.race([handler(event), instance.died]);
      if (outcome instanceof SimulatedCrash) throw outcome;
      return outcome;
    } finally {
      instance.busy = false;
    }
  }

  /** Receives every event concurrently; never rejects, returns each outcome. */
  async receiveAll(events: readonly unknown[]): Promise<PromiseSettledResult<{ disposition: string }>[]> {
    return Promise.allSettled(events.map((e) => this.receive(e)));
  }

  /**
   * Runs the send consumers until the queue holds nothing visible or
   * delayed and no invocation runs. Failed records come back after the
   * visibility timeout; at `maxReceiveCount` they move to the DLQ list.
   */
  async drain(options: DrainOptions = {}): Promise<DrainReport> {
    if (this.draining) throw new Error('drain is already running');
    this.draining = true;
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 60_000;
    const jumpOption = options.jumpTime ?? true;
    const jump = () => (typeof jumpOption === 'function' ? jumpOption() : jumpOption);
    const poll = options.pollMs ?? 20;
    const running = new Set<Promise<void>>();
    let invocations = 0;
    let deliveries = 0;
    let failedDeliveries = 0;
    let jumpedMs = 0;
    try {
      for (;;) {
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `drain did not finish within ${timeoutMs} ms: ${this.queue.waiting.length} records waiting, ${running.size} invocations running`,
          );
        }
        const now = this.clock.now();
        this.queue.waiting.sort((a, b) => a.visibleAt - b.visibleAt);
        while (running.size < this.consumers && this.queue.waiting.length > 0 && this.queue.waiting[0].visibleAt <= now) {
          const batch: QueueRecord[] = [];
          while (batch.length < this.batchSize && this.queue.waiting.length > 0 && this.queue.waiting[0].visibleAt <= now) {
            batch.push(this.queue.waiting.shift() as QueueRecord);
          }
          invocations += 1;
          deliveries += batch.length;
          const run: Promise<void> = this.invokeSend(batch)
            .then((failed) => {
              failedDeliveries += failed;
            })
            .finally(() => running.delete(run));
          running.add(run);
        }
        if (running.size === 0 && this.queue.waiting.length === 0) break;
        if (running.size === 0 && jump()) {
          const gap = this.queue.waiting[0].visibleAt - this.clock.now();
          if (gap > 0) {
            this.clock.advance(gap);
            jumpedMs += gap;
          }
          continue;
        }
        await Promise.race([...running, new Promise((r) => setTimeout(r, poll))]);
      }
    } finally {
      this.draining = false;
    }
    return { invocations, deliveries, failedDeliveries, jumpedMs, realMs: Date.now() - started };
  }

  /** One send invocation on a free instance; returns how many of the batch's records failed. */
  private async invokeSend(batch: QueueRecord[]): Promise<number> {
    const instance = this.sendPool.find((i) => !i.busy && !i.dead) ?? this.newSendInstance();
    instance.busy = true;
    const startedAt = this.clock.now();
    for (const r of batch) r.receiveCount += 1;
    const event: SQSEvent = { Records: batch.map((r) => sqsRecordOf(r, startedAt)) };
    const handler = createSendHandler(instance.deps, { reserveMs: sendReserveMs({ sesCallMaxMs: this.config.sesRequestTimeoutMs + 1_000 }), ...SILENT_INVOCATION });
    const context = lambdaContext({ getRemainingTimeInMillis: () => this.functionTimeoutMs - (this.clock.now() - startedAt) });
    let response: SQSBatchResponse | undefined;
    try {
      const outcome = await Promise.race([handler(event, context), instance.died]);
      if (!(outcome instanceof SimulatedCrash)) response = outcome;
    } catch (error) {
      // The handler never throws by design.
      this.consumerErrors.push(error);
    } finally {
      instance.busy = false;
    }
    // A dead instance answered nothing: the whole batch comes back after the visibility timeout.
    const failedIds = new Set(
      instance.dead || !response ? batch.map((r) => r.sqsMessageId) : response.batchItemFailures.map((f) => f.itemIdentifier),
    );
    let failed = 0;
    for (const record of batch) {
      if (!failedIds.has(record.sqsMessageId)) continue;
      failed += 1;
      if (record.receiveCount >= this.maxReceiveCount) this.queue.deadLetters.push({ record, at: this.clock.now() });
      else {
        record.visibleAt = this.clock.now() + this.visibilityMs;
        this.queue.waiting.push(record);
      }
    }
    return failed;
  }

  private newReceiveInstance(): Instance<ReceiveDeps> {
    const built = buildReceiveDeps(this.config, this.clients, { clock: this.clock, logger: this.logs, metrics: this.metrics });
    const instance = newInstance<ReceiveDeps>(built);
    const deps: ReceiveDeps = {
      ...built,
      queue: this.queue,
      ...(this.recoveryAgeMs === undefined ? {} : { recoveryAgeMs: this.recoveryAgeMs }),
    };
    const wrapped = this.wrapPorts('receive', instance, deps, ['rules', 'mail', 'ledger', 'budget', 'queue']);
    (instance as { deps: ReceiveDeps }).deps = wrapped;
    this.receivePool.push(instance);
    return instance;
  }

  private newSendInstance(): Instance<SendBounceDeps> {
    const built = buildSendDeps(this.config, this.clients, { clock: this.clock, logger: this.logs, metrics: this.metrics });
    const instance = newInstance<SendBounceDeps>(built);
    const wrapped = this.wrapPorts('send', instance, { ...built, queue: this.queue }, ['ledger', 'gate', 'sender', 'queue']);
    (instance as { deps: SendBounceDeps }).deps = wrapped;
    this.sendPool.push(instance);
    return instance;
  }

  /** Puts every method of the named ports behind the fault hooks and the instance's death. */
  private wrapPorts<D extends object>(side: 'receive' | 'send', instance: Instance<unknown>, deps: D, ports: PortName[]): D {
    const out: Record<string, unknown> = { ...(deps as Record<string, unknown>) };
    for (const port of ports) {
      const target = out[port] as object;
      out[port] = new Proxy(target, {
        get: (obj, prop, receiver) => {
          const value = Reflect.get(obj, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const method = String(prop);
          return async (...args: unknown[]) => {
            if (instance.dead) return never();
            const before = this.takeFault(side, port, method, 'before', args, undefined);
            if (before) return this.fire(before, instance, `${port}.${method}`);
            const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
            if (instance.dead) return never();
            const after = this.takeFault(side, port, method, 'after', args, result);
            if (after) return this.fire(after, instance, `${port}.${method}`);
            return result;
          };
        },
      });
    }
    return out as D;
  }

  private takeFault(side: string, port: string, method: string, when: string, args: unknown[], result: unknown): FaultSpec | undefined {
    const hit = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        f.spec.side === side &&
        f.spec.port === port &&
        f.spec.method === method &&
        f.spec.when === when &&
        (!f.spec.match || f.spec.match(args)) &&
        (when === 'before' || !f.spec.matchResult || f.spec.matchResult(result)),
    );
    if (!hit) return undefined;
    hit.remaining -= 1;
    hit.fired += 1;
    return hit.spec;
  }

  /** A crash kills the instance (the call never returns); an error is thrown to the caller. */
  private fire(spec: FaultSpec, instance: Instance<unknown>, where: string): Promise<never> {
    if (spec.effect === 'crash') {
      instance.kill(new SimulatedCrash(`simulated crash ${spec.when} ${where}`));
      return never();
    }
    return Promise.reject(typeof spec.effect === 'function' ? spec.effect() : spec.effect);
  }

  /** Arms a fault (see {@link FaultSpec}); crash points are in {@link CRASH_POINTS}. */
  inject(spec: FaultSpec): FaultHandle {
    const active: ActiveFault = { spec, remaining: spec.times ?? 1, fired: 0 };
    this.faults.push(active);
    return {
      fired: () => active.fired,
      remove: () => {
        active.remaining = 0;
      },
    };
  }

  /** One run of the scheduled sweep, with the rig's clients, clock, queue and recorders (production wiring). */
  async sweep(): Promise<SweepReport> {
    const deps = { ...buildSweepDeps(this.config, this.clients, { clock: this.clock, logger: this.logs, metrics: this.metrics }), queue: this.queue };
    return sweepStuck(deps);
  }

  // ----- reading the outcome -----

  /** The message's audit item, read with a consistent GetItem. */
  async audit(messageId: string): Promise<AuditRecord | undefined> {
    return new DynamoDbMessageLedger({ client: this.ownDynamoDb, tableName: this.config.stateTable }).get(messageId);
  }

  /** The message's item as stored (attribute names of the state table), for checks of the storage itself. */
  async rawItem(messageId: string): Promise<Record<string, unknown> | undefined> {
    const doc = DynamoDBDocumentClient.from(this.ownDynamoDb);
    const out = await doc.send(
      new GetCommand({ TableName: this.config.stateTable, Key: { [STATE_PARTITION_KEY]: `msg#${messageId}` }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** SendBounce calls the stand-in received for a message (any outcome). */
  callsFor(messageId: string): SendBounceCall[] {
    return this.standIn.calls.filter((c) => c.params.OriginalMessageId === messageId);
  }

  /** Accepted SendBounce calls. */
  accepted(): SendBounceCall[] {
    return this.standIn.calls.filter((c) => c.outcome.kind === 'accepted');
  }

  /** Calls answered with the given error code. */
  answered(code: string): SendBounceCall[] {
    return this.standIn.calls.filter((c) => c.outcome.kind === 'error' && c.outcome.code === code);
  }

  /** Write requests the functions made to DynamoDB (PutItem, UpdateItem, TransactWriteItems, ...). */
  writeRequests(sinceIndex = 0): DynamoDbRequest[] {
    return this.dynamoDbRequests.slice(sinceIndex).filter((r) => WRITE_COMMANDS.has(r.command));
  }

  async close(): Promise<void> {
    for (const c of Object.values(this.clients)) (c as { destroy(): void }).destroy();
    await this.sesProxy?.close();
    await this.dynamoDbProxy?.close();
    await this.standIn.close();
    await this.s3.stop();
    try {
      await deleteTable(this.ownDynamoDb, this.config.rulesTable);
      await deleteTable(this.ownDynamoDb, this.config.stateTable);
    } catch {
      // A stopped DynamoDB (outage suite) has nothing left to clean.
    }
    this.ownDynamoDb.destroy();
  }
}

/** The rig's handlers log through their own sinks: the per-invocation log context and cold-start metric are not looked at. */
const SILENT_INVOCATION = { logContext: SILENT_LOG_CONTEXT, coldStart: NO_COLD_START_METRIC };

/**
 * Calls in order of arrival. The stand-in records a call when it answers, so
 * a slow answer lands in its list after later, faster calls.
 */
export function byArrival(calls: readonly SendBounceCall[]): SendBounceCall[] {
  return [...calls].sort((a, b) => a.arrivedAt - b.arrivedAt);
}

/** Gaps in ms between consecutive calls' arrival times. */
export function gapsOf(calls: readonly SendBounceCall[]): number[] {
  const sorted = byArrival(calls);
  return sorted.slice(1).map((c, i) => c.arrivedAt - sorted[i].arrivedAt);
}

/** Median of a list of numbers (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A bounce rule item for the recipient(s), as an operator would write it. */
export function bounceRule(ruleId: string, recipients: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ruleId,
    recipients,
    action: 'bounce',
    bounceType: 'DoesNotExist',
    status: '5.1.1',
    diagnosticCode: 'smtp; 550 5.1.1 mailbox unavailable',
    explanation: 'The mailbox does not exist.',
    ...extra,
  };
}
