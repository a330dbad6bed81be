/**
 * The SES stand-in: an HTTP server on 127.0.0.1 that answers SendBounce as
 * SES does, for the real `@aws-sdk/client-ses` client pointed at it.
 *
 * Order of checks for each call, as SES's front door would apply them:
 * 1. an injected fault, if one is pending (answered before anything else and
 *    left out of the rate window: it models SES failing, not the caller);
 * 2. a signature must be present (`MissingAuthenticationToken`, 403);
 * 3. Action/Version (`MissingAction` / `InvalidAction`, 400);
 * 4. the rate limit (`Throttling`, 400): every call that gets past step 3 and
 *    is not itself throttled counts, including calls that then fail
 *    validation or are rejected, because SES meters requests, not bounces;
 * 5. validation (`ValidationError` / `InvalidParameterValue`, 400);
 * 6. the original message: known and received at most 24 h ago, sender
 *    verified, recipients of the original (`MessageRejected` / `InvalidParameterValue`, 400);
 * 7. accepted: a MessageId, and the DSN written to the outbox if configured.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderDsn } from './dsn';
import { newRequestId, newSesMessageId, parseForm, renderError, renderResult, SES_API_VERSION } from './query-protocol';
import { decodeSendBounce, extractAddress, type SendBounceRequest } from './send-bounce-request';
import type { ReceivedMessage, SendBounceCall, SesStandIn, SesStandInOptions } from './types';

/** How long after receipt SES still accepts SendBounce for a message. */
export const SEND_BOUNCE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Minimum spacing of calls when the options do not say. */
export const DEFAULT_MIN_INTERVAL_MS = 1000;

/**
 * Most bytes of an original's header block kept for the DSN's
 * text/rfc822-headers part. A received message is held for 24 h; holding the
 * header block of a 40 MB message whose "headers" never end would hold the
 * message itself, so the block is cut at the last whole line below this.
 */
export const MAX_HELD_HEADER_BYTES = 64 * 1024;

/** How often, at most, originals past the 24 h window are forgotten. */
export const SWEEP_INTERVAL_MS = 60 * 1000;

/** What the stand-in keeps of a received message: only what SendBounce's checks and the DSN read. */
interface HeldMessage {
  readonly receivedAt: Date;
  readonly sender?: string;
  readonly rawHeaders?: string;
  readonly recipients?: readonly string[];
}

/**
 * A copy of the header block of at most {@link MAX_HELD_HEADER_BYTES}, cut
 * after the last line end that fits. Always a fresh string: a slice of the
 * caller's string could keep the whole original alive.
 */
export function boundedHeaderBlock(rawHeaders: string): string {
  const bytes = Buffer.from(rawHeaders, 'utf8');
  if (bytes.length <= MAX_HELD_HEADER_BYTES) return bytes.toString('utf8');
  const lastLineEnd = bytes.lastIndexOf(0x0a, MAX_HELD_HEADER_BYTES - 1);
  return bytes.subarray(0, lastLineEnd + 1).toString('utf8');
}

function hold(message: ReceivedMessage): HeldMessage {
  return {
    receivedAt: new Date(message.receivedAt.getTime()),
    ...(message.sender !== undefined ? { sender: message.sender } : {}),
    ...(message.rawHeaders !== undefined ? { rawHeaders: boundedHeaderBlock(message.rawHeaders) } : {}),
    ...(message.recipients !== undefined ? { recipients: [...message.recipients] } : {}),
  };
}

type Outcome = SendBounceCall['outcome'];
type Fault = { code: string; status: number; message?: string; delayMs?: number };
interface Answer {
  readonly status: number;
  readonly body: string;
  readonly outcome: Outcome;
}

function errorAnswer(code: string, status: number, message: string, requestId: string): Answer {
  return { status, body: renderError(code, message, status, requestId), outcome: { kind: 'error', code, status, message } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** True when the address itself or its domain is among the identities (case-insensitive). */
function isVerified(address: string, identities: readonly string[]): boolean {
  const lower = address.toLowerCase();
  const domain = lower.slice(lower.lastIndexOf('@') + 1);
  return identities.some((identity) => {
    const id = identity.toLowerCase();
    return id === lower || id === domain;
  });
}

/**
 * Starts the stand-in on 127.0.0.1 (a free port unless `port` is given).
 * Point an `SESClient` at `endpoint`; register each message "SES received"
 * with `registerReceived` before bouncing it.
 */
export async function startSesStandIn(options: SesStandInOptions = {}): Promise<SesStandIn> {
  const now = options.now ?? Date.now;
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  const outboxDir = options.outboxDir;
  const received = new Map<string, HeldMessage>();
  const calls: SendBounceCall[] = [];
  const maxCallsKept = options.maxCallsKept ?? Infinity;
  let lastSweepAt = now();
  const faults: Fault[] = [];
  const cancels = new Set<() => void>();
  let lastCountedAt: number | undefined;
  let closed = false;

  if (outboxDir) await mkdir(outboxDir, { recursive: true });

  /** Waits `ms`; resolves false instead if the stand-in closes meanwhile. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const cancel = () => {
        clearTimeout(timer);
        cancels.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        cancels.delete(cancel);
        resolve(true);
      }, ms);
      cancels.add(cancel);
    });

  /** Writes the DSN as tmp + rename, so a watcher never sees half a file. */
  /**
   * Forgets originals received more than 24 h ago (SendBounce refuses them
   * anyway), at most once per {@link SWEEP_INTERVAL_MS}, so a long-running
   * local mode holds one day of mail metadata, not every message ever.
   */
  function sweep(at: number): void {
    if (at - lastSweepAt < SWEEP_INTERVAL_MS) return;
    lastSweepAt = at;
    for (const [id, message] of received) {
      if (at - message.receivedAt.getTime() > SEND_BOUNCE_WINDOW_MS) received.delete(id);
    }
  }

  function record(call: SendBounceCall): void {
    calls.push(call);
    // Trimmed in batches, so keeping the last N calls costs O(1) per call on average.
    if (calls.length > 2 * maxCallsKept) calls.splice(0, calls.length - maxCallsKept);
  }

  async function writeDsn(messageId: string, request: SendBounceRequest, original: HeldMessage, at: number): Promise<string> {
    const dir = outboxDir as string;
    const eml = renderDsn({
      messageId,
      date: new Date(at),
      request,
      to: original.sender && original.sender !== '<>' ? original.sender : undefined,
      originalHeaders: original.rawHeaders,
      defaultReportingMta: options.defaultReportingMta,
    });
    const file = join(dir, `${messageId}.eml`);
    const tmp = join(dir, `.${messageId}.eml.tmp`);
    await writeFile(tmp, eml, 'utf8');
    await rename(tmp, file);
    return file;
  }

  async function sendBounce(params: Record<string, string>, arrivedAt: number, requestId: string): Promise<Answer> {
    sweep(arrivedAt);
    const decoded = decodeSendBounce(params);
    if (!decoded.ok) return errorAnswer(decoded.code, 400, decoded.message, requestId);
    const { request } = decoded;

    const original = received.get(request.originalMessageId);
    if (!original) {
      return errorAnswer(
        'MessageRejected',
        400,
        `original message '${request.originalMessageId}' was not found: SendBounce only answers mail SES received`,
        requestId,
      );
    }
    if (arrivedAt - original.receivedAt.getTime() > SEND_BOUNCE_WINDOW_MS) {
      return errorAnswer(
        'MessageRejected',
        400,
        `original message '${request.originalMessageId}' was received at ${original.receivedAt.toISOString()}, more than 24 hours ago`,
        requestId,
      );
    }
    const senderAddress = extractAddress(request.bounceSender) as string;
    if (options.verifiedIdentities && !isVerified(senderAddress, options.verifiedIdentities)) {
      return errorAnswer(
        'MessageRejected',
        400,
        `Email address is not verified. The following identities failed the check in region US-EAST-1: ${senderAddress}`,
        requestId,
      );
    }
    if (original.recipients) {
      const known = new Set(original.recipients.map((r) => r.toLowerCase()));
      for (const info of request.bouncedRecipients) {
        const final = info.recipientDsnFields?.finalRecipient;
        if (!known.has(info.recipient.toLowerCase()) && !(final && known.has(final.toLowerCase()))) {
          return errorAnswer(
            'InvalidParameterValue',
            400,
            `recipient '${info.recipient}' is not a recipient of original message '${request.originalMessageId}'`,
            requestId,
          );
        }
      }
    }

    const messageId = newSesMessageId(arrivedAt);
    let dsnFile: string | undefined;
    if (outboxDir) {
      try {
        dsnFile = await writeDsn(messageId, request, original, arrivedAt);
      } catch (error) {
        return errorAnswer('InternalFailure', 500, `could not write the DSN to '${outboxDir}': ${String(error)}`, requestId);
      }
    }
    return {
      status: 200,
      body: renderResult('SendBounce', { MessageId: messageId }, requestId),
      outcome: { kind: 'accepted', messageId, ...(dsnFile ? { dsnFile } : {}) },
    };
  }

  async function answer(req: IncomingMessage, params: Record<string, string>, arrivedAt: number, requestId: string): Promise<Answer | undefined> {
    const fault = faults.shift();
    if (fault) {
      if (fault.delayMs && !(await sleep(fault.delayMs))) return undefined;
      return errorAnswer(fault.code, fault.status, fault.message ?? `injected ${fault.code}`, requestId);
    }
    if (!req.headers.authorization && !params['X-Amz-Signature']) {
      return errorAnswer('MissingAuthenticationToken', 403, 'Request is missing Authentication Token', requestId);
    }
    const action = params.Action;
    if (action === undefined) return errorAnswer('MissingAction', 400, 'Missing Action', requestId);
    if (action !== 'SendBounce' || params.Version !== SES_API_VERSION) {
      return errorAnswer('InvalidAction', 400, `Could not find operation ${action} for version ${params.Version ?? 'NO_VERSION_SPECIFIED'}`, requestId);
    }
    if (lastCountedAt !== undefined && arrivedAt - lastCountedAt < minIntervalMs) {
      return errorAnswer(
        'Throttling',
        400,
        `Maximum SendBounce rate exceeded: ${arrivedAt - lastCountedAt} ms since the previous call, at least ${minIntervalMs} ms required`,
        requestId,
      );
    }
    lastCountedAt = arrivedAt;
    return sendBounce(params, arrivedAt, requestId);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = now();
    const requestId = newRequestId();
    let params: Record<string, string> = {};
    let result: Answer | undefined;
    try {
      const body = await readBody(req);
      const query = new URL(req.url ?? '/', 'http://127.0.0.1').search.slice(1);
      params = { ...parseForm(query), ...parseForm(body) };
      result = await answer(req, params, arrivedAt, requestId);
    } catch (error) {
      result = errorAnswer('InternalFailure', 500, `the stand-in failed: ${String(error)}`, requestId);
    }
    if (!result || closed) return;
    // Recorded before answering, so a caller that awaited the SDK call sees it.
    record({ arrivedAt, params, outcome: result.outcome });
    res.writeHead(result.status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(result.body),
      'x-amzn-requestid': requestId,
    });
    res.end(result.body);
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    registerReceived(messageId: string, message: ReceivedMessage): void {
      sweep(now());
      // Re-registering moves the id to the end, keeping the map in arrival order.
      received.delete(messageId);
      received.set(messageId, hold(message));
    },
    get heldMessages(): number {
      return received.size;
    },
    injectFaults(n: number, fault: Fault): void {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`fault count must be a non-negative integer, got ${n}`);
      for (let i = 0; i < n; i++) faults.push({ ...fault });
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const cancel of [...cancels]) cancel();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets of SDK clients and slow (delayed) answers would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}
