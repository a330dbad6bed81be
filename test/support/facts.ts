import type { MessageFacts, Verdicts } from '../../lambda/domain/model';

/** Every SES verdict PASS: a message no verdict condition or guard check objects to. */
const ALL_PASS: Verdicts = { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' };

/**
 * MessageFacts for a plain, authenticated message with complete (empty)
 * headers; a test names only the fields it is about in `overrides`.
 */
export function messageFacts(overrides: Partial<MessageFacts> = {}): MessageFacts {
  return {
    messageId: 'm-1',
    receivedAt: '2026-06-01T12:00:00Z',
    sender: 'sender@example.net',
    recipients: ['alice@example.com'],
    verdicts: ALL_PASS,
    headers: [],
    headersComplete: true,
    ...overrides,
  };
}

/** {@link messageFacts} addressed to `recipients` (one address or several). */
export function factsFor(recipients: string | readonly string[], overrides: Partial<MessageFacts> = {}): MessageFacts {
  return messageFacts({ recipients: typeof recipients === 'string' ? [recipients] : recipients, ...overrides });
}
