import { simpleParser } from 'mailparser';
import {
  BOUNCE_TYPE_DSN,
  DEFAULT_REPORTING_MTA,
  encodeQuotedPrintable,
  recipientBlock,
  renderDsn,
  type DsnInput,
} from '../../../local/ses-stand-in/dsn';
import { BOUNCE_TYPES, type SendBounceRequest } from '../../../local/ses-stand-in/send-bounce-request';
import { deliveryStatusGroups, mimeParts } from './mime-parts';

const ORIGINAL_HEADERS = [
  'Return-Path: <sender@example.org>',
  'From: Sender <sender@example.org>',
  'To: rcpt@example.com',
  'Subject: quarterly report',
  'Message-ID: <orig-123@example.org>',
  '',
].join('\n');

function request(overrides: Partial<SendBounceRequest> = {}): SendBounceRequest {
  return {
    originalMessageId: 'orig-ses-id',
    bounceSender: 'mailer-daemon@example.com',
    bouncedRecipients: [{ recipient: 'rcpt@example.com', bounceType: 'DoesNotExist' }],
    ...overrides,
  };
}

function input(overrides: Partial<DsnInput> = {}): DsnInput {
  return {
    messageId: '0100018cabc-1111-000000',
    date: new Date('2024-03-04T05:06:07Z'),
    request: request(),
    to: 'sender@example.org',
    originalHeaders: ORIGINAL_HEADERS,
    ...overrides,
  };
}

describe('dsn', () => {
  describe('renderDsn', () => {
    it('writes the top-level headers of a DSN when given a bounce', async () => {
      const mail = await simpleParser(renderDsn(input()));
      expect(mail.from?.value[0].address).toBe('mailer-daemon@example.com');
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0].address : undefined).toBe('sender@example.org');
      expect(mail.subject).toBe('Delivery Status Notification (Failure)');
      expect(mail.date?.toISOString()).toBe('2024-03-04T05:06:07.000Z');
      expect(mail.messageId).toBe('<0100018cabc-1111-000000@email.amazonses.com>');
      expect(mail.inReplyTo).toBe('<orig-123@example.org>');
      expect(mail.headers.get('mime-version')).toBe('1.0');
      expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
      expect(mail.headers.get('content-type')).toMatchObject({
        value: 'multipart/report',
        params: { 'report-type': 'delivery-status' },
      });
    });

    it('uses CRLF line ends only and keeps every line under 998 characters', () => {
      const eml = renderDsn(input({ request: request({ explanation: 'x'.repeat(3000) }) }));
      expect(eml).not.toMatch(/[^\r]\n/);
      expect(eml).not.toMatch(/\r[^\n]/);
      expect(Math.max(...eml.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
    });

    it('has the text, delivery-status and rfc822-headers parts in order when the original headers are known', () => {
      const { parts } = mimeParts(renderDsn(input()));
      expect(parts.map((p) => p.headers.get('content-type'))).toEqual([
        'text/plain; charset=utf-8',
        'message/delivery-status',
        'text/rfc822-headers',
      ]);
    });

    it('leaves out the headers part and the To header when the original is unknown', async () => {
      const eml = renderDsn(input({ originalHeaders: undefined, to: undefined }));
      const { parts } = mimeParts(eml);
      expect(parts.map((p) => p.headers.get('content-type'))).toEqual(['text/plain; charset=utf-8', 'message/delivery-status']);
      const mail = await simpleParser(eml);
      expect(mail.to).toBeUndefined();
      expect(mail.inReplyTo).toBeUndefined();
    });

    it('copies the original header block with CRLF line ends into the third part', () => {
      const { parts } = mimeParts(renderDsn(input()));
      expect(parts[2].body).toBe(`${ORIGINAL_HEADERS.trimEnd().split('\n').join('\r\n')}\r\n`);
    });

    it('cuts the original at its header block when given a whole message', () => {
      const { parts } = mimeParts(renderDsn(input({ originalHeaders: 'Subject: hi\r\nTo: a@example.com\r\n\r\nsecret body\r\n' })));
      expect(parts[2].body).toBe('Subject: hi\r\nTo: a@example.com\r\n');
    });

    it('uses the explanation as the human-readable part when one is given', async () => {
      const mail = await simpleParser(renderDsn(input({ request: request({ explanation: 'Café: nobody by that name here.' }) })));
      expect(mail.text).toContain('Café: nobody by that name here.');
    });

    it('generates a human-readable part listing each recipient when no explanation is given', () => {
      const eml = renderDsn(
        input({
          request: request({
            bouncedRecipients: [
              { recipient: 'gone@example.com', bounceType: 'DoesNotExist' },
              { recipient: 'later@example.com', bounceType: 'TemporaryFailure' },
            ],
          }),
        }),
      );
      const text = mimeParts(eml).parts[0].body;
      expect(text).toMatch(/failed permanently:\r\n\r\n {4}gone@example\.com \(5\.1\.1\)/);
      expect(text).toMatch(/delayed:\r\n\r\n {4}later@example\.com \(4\.0\.0\)/);
    });

    it('writes the per-message fields from MessageDsn when given', () => {
      const eml = renderDsn(
        input({
          request: request({
            messageDsn: {
              reportingMta: 'dns; mta.example.com',
              arrivalDate: '2024-03-04T05:00:00.000Z',
              extensionFields: [{ name: 'X-Rule-Id', value: 'rule-7' }],
            },
          }),
        }),
      );
      const [perMessage] = deliveryStatusGroups(mimeParts(eml).parts[1].body);
      expect(Object.fromEntries(perMessage)).toEqual({
        'reporting-mta': 'dns; mta.example.com',
        'arrival-date': 'Mon, 04 Mar 2024 05:00:00 +0000',
        'x-rule-id': 'rule-7',
      });
    });

    it('writes the default Reporting-MTA when no MessageDsn is given', () => {
      const [perMessage] = deliveryStatusGroups(mimeParts(renderDsn(input())).parts[1].body);
      expect(perMessage.get('reporting-mta')).toBe(DEFAULT_REPORTING_MTA);
      expect(perMessage.has('arrival-date')).toBe(false);
      const custom = renderDsn(input({ defaultReportingMta: 'dns; localhost' }));
      expect(deliveryStatusGroups(mimeParts(custom).parts[1].body)[0].get('reporting-mta')).toBe('dns; localhost');
    });

    it('writes every RecipientDsnFields field when given', () => {
      const eml = renderDsn(
        input({
          request: request({
            bouncedRecipients: [
              {
                recipient: 'alias@example.com',
                recipientDsnFields: {
                  action: 'failed',
                  status: '5.2.1',
                  finalRecipient: 'person@example.com',
                  remoteMta: 'dns; mx.example.com',
                  diagnosticCode: '550 5.2.1 mailbox disabled',
                  lastAttemptDate: '2024-03-04T05:06:00Z',
                  extensionFields: [{ name: 'X-Attempts', value: '3' }],
                },
              },
            ],
          }),
        }),
      );
      const [, recipient] = deliveryStatusGroups(mimeParts(eml).parts[1].body);
      expect(Object.fromEntries(recipient)).toEqual({
        'original-recipient': 'rfc822; alias@example.com',
        'final-recipient': 'rfc822; person@example.com',
        action: 'failed',
        status: '5.2.1',
        'remote-mta': 'dns; mx.example.com',
        'diagnostic-code': 'smtp; 550 5.2.1 mailbox disabled',
        'last-attempt-date': 'Mon, 04 Mar 2024 05:06:00 +0000',
        'x-attempts': '3',
      });
    });

    it('writes one per-recipient block per recipient, in request order', () => {
      const eml = renderDsn(
        input({
          request: request({
            bouncedRecipients: [
              { recipient: 'one@example.com', bounceType: 'ExceededQuota' },
              { recipient: 'two@example.com', recipientDsnFields: { action: 'delayed', status: '4.4.1', extensionFields: [] } },
            ],
          }),
        }),
      );
      const groups = deliveryStatusGroups(mimeParts(eml).parts[1].body);
      expect(groups.slice(1).map((g) => [g.get('final-recipient'), g.get('action'), g.get('status')])).toEqual([
        ['rfc822; one@example.com', 'failed', '5.2.2'],
        ['rfc822; two@example.com', 'delayed', '4.4.1'],
      ]);
      expect(groups[2].has('original-recipient')).toBe(false);
    });

    it('picks a boundary that occurs in no part when the content contains the obvious one', () => {
      const messageId = 'abc';
      const trap = `X-Trap: a\r\n--=_ses-dsn_${messageId}\r\n`;
      const eml = renderDsn(input({ messageId, originalHeaders: trap }));
      const { headers, parts } = mimeParts(eml);
      expect(headers.get('content-type')).not.toContain(`boundary="=_ses-dsn_${messageId}"`);
      expect(parts).toHaveLength(3);
      expect(parts[2].body).toBe(trap);
    });

    it('renders the same bytes when given the same input', () => {
      expect(renderDsn(input())).toBe(renderDsn(input()));
    });
  });

  describe('recipientBlock', () => {
    it.each(BOUNCE_TYPES.map((t) => [t, BOUNCE_TYPE_DSN[t].action, BOUNCE_TYPE_DSN[t].status]))(
      'derives Action and Status from BounceType %s',
      (bounceType, action, status) => {
        expect(recipientBlock({ recipient: 'r@example.com', bounceType })).toEqual({
          finalRecipient: 'r@example.com',
          action,
          status,
          extensionFields: [],
        });
      },
    );

    it('maps the bounce types to the agreed DSN statuses', () => {
      expect(BOUNCE_TYPE_DSN).toEqual({
        DoesNotExist: { action: 'failed', status: '5.1.1' },
        MessageTooLarge: { action: 'failed', status: '5.3.4' },
        ExceededQuota: { action: 'failed', status: '5.2.2' },
        ContentRejected: { action: 'failed', status: '5.7.1' },
        TemporaryFailure: { action: 'delayed', status: '4.0.0' },
        Undefined: { action: 'failed', status: '5.0.0' },
      });
    });

    it('names no Original-Recipient when FinalRecipient equals the recipient but for case', () => {
      const block = recipientBlock({
        recipient: 'Ann@Example.com',
        recipientDsnFields: { action: 'failed', status: '5.1.1', finalRecipient: 'ann@example.com', extensionFields: [] },
      });
      expect(block.originalRecipient).toBeUndefined();
      expect(block.finalRecipient).toBe('ann@example.com');
    });
  });

  describe('encodeQuotedPrintable', () => {
    it('keeps encoded lines within 76 characters and decodes back when given long non-ASCII text', async () => {
      const text = `${'é'.repeat(60)} ${'word '.repeat(40)}\nsecond line ends in space `;
      const encoded = encodeQuotedPrintable(text);
      expect(Math.max(...encoded.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
      expect(encoded).toMatch(/=20$/);
      const mail = await simpleParser(
        `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${encoded}`,
      );
      expect(mail.text).toBe(text);
    });

    it('encodes the equals sign when given one', () => {
      expect(encodeQuotedPrintable('a=b')).toBe('a=3Db');
    });
  });
});
