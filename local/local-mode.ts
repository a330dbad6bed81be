/**
 * The whole pipeline on one machine: DynamoDB Local, an S3-compatible server,
 * the SES stand-in and an SMTP receiver, running the same use cases and
 * adapters as the Lambda functions, pointed at local endpoints. Only SES's
 * own parts are stood in for: receiving (SMTP, the event, the S3 action),
 * SQS (an in-memory queue and a worker), SendBounce (the stand-in, which
 * writes each DSN to the outbox) and the rules table's event source mapping
 * (a stream poller feeding the compile step's own handler, issue 13).
 */
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { buildCompileDeps, createCompileHandler, type CompileHandlerResult } from '../lambda/app/compile-wiring';
import { createClients, type Clients } from '../lambda/commons/clients';
import { printable } from '../lambda/commons/printable';
import { DynamoDbMessageLedger } from '../lambda/adapters/dynamodb/message-ledger';
import { MemoryBounceQueue } from '../lambda/adapters/memory/bounce-queue';
import { buildSendDeps, createSendHandler } from '../lambda/app/send-wiring';
import { loadConfig, type Config, type ConfigEnv } from '../lambda/config/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb/dynamodb-local';
import { startSesStandIn } from './ses-stand-in';
import type { SesStandIn } from './ses-stand-in/types';
import { splitHeaderBlock } from '../lambda/mail/header-block';
import type { RecipientDecision } from '../lambda/domain/model';
import type { AuditRecord } from '../lambda/ports';
import type { VerdictOverrides } from './ses-event/build-event';
import { bounceDefaults, buildReceivedEvent, wholeLinesOfHead } from './ses-event/received-mail';
import { createS3ActionClient, startLocalS3Server, storeFileLikeS3Action, type LocalS3Server } from './s3/local-s3';
import { loadRuleItems, seedRulesIfEmpty } from './seed-rules';
import { recipientMatcher, startSmtpReceiver, type ReceivedMail, type SmtpReceiver } from './smtp/smtp-receiver';
import { createReceiveInvoker } from './pipeline/receive-invoker';
import { compileLine, receiveLines, sendLine } from './pipeline/report';
import { startStreamPoller } from './pipeline/stream-poller';
import { startSendWorker, type SendWorker } from './pipeline/send-worker';
import { ensureLocalTables, LOCAL_TABLE_NAMES, rulesStreamArn, type LocalTableNames } from './tables';

export interface LocalModeOptions {
  /** @default 2525 */
  readonly smtpPort?: number;
  /** @default '127.0.0.1' */
  readonly smtpHost?: string;
  /** Keep DynamoDB and S3 data here. @default in memory / a temp directory */
  readonly dataDir?: string;
  /** Receiving domains or addresses (SES recipient conditions). */
  readonly domains: readonly string[];
  readonly outboxDir: string;
  /** Seed file or directory, used when the rules table is empty. */
  readonly rulesPath: string;
  /** Default verdicts of every received message. */
  readonly verdicts?: VerdictOverrides;
  readonly cacheSeconds: number;
  /**
   * How long the stream poller gathers rule edits before it compiles them,
   * like the stack's event source mapping window (15 s there, short here).
   * @default 250
   */
  readonly compileWindowMs?: number;
  /** Concurrent send handlers. @default 2 */
  readonly sendConcurrency?: number;
  /**
   * Receive invocations running at once; later events wait their turn (an
   * event is a few KB, a running invocation may stream a 40 MB message
   * through the MIME parser). @default 2
   */
  readonly receiveConcurrency?: number;
  /**
   * How long one receive invocation may run before it counts as failed (and
   * is retried), like the receive Lambda's timeout; its slot is freed then.
   * @default 25000 (the stack's receive timeout)
   */
  readonly receiveTimeoutMs?: number;
  /** Settings from the environment that tune the pipeline (SENDER_AUTH_POLICY, …); local endpoints and names win. */
  readonly env?: ConfigEnv;
  /** Where the one-line reports go. */
  readonly print: (line: string) => void;
  /** Called with each message's decisions once its receive run succeeds (the audit item, when one was written). */
  readonly onDecided?: (report: { readonly messageId: string; readonly decisions: readonly RecipientDecision[]; readonly audit?: AuditRecord }) => void;
}

export interface LocalMode {
  readonly smtp: { readonly host: string; readonly port: number };
  readonly dynamodb: { readonly endpoint: string; readonly pid: number };
  readonly tables: LocalTableNames;
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly prefix: string };
  /** Where the compile step puts the rules snapshots (on the same local S3). */
  readonly snapshots: { readonly bucket: string; readonly prefix: string };
  readonly sesEndpoint: string;
  readonly outboxDir: string;
  /** Rules written to an empty table at start (0 when it had rules). */
  readonly seeded: number;
  readonly config: Config;
  /**
   * Takes a message as the SMTP receiver hands it over (the file is read,
   * not deleted): builds its event, stores it and starts its receive run.
   * Throws ValidationError for a malformed simulate header, as SMTP then refuses it.
   */
  receive(mail: ReceivedMail): Promise<{ messageId: string }>;
  /** Resolves once every rule edit seen so far on the stream has been compiled. */
  compiled(): Promise<void>;
  /** Stops everything started, in reverse order; safe to call twice. */
  stop(): Promise<void>;
}

export const LOCAL_BUCKET = 'ses-bouncer-local-mail';
export const LOCAL_PREFIX = 'inbound/';
export const LOCAL_SNAPSHOT_BUCKET = 'ses-bouncer-local-rules';

/** Runs at most `limit` tasks at once, the rest in arrival order. */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${limit}`);
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Raised when a local receive invocation runs past its timeout, as Lambda would end it. */
export class ReceiveTimeoutError extends Error {
  constructor(ms: number) {
    super(`the receive invocation ran longer than ${ms} ms`);
    this.name = 'ReceiveTimeoutError';
  }
}

/**
 * Rejects with {@link ReceiveTimeoutError} after `ms`. The work itself cannot
 * be stopped in-process; it finishes (or not) in the background, but no
 * longer holds a receive slot.
 */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReceiveTimeoutError(ms)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The first receiving domain, for the bounce sender and the Reporting-MTA. */
function firstDomain(domains: readonly string[]): string {
  const entry = (domains[0] ?? 'example.com').replace(/^\./, '');
  return entry.includes('@') ? entry.slice(entry.lastIndexOf('@') + 1) : entry;
}

/** Starts every part; on a failure stops what had started and rethrows. */
export async function startLocalMode(options: LocalModeOptions): Promise<LocalMode> {
  const stops: Array<() => Promise<void>> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch {
        /* keep stopping the rest */
      }
    }
  };
  try {
    // DynamoDB Local exits at once when its -dbPath does not exist.
    if (options.dataDir) for (const sub of ['dynamodb', 's3']) await mkdir(join(options.dataDir, sub), { recursive: true });
    const db: DynamoDbLocal = await startDynamoDbLocal({ dataDir: options.dataDir ? join(options.dataDir, 'dynamodb') : undefined });
    stops.push(() => db.stop());
    const s3: LocalS3Server = await startLocalS3Server({
      bucket: LOCAL_BUCKET,
      moreBuckets: [LOCAL_SNAPSHOT_BUCKET],
      directory: options.dataDir ? join(options.dataDir, 's3') : undefined,
    });
    stops.push(() => s3.stop());
    // Calls are kept for nobody to read in local mode: a bounded tail, for debugging.
    const standIn: SesStandIn = await startSesStandIn({ outboxDir: options.outboxDir, maxCallsKept: 100 });
    stops.push(() => standIn.close());

    const domain = firstDomain(options.domains);
    const config = loadConfig({
      ...options.env,
      BOUNCE_SENDER: options.env?.BOUNCE_SENDER ?? bounceDefaults(domain).bounceSender,
      REPORTING_MTA: options.env?.REPORTING_MTA ?? bounceDefaults(domain).reportingMta,
      LOG_ADDRESSES: options.env?.LOG_ADDRESSES ?? 'true',
      RULES_TABLE: LOCAL_TABLE_NAMES.rules,
      STATE_TABLE: LOCAL_TABLE_NAMES.state,
      BOUNCE_QUEUE_URL: 'local://queue',
      MAIL_BUCKET: LOCAL_BUCKET,
      MAIL_PREFIX: LOCAL_PREFIX,
      // Receive reads the rules pointer and the compiled snapshot, as on AWS.
      RULES_SNAPSHOT_BUCKET: LOCAL_SNAPSHOT_BUCKET,
      RULES_CACHE_SECONDS: String(options.cacheSeconds),
      DYNAMODB_ENDPOINT: db.endpoint,
      S3_ENDPOINT: s3.endpoint,
      SES_ENDPOINT: standIn.endpoint,
    });
    const clients: Clients = createClients(config);
    // The S3 action's own client, without the SDK's default request checksum: a streamed body
    // would then go aws-chunked, and s3rver stores the chunk framing and checksum trailer as
    // part of the object (rules would read a corrupted message).
    const s3Action = createS3ActionClient(s3.endpoint);
    stops.push(async () => {
      for (const c of Object.values(clients)) c.destroy();
      s3Action.destroy();
    });

    await ensureLocalTables(clients.dynamodb, LOCAL_TABLE_NAMES);
    const seeded = await seedRulesIfEmpty(clients.dynamodb, config.rulesTable, loadRuleItems(options.rulesPath));

    // The compile function as the stack runs it: its own handler, fed by the rules table's stream.
    const compile = createCompileHandler(buildCompileDeps(config, clients));
    const printCompile = (result: CompileHandlerResult, records: number) => options.print(compileLine({ records, ...result }));
    // Once at start, like the stack's scheduled compile: the seeded rules, or a --data-dir's, get a snapshot.
    printCompile(await compile({ Records: [] }), 0);
    const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stops.push(async () => streams.destroy());
    const poller = await startStreamPoller({
      client: streams,
      streamArn: await rulesStreamArn(clients.dynamodb, config.rulesTable),
      handle: compile,
      batchingWindowMs: options.compileWindowMs ?? 250,
      onHandled: (result, records) => printCompile(result as CompileHandlerResult, records),
      onBatchFailed: (error, records) =>
        options.print(printable(`rules   compile of ${records} changes failed after its retries (receive scans the table until a compile succeeds): ${error instanceof Error ? error.message : String(error)}`)),
      onError: (error) => options.print(printable(`rules   reading the rules stream failed: ${error instanceof Error ? error.message : String(error)}`)),
    });
    stops.push(() => poller.stop());

    const queue = new MemoryBounceQueue();
    const ledger = new DynamoDbMessageLedger({ client: clients.dynamodb, tableName: config.stateTable });
    const invokeReceive = createReceiveInvoker(config, clients, queue);
    const sendDeps = { ...buildSendDeps(config, clients), queue };
    const sendHandler = createSendHandler(sendDeps);
    const outboxShown = (file: string) => {
      const rel = relative(process.cwd(), file);
      return rel.startsWith('..') ? file : rel;
    };

    const worker: SendWorker = startSendWorker({
      queue,
      handle: sendHandler,
      concurrency: options.sendConcurrency ?? 2,
      onDelivered: async (job) => {
        const audit = await ledger.get(job.messageId);
        const dsnFile = audit?.state === 'SENT' && audit.sesBounceMessageId ? outboxShown(join(options.outboxDir, `${audit.sesBounceMessageId}.eml`)) : undefined;
        options.print(sendLine({ messageId: job.messageId, audit, dsnFile }));
      },
      onDeadLetter: (job) => options.print(sendLine({ messageId: job.messageId, deadLettered: true })),
      onError: (error) => options.print(printable(`send    error: ${error instanceof Error ? error.message : String(error)}`)),
    });
    stops.push(() => worker.stop());

    const receiveTimeoutMs = options.receiveTimeoutMs ?? 25_000;
    /** Lambda's async invocation retries a failed event twice; so does local mode, sooner. */
    const runReceive = async (event: unknown, messageId: string, sender: string) => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          const { decisions } = await withTimeout(invokeReceive(event, messageId), receiveTimeoutMs);
          const audit = await ledger.get(messageId);
          for (const line of receiveLines({ messageId, sender, decisions, audit })) options.print(line);
          options.onDecided?.({ messageId, decisions, ...(audit ? { audit } : {}) });
          return;
        } catch (error) {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          options.print(printable(`receive ${messageId.slice(0, 12)}… failed (attempt ${attempt} of 3): ${reason}`));
          if (attempt < 3 && !stopped) await new Promise((r) => setTimeout(r, 1000 * attempt));
        }
      }
    };

    const inFlight = new Set<Promise<void>>();
    // Lambda caps concurrency too; here the cap keeps a burst of big mail from parsing all at once.
    const receiveSlots = createLimiter(options.receiveConcurrency ?? 1);
    const onMessage = async (mail: ReceivedMail) => {
      const built = buildReceivedEvent(mail, {
        domain,
        verdicts: options.verdicts,
        processingTimeMillis: Date.now() - mail.receivedAt.getTime(),
      });
      // The S3 action runs first; the Lambda action reads what it stored.
      await storeFileLikeS3Action(s3Action, { bucket: config.mailBucket, prefix: config.mailPrefix }, built.messageId, {
        prefix: built.added,
        file: mail.file,
        size: mail.size,
      });
      // The stand-in keeps at most 64 KiB of the header block, for the DSN; the recipients let it check SendBounce's.
      const headers = Buffer.concat([built.added, wholeLinesOfHead(mail)]);
      standIn.registerReceived(built.messageId, {
        receivedAt: mail.receivedAt,
        sender: mail.envelope.mailFrom,
        rawHeaders: splitHeaderBlock(headers).headerBlock,
        recipients: mail.envelope.rcptTo,
      });
      // Invocation type Event: SES does not wait for the function.
      const run = receiveSlots(() => runReceive(built.event, built.messageId, mail.envelope.mailFrom)).finally(() => inFlight.delete(run));
      inFlight.add(run);
      return { messageId: built.messageId };
    };

    const smtp: SmtpReceiver = await startSmtpReceiver({
      host: options.smtpHost,
      port: options.smtpPort,
      accepts: recipientMatcher(options.domains),
      onMessage,
    });
    // Stopped first: no new mail, then the receive runs in flight finish.
    stops.push(async () => {
      await smtp.close();
      await Promise.all([...inFlight]);
    });

    return {
      smtp: { host: smtp.host, port: smtp.port },
      dynamodb: { endpoint: db.endpoint, pid: db.pid },
      tables: LOCAL_TABLE_NAMES,
      s3: { endpoint: s3.endpoint, bucket: LOCAL_BUCKET, prefix: LOCAL_PREFIX },
      snapshots: { bucket: LOCAL_SNAPSHOT_BUCKET, prefix: config.rulesSnapshotPrefix },
      sesEndpoint: standIn.endpoint,
      outboxDir: options.outboxDir,
      seeded,
      config,
      receive: onMessage,
      compiled: () => poller.idle(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
