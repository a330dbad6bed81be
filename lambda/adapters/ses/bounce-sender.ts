import { SendBounceCommand, type SendBounceCommandInput, type SESClient } from '@aws-sdk/client-ses';
import {
  MessageRejectedError,
  PermanentSendError,
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
 * Maps an SDK error to the port's error vocabulary:
 * - `Throttling` / `ThrottlingException` or "Maximum sending rate exceeded" → {@link ThrottledError}
 * - `MessageRejected` → {@link MessageRejectedError}
 * - a 5xx answer or no answer at all (network, timeout) → {@link TransientSendError}
 * - any other answer (4xx: bad parameter, unverified identity, access denied) → {@link PermanentSendError}
 */
export function toSendBounceError(error: unknown): SendBounceError {
  const e = (error ?? {}) as {
    name?: string;
    code?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e.name && e.name !== 'Error' ? e.name : e.code;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const status = e.$metadata?.httpStatusCode;
  const options = { cause: error };
  if ((code && THROTTLING_CODES.has(code)) || /maximum sending rate exceeded/i.test(message)) {
    return new ThrottledError(`ses throttled sendbounce: ${message}`, code, options);
  }
  if (code === 'MessageRejected') return new MessageRejectedError(`ses rejected the bounce: ${message}`, code, options);
  if (status === undefined || status >= 500 || e.$fault === 'server') {
    return new TransientSendError(`sendbounce failed transiently (${status ?? 'no response'} ${code ?? ''}): ${message}`, code, options);
  }
  return new PermanentSendError(`ses refused sendbounce with ${status} ${code ?? ''}: ${message}`, code, options);
}
