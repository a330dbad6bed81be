/**
 * `ses-bouncer dlq list|redrive`: reads the dead-letter queue, tells bounce
 * jobs from failed receive invocations, shows why each failed, and redrives
 * them safely (cli/dlq/dead-letter.ts decides what happens to each).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Command, CommandContext } from '../command';
import { classify, planRedrive, printable, type DeadLetter, type DeadLetterMessage, type RedriveAction } from '../dlq/dead-letter';
import { println } from '../io';
import { renderTable, truncate } from '../format/table';

/** Most messages one run reads. */
const DEFAULT_MAX = 100;
/** How long messages read stay hidden from other readers while this run looks at them. */
const VISIBILITY_SECONDS = 60;

const QUEUE_FLAGS = {
  'queue-url': { type: 'string' },
  max: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const QUEUE_HELP = `  --queue-url URL         the dead-letter queue (default: env SES_BOUNCER_DLQ_URL;
                          the stack output DeadLetterQueueUrl)
  --max N                 read at most N messages (default ${DEFAULT_MAX})
  --json                  print one JSON document instead of text`;

/** The AWS side of the command, injectable for tests. */
interface DlqClients {
  readonly sqs: SQSClient;
  readonly lambda: LambdaClient;
}

/** The Region of an SQS queue URL (`https://sqs.<region>.amazonaws.com/...`), when it has one. */
export function regionOfQueueUrl(url: string): string | undefined {
  try {
    return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}

function clientsFor(ctx: CommandContext, queueUrl: string): DlqClients {
  const { region, profile } = ctx.args.common;
  // --region wins, then the SDK's own chain (AWS_REGION, the profile); a queue URL names its Region too.
  const envRegion = ctx.io.env.AWS_REGION || ctx.io.env.AWS_DEFAULT_REGION;
  const chosen = region ?? (envRegion ? undefined : regionOfQueueUrl(queueUrl));
  const config = { ...(chosen ? { region: chosen } : {}), ...(profile ? { profile } : {}) };
  return { sqs: new SQSClient(config), lambda: new LambdaClient(config) };
}

function queueUrlOf(ctx: CommandContext): string {
  const url = ctx.args.string('queue-url') || ctx.io.env.SES_BOUNCER_DLQ_URL;
  if (!url) throw ctx.usageError('no dead-letter queue: pass --queue-url URL or set SES_BOUNCER_DLQ_URL (stack output DeadLetterQueueUrl)');
  if (!/^https?:\/\//.test(url)) throw ctx.usageError(`--queue-url must be a queue URL like https://sqs.us-east-1.amazonaws.com/123456789012/name (got ${JSON.stringify(url)})`);
  return url;
}

function maxOf(ctx: CommandContext): number {
  const text = ctx.args.string('max');
  if (text === undefined) return DEFAULT_MAX;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10_000) throw ctx.usageError(`--max must be a whole number from 1 to 10000 (got ${JSON.stringify(text)})`);
  return Number(text);
}

/**
 * Reads up to `max` messages (10 per call, SQS's limit) until the queue gives
 * none. Each stays invisible to others for {@link VISIBILITY_SECONDS} while
 * this run holds it.
 */
async function readQueue(sqs: SQSClient, queueUrl: string, max: number): Promise<DeadLetterMessage[]> {
  const messages: DeadLetterMessage[] = [];
  const seen = new Set<string>();
  while (messages.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - messages.length),
        VisibilityTimeout: VISIBILITY_SECONDS,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    const batch = (out.Messages ?? []).filter((m) => m.MessageId && m.ReceiptHandle && !seen.has(m.MessageId));
    if (batch.length === 0) break;
    for (const m of batch) {
      seen.add(m.MessageId as string);
      const count = Number(m.Attributes?.ApproximateReceiveCount);
      const sent = Number(m.Attributes?.SentTimestamp);
      messages.push({
        sqsMessageId: m.MessageId as string,
        receiptHandle: m.ReceiptHandle as string,
        body: m.Body ?? '',
        ...(Number.isFinite(count) ? { receiveCount: count } : {}),
        ...(Number.isFinite(sent) ? { sentAt: sent } : {}),
      });
    }
  }
  return messages;
}

/** Makes messages this run read but did not remove visible again at once (best effort: they reappear anyway after the timeout). */
async function release(sqs: SQSClient, queueUrl: string, messages: readonly DeadLetterMessage[]): Promise<void> {
  await Promise.allSettled(messages.map((m) => sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.receiptHandle, VisibilityTimeout: 0 }))));
}

function letterRow(letter: DeadLetter, message: DeadLetterMessage): string[] {
  return [
    truncate(message.sqsMessageId, 36),
    letter.kind,
    printable(truncate(letter.messageIds.join(', ') || '-', 64)),
    letter.receivedAt ? printable(letter.receivedAt) : '-',
    printable(letter.reason),
  ];
}

function letterJson(letter: DeadLetter, message: DeadLetterMessage) {
  const { payload: _payload, ...rest } = letter as DeadLetter & { payload?: unknown };
  return { ...rest, receiveCount: message.receiveCount, sentAt: message.sentAt === undefined ? undefined : new Date(message.sentAt).toISOString() };
}

/** `dlq list`. */
export const dlqListCommand: Command = {
  spec: {
    name: 'dlq list',
    summary: 'show what is in the dead-letter queue and why each failed',
    help: `Usage: ses-bouncer dlq list [options]

Reads the dead-letter queue without removing anything and prints one line per
message: its kind (bounce-job: a job the send function failed 5 times;
receive-failure: a receive invocation whose retries were spent, as a Lambda
destination record; unknown), the SES message ids, when SES received the mail,
and why it failed. Messages read are made visible again before it exits.

Options:
${QUEUE_HELP}

Example:
  ses-bouncer dlq list --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/ses-bouncer-dlq`,
    flags: QUEUE_FLAGS,
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const queueUrl = queueUrlOf(ctx);
    const max = maxOf(ctx);
    const { sqs, lambda } = clientsFor(ctx, queueUrl);
    try {
      const messages = await readQueue(sqs, queueUrl, max);
      try {
        const letters = messages.map((m) => ({ message: m, letter: classify(m) }));
        const counts = countKinds(letters.map((l) => l.letter));
        if (ctx.args.flag('json')) {
          println(ctx.io.stdout, JSON.stringify({ queueUrl, messages: letters.map((l) => letterJson(l.letter, l.message)), counts }, null, 2));
          return 0;
        }
        if (messages.length === 0) {
          println(ctx.io.stdout, `the dead-letter queue is empty (${queueUrl})`);
          return 0;
        }
        for (const line of renderTable(['SQS MESSAGE', 'KIND', 'SES MESSAGE', 'RECEIVED', 'WHY'], letters.map((l) => letterRow(l.letter, l.message)))) println(ctx.io.stdout, line);
        println(ctx.io.stdout);
        println(ctx.io.stdout, `${messages.length} messages${messages.length >= max ? ` (the first ${max}; pass --max for more)` : ''}: ${describeCounts(counts)}`);
        return 0;
      } finally {
        await release(sqs, queueUrl, messages);
      }
    } finally {
      sqs.destroy();
      lambda.destroy();
    }
  },
};

type Kind = DeadLetter['kind'];
function countKinds(letters: readonly DeadLetter[]): Record<Kind, number> {
  const counts: Record<Kind, number> = { 'bounce-job': 0, 'receive-failure': 0, unknown: 0 };
  for (const l of letters) counts[l.kind]++;
  return counts;
}
const describeCounts = (c: Record<Kind, number>) => `${c['bounce-job']} bounce jobs, ${c['receive-failure']} failed receive invocations, ${c.unknown} unknown`;

/** The outcome of one redrive step. */
interface Redriven {
  readonly sqsMessageId: string;
  readonly kind: Kind;
  readonly messageIds: readonly string[];
  readonly action: RedriveAction['action'];
  readonly why: string;
  /** done, planned (dry run), skipped, or failed with the error. */
  readonly outcome: 'done' | 'planned' | 'skipped' | 'failed';
  readonly error?: string;
}

/**
 * Carries out one action: the new copy first (SendMessage / Invoke), the
 * delete from the DLQ only after it succeeded. A crash between the two leaves
 * the letter in the DLQ and the copy on its way: a second redrive then sends
 * a duplicate job or event, which the claim states turn into a no-op.
 */
async function carryOut(clients: DlqClients, dlqUrl: string, jobQueueUrl: string | undefined, letter: DeadLetter, message: DeadLetterMessage, action: RedriveAction): Promise<void> {
  if (action.action === 'requeue-job') {
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: jobQueueUrl, MessageBody: message.body }));
  } else if (action.action === 'invoke-receive') {
    const payload = (letter as { payload?: unknown }).payload;
    const out = await clients.lambda.send(new InvokeCommand({ FunctionName: action.functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }));
    if (out.StatusCode !== 202) throw new Error(`lambda accepted the event with status ${out.StatusCode}, not 202`);
  } else {
    return;
  }
  await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.receiptHandle }));
}

/** `dlq redrive`. */
export const dlqRedriveCommand: Command = {
  spec: {
    name: 'dlq redrive',
    summary: 'send dead letters back where they can succeed, never twice',
    help: `Usage: ses-bouncer dlq redrive [options]

Reads the dead-letter queue and, for each message:
  bounce-job       sends it back to the job queue, then deletes it from the DLQ.
                   The send function's claim states still apply: a job whose
                   bounce was SENT, or may have been (SENDING, UNKNOWN), is
                   never sent again.
  receive-failure  invokes the receive function again (InvocationType Event)
                   with the SES event from the record, then deletes it. The
                   receive claim keeps an already decided message from being
                   queued twice.
  unknown          left in the queue.
Mail SES received more than 24 hours ago is left too: SendBounce would refuse it.
Exits 1 when any step failed (those messages stay in the DLQ).

Options:
${QUEUE_HELP}
  --job-queue-url URL     the bounce job queue (default: env SES_BOUNCER_QUEUE_URL;
                          the stack output BounceQueueUrl)
  --receive-function NAME the receive function (default: the one named in each record)
  --dry-run               print what would be done and change nothing

Example:
  ses-bouncer dlq redrive --dry-run --queue-url "$DLQ_URL" --job-queue-url "$QUEUE_URL"`,
    flags: { ...QUEUE_FLAGS, 'job-queue-url': { type: 'string' }, 'receive-function': { type: 'string' }, 'dry-run': { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const queueUrl = queueUrlOf(ctx);
    const max = maxOf(ctx);
    const jobQueueUrl = ctx.args.string('job-queue-url') || ctx.io.env.SES_BOUNCER_QUEUE_URL || undefined;
    if (jobQueueUrl !== undefined && !/^https?:\/\//.test(jobQueueUrl)) throw ctx.usageError(`--job-queue-url must be a queue URL (got ${JSON.stringify(jobQueueUrl)})`);
    if (jobQueueUrl === queueUrl) throw ctx.usageError('--job-queue-url is the dead-letter queue itself');
    const receiveFunction = ctx.args.string('receive-function') || undefined;
    const dryRun = ctx.args.flag('dry-run');
    const clients = clientsFor(ctx, queueUrl);
    const results: Redriven[] = [];
    try {
      const messages = await readQueue(clients.sqs, queueUrl, max);
      const kept: DeadLetterMessage[] = [];
      try {
        const now = Date.now();
        for (const message of messages) {
          const letter = classify(message);
          const plan = planRedrive(letter, { now, receiveFunction, hasJobQueue: jobQueueUrl !== undefined });
          const base = { sqsMessageId: message.sqsMessageId, kind: letter.kind, messageIds: letter.messageIds, action: plan.action, why: plan.why };
          if (plan.action === 'skip' || dryRun) {
            kept.push(message);
            results.push({ ...base, outcome: plan.action === 'skip' ? 'skipped' : 'planned' });
            continue;
          }
          try {
            await carryOut(clients, queueUrl, jobQueueUrl, letter, message, plan);
            results.push({ ...base, outcome: 'done' });
          } catch (error) {
            kept.push(message);
            results.push({ ...base, outcome: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
          }
        }
      } finally {
        await release(clients.sqs, queueUrl, kept);
      }
    } finally {
      clients.sqs.destroy();
      clients.lambda.destroy();
    }
    const tally = (o: Redriven['outcome']) => results.filter((r) => r.outcome === o).length;
    const failed = tally('failed');
    if (ctx.args.flag('json')) {
      println(ctx.io.stdout, JSON.stringify({ queueUrl, dryRun, results, done: tally('done'), planned: tally('planned'), skipped: tally('skipped'), failed }, null, 2));
      return failed > 0 ? 1 : 0;
    }
    if (results.length === 0) {
      println(ctx.io.stdout, `the dead-letter queue is empty (${queueUrl})`);
      return 0;
    }
    const rows = results.map((r) => [
      truncate(r.sqsMessageId, 36),
      r.kind,
      printable(truncate(r.messageIds.join(', ') || '-', 64)),
      r.action,
      r.outcome,
      printable(r.error ?? r.why),
    ]);
    for (const line of renderTable(['SQS MESSAGE', 'KIND', 'SES MESSAGE', 'ACTION', 'OUTCOME', 'WHY'], rows)) println(ctx.io.stdout, line);
    println(ctx.io.stdout);
    println(
      ctx.io.stdout,
      dryRun
        ? `dry run: ${tally('planned')} would be redriven, ${tally('skipped')} left in the queue; nothing was changed`
        : `${tally('done')} redriven, ${tally('skipped')} left in the queue, ${failed} failed`,
    );
    return failed > 0 ? 1 : 0;
  },
};

/** The `dlq` subcommands, by name. */
export const DLQ_COMMANDS: Readonly<Record<string, Command>> = Object.freeze({ list: dlqListCommand, redrive: dlqRedriveCommand });
