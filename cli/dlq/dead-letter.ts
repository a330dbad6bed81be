/**
 * What a message in the bouncer's dead-letter queue is, why it got there and
 * what redriving it would do. Pure: the command (cli/commands/dlq.ts) reads
 * the queue and carries out the plan.
 *
 * One DLQ holds two shapes (lib/ses-bouncer-construct.ts):
 * - **bounce jobs** the send function failed `maxReceiveCount` (5) times: the
 *   SQS body is the job itself (lambda/adapters/sqs/bounce-job.ts);
 * - **failed receive invocations**: the receive function's on-failure
 *   destination writes a Lambda destination record (`requestContext`,
 *   `requestPayload` = the SES event, `responseContext`, `responsePayload` =
 *   the error) once its async retries are spent.
 * Anything else is shown as `unknown` and never redriven.
 */
import { SEND_WINDOW_MS } from '../../lambda/app/send-bounce';
import { bounceJobSchema } from '../../lambda/adapters/sqs/bounce-job';

/** The SQS attributes of a dead letter that the listing shows. */
export interface DeadLetterMessage {
  /** SQS's id of the message in the DLQ. */
  readonly sqsMessageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** How often the DLQ message was received (listings included). */
  readonly receiveCount?: number;
  /** When it was first sent to a queue (for a job: when it was enqueued), epoch ms. */
  readonly sentAt?: number;
}

interface Common {
  readonly sqsMessageId: string;
  /** The SES message ids concerned. */
  readonly messageIds: readonly string[];
  /** When SES received the mail (SendBounce is refused 24 h later), ISO 8601. */
  readonly receivedAt?: string;
  /** Why it failed, in one line. */
  readonly reason: string;
}

/** A bounce job that exhausted its deliveries to the send function. */
export interface JobLetter extends Common {
  readonly kind: 'bounce-job';
  readonly recipients: readonly string[];
}

/** A receive invocation whose async retries were spent (a Lambda destination record). */
export interface ReceiveFailureLetter extends Common {
  readonly kind: 'receive-failure';
  /** The function that failed, from the record (qualified ARN). */
  readonly functionArn?: string;
  /** The SES event to invoke it with again. */
  readonly payload: unknown;
}

export interface UnknownLetter extends Common {
  readonly kind: 'unknown';
}

export type DeadLetter = JobLetter | ReceiveFailureLetter | UnknownLetter;

/** What redrive does with one dead letter. */
export type RedriveAction =
  | { readonly action: 'requeue-job'; readonly why: string }
  | { readonly action: 'invoke-receive'; readonly functionName: string; readonly why: string }
  | { readonly action: 'skip'; readonly why: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Control characters, C1 and line/paragraph separators shown as \u escapes: DLQ bodies are untrusted. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function short(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The SES message ids and receipt time of a receipt-rule Lambda event, as far as they can be read. */
function sesFacts(payload: unknown): { messageIds: string[]; receivedAt?: string } {
  const records = isObject(payload) && Array.isArray(payload.Records) ? payload.Records : [];
  const messageIds: string[] = [];
  let receivedAt: string | undefined;
  for (const record of records) {
    const ses = isObject(record) && isObject(record.ses) ? record.ses : undefined;
    const mail = ses && isObject(ses.mail) ? ses.mail : undefined;
    const id = str(mail?.messageId);
    if (id) messageIds.push(id);
    receivedAt ??= str(mail?.timestamp) ?? (ses && isObject(ses.receipt) ? str(ses.receipt.timestamp) : undefined);
  }
  return { messageIds, ...(receivedAt ? { receivedAt } : {}) };
}

/** Tells a dead letter's shape from its body and says why it failed. */
export function classify(message: DeadLetterMessage): DeadLetter {
  const base = { sqsMessageId: message.sqsMessageId };
  let json: unknown;
  try {
    json = JSON.parse(message.body);
  } catch {
    return { ...base, kind: 'unknown', messageIds: [], reason: `body is not JSON (starts with ${JSON.stringify(short(message.body, 40))})` };
  }
  if (isObject(json) && isObject(json.requestContext) && 'requestPayload' in json) {
    const context = json.requestContext;
    const response = isObject(json.responsePayload) ? json.responsePayload : undefined;
    const responseContext = isObject(json.responseContext) ? json.responseContext : undefined;
    const condition = str(context.condition) ?? 'unknown condition';
    const attempts = typeof context.approximateInvokeCount === 'number' ? `, ${context.approximateInvokeCount} attempts` : '';
    const error = response
      ? `${str(response.errorType) ?? str(responseContext?.functionError) ?? 'error'}: ${str(response.errorMessage) ?? ''}`.trim()
      : str(responseContext?.functionError) ?? 'no error payload';
    const facts = sesFacts(json.requestPayload);
    return {
      ...base,
      kind: 'receive-failure',
      ...facts,
      ...(str(context.functionArn) ? { functionArn: str(context.functionArn) } : {}),
      payload: json.requestPayload,
      reason: short(`${condition}${attempts}: ${error}`),
    };
  }
  const job = bounceJobSchema.safeParse(json);
  if (job.success) {
    const count = message.receiveCount === undefined ? '' : ` (${message.receiveCount} receives)`;
    return {
      ...base,
      kind: 'bounce-job',
      messageIds: [job.data.messageId],
      receivedAt: job.data.receivedAt,
      recipients: job.data.recipients.map((r) => r.recipient),
      reason: `the send function failed it on every delivery${count}; its audit item says how (ses-bouncer explain ${job.data.messageId})`,
    };
  }
  const issue = job.error.issues[0];
  return {
    ...base,
    kind: 'unknown',
    messageIds: isObject(json) && str(json.messageId) ? [str(json.messageId) as string] : [],
    reason: `neither a bounce job nor a Lambda destination record (${issue.path.join('.') || '(root)'}: ${issue.message})`,
  };
}

/** Options of {@link planRedrive}. */
export interface RedrivePlanOptions {
  readonly now: number;
  /** The receive function to invoke; @default the function named in the record */
  readonly receiveFunction?: string;
  /** Whether a job queue URL was given (jobs cannot be redriven without one). */
  readonly hasJobQueue: boolean;
}

/**
 * What redrive does with a dead letter. Mail received more than 24 h ago is
 * skipped: SendBounce refuses it, so a redrive could only fail again. A job
 * goes back to the job queue, where the send function's claim states make it
 * a no-op if it was already SENT or may have been sent (SENDING, UNKNOWN); a
 * failed receive invocation is invoked again (Event), where the receive
 * function's claim makes it a no-op if the message was already decided.
 */
export function planRedrive(letter: DeadLetter, options: RedrivePlanOptions): RedriveAction {
  if (letter.kind === 'unknown') return { action: 'skip', why: 'not a shape the bouncer writes: left in the queue for a person to read' };
  const received = letter.receivedAt === undefined ? NaN : Date.parse(letter.receivedAt);
  if (Number.isNaN(received)) return { action: 'skip', why: 'no readable receipt time: cannot tell whether SendBounce would still take it' };
  if (options.now - received > SEND_WINDOW_MS) {
    return { action: 'skip', why: `received ${letter.receivedAt}, more than 24 h ago: SendBounce would refuse it` };
  }
  if (letter.kind === 'bounce-job') {
    if (!options.hasJobQueue) return { action: 'skip', why: 'no job queue: pass --job-queue-url or set SES_BOUNCER_QUEUE_URL' };
    return { action: 'requeue-job', why: 'back to the job queue; the claim states keep it from being sent twice' };
  }
  const functionName = options.receiveFunction ?? letter.functionArn;
  if (!functionName) return { action: 'skip', why: 'the record names no function: pass --receive-function' };
  return { action: 'invoke-receive', functionName, why: 'invoked again (Event); the receive claim keeps a decided message from being queued twice' };
}
