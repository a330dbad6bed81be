import { SendBounceCommand, type SendBounceCommandInput, type SESClient } from '@aws-sdk/client-ses';
import {
  MessageRejectedError,
  PermanentSendError,
  SendOutcomeUnknownError,
  ThrottledError,
  TransientSendError,
  type BounceSender,
  type SendBounceError,
} from '../../ports/bounce-sender';

const THROTTLING_CODES = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/**
 * SendBounce through the injected SES client. The client must make one
 * attempt only (`maxAttempts: 1`, see commons/clients): the rate gate, not the
 * SDK, decides when to try again.
 */
export class SesBounceSender implements BounceSender {
  constructor(private readonly client: SESClient) {}

  async send(request: SendBounceCommandInput): Promise<{ messageId: string }> {
    let out;
    try {
      out = await this.client.send(new SendBounceCommand(request));
    } catch (error) {
      throw toSendBounceError(error);
    }
    // SES always returns a MessageId on success; a missing one is still a
    // success (the bounce went out), and resending would bounce twice.
    return { messageId: out.MessageId ?? '' };
  }
}

/**
 * Error codes of failures that happen before a request can leave: nothing
 * reached SES. Trusted only with the syscall that raised them (`connect`,
 * `getaddrinfo`): the same code on an established socket proves nothing.
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
const BEFORE_SEND_SYSCALLS = new Set(['connect', 'getaddrinfo']);
/** The SDK's HTTP handler when its `connectionTimeout` fires: the socket never connected. */
const NO_CONNECTION = /did not establish a connection/i;
/**
 * Node's message for the same failures (`connect ECONNREFUSED 10.0.0.1:443`,
 * `getaddrinfo ENOTFOUND host`). The SDK wraps an error from another realm
 * (a VM context, as under jest) into a plain Error carrying only this text.
 */
const NOT_SENT_MESSAGE = /\b(?:connect|getaddrinfo) (?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/;

/**
 * Maps an SDK error to the port's error vocabulary:
 * - `Throttling` / `ThrottlingException` or "Maximum sending rate exceeded" → {@link ThrottledError}
 * - `MessageRejected` → {@link MessageRejectedError}
 * - a 5xx answer (other than 504) → {@link TransientSendError}: SES said it did not act
 * - no answer, and the failure provably came before the request left
 *   (connection refused, DNS, connect timeout) → {@link TransientSendError}
 * - no answer otherwise (reset or closed after the request was written,
 *   request timeout, abort), a 504 (a gateway lost the answer), or a 2xx
 *   answer that could not be read → {@link SendOutcomeUnknownError}: SES may
 *   have sent the bounce, so it must never be sent again
 * - any other answer (4xx: bad parameter, unverified identity, access denied) → {@link PermanentSendError}
 */
export function toSendBounceError(error: unknown): SendBounceError {
  const e = (error ?? {}) as {
    name?: string;
    code?: string;
    syscall?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e.name && e.name !== 'Error' && e.name !== 'TimeoutError' ? e.name : (e.code ?? e.name);
  const message = typeof e.message === 'string' ? e.message : String(error);
  const status = e.$metadata?.httpStatusCode;
  const options = { cause: error };
  if ((code && THROTTLING_CODES.has(code)) || /maximum sending rate exceeded/i.test(message)) {
    return new ThrottledError(`ses throttled sendbounce: ${message}`, code, options);
  }
  if (code === 'MessageRejected') return new MessageRejectedError(`ses rejected the bounce: ${message}`, code, options);
  if (status === undefined) {
    const notSent =
      (e.code !== undefined && NOT_SENT_CODES.has(e.code) && e.syscall !== undefined && BEFORE_SEND_SYSCALLS.has(e.syscall)) ||
      (e.code === undefined && NOT_SENT_MESSAGE.test(message)) ||
      (e.name === 'TimeoutError' && e.code === undefined && NO_CONNECTION.test(message));
    return notSent
      ? new TransientSendError(`sendbounce could not reach ses (${code ?? 'no response'}): ${message}`, code, options)
      : new SendOutcomeUnknownError(`sendbounce answer lost after the request may have reached ses (${code ?? 'no response'}): ${message}`, code, options);
  }
  if ((status >= 200 && status < 300) || status === 504) {
    return new SendOutcomeUnknownError(`sendbounce answer unreadable (${status} ${code ?? ''}): ${message}`, code, options);
  }
  if (status >= 500 || e.$fault === 'server') {
    return new TransientSendError(`sendbounce failed transiently (${status} ${code ?? ''}): ${message}`, code, options);
  }
  return new PermanentSendError(`ses refused sendbounce with ${status} ${code ?? ''}: ${message}`, code, options);
}
