import type { SendBounceCommandInput } from '@aws-sdk/client-ses';
import { SesBouncerError } from '../commons/errors';

/**
 * Sends one bounce. The request is SES's own `SendBounceCommandInput` (built
 * and validated by `domain/bounce/build-request`): the port is about who
 * carries it, not about reshaping it.
 *
 * Implementations throw only the errors below, so the send use case decides
 * with `instanceof`.
 */
export interface BounceSender {
  /** Returns SES's MessageId of the bounce. */
  send(request: SendBounceCommandInput): Promise<{ messageId: string }>;
}

/** Base of every SendBounce failure; `code` is SES's error code when there was one. */
export class SendBounceError extends SesBouncerError {
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** SES answered Throttling (sending rate exceeded): retry in a later slot, not a failure. */
export class ThrottledError extends SendBounceError {}

/** SES refused the bounce (`MessageRejected`): final, never retried. */
export class MessageRejectedError extends SendBounceError {}

/**
 * SES certainly did not send: it answered with a 5xx error, or the call
 * failed before the request could leave (connection refused, DNS, no
 * connection within the connect timeout). Retried with backoff.
 */
export class TransientSendError extends SendBounceError {}

/**
 * The request may have reached SES but its answer was lost (connection reset
 * or closed after the request was written, request timeout, an answer that
 * could not be read). SES may have sent the bounce: the job ends UNKNOWN and
 * is never sent again (a second DSN is worse than a missing one).
 */
export class SendOutcomeUnknownError extends SendBounceError {}

/**
 * Any other 4xx answer (bad parameter, unverified sender, access denied):
 * the same request would fail again, so it is final like MessageRejected.
 */
export class PermanentSendError extends SendBounceError {}
