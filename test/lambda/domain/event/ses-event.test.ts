import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../../../lambda/commons/errors';
import { envelopeSender, invocationTypeOf, parseSesEvent, toMessageFacts } from '../../../../lambda/domain/event/ses-event';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(__dirname, '../../../fixtures/ses', name), 'utf8')) as unknown;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- malformed events are built by mutation
type Mutable = any;
const sample = (): Mutable => fixture('lambda-action-event.json');

function rejection(event: unknown): ValidationError {
  try {
    parseSesEvent(event);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('event was accepted');
}

describe('ses-event', () => {
  describe('parseSesEvent', () => {
    it.each([
      'lambda-action-event.json',
      'truncated-headers.json',
      'disabled-verdicts.json',
      'missing-verdicts.json',
      'request-response.json',
      'null-sender.json',
      'multiple-records.json',
      'partial-common-headers.json',
      'dmarc-policy-casing.json',
      'unknown-fields.json',
    ])('accepts the real variant %s', (name) => {
      const event = parseSesEvent(fixture(name));
      expect(event.Records.length).toBeGreaterThanOrEqual(1);
    });

    it('keeps unknown fields when they pass through', () => {
      const event = parseSesEvent(fixture('unknown-fields.json')) as Mutable;
      expect(event.extra).toBe('top-level');
      expect(event.Records[0].ses.receipt.tlsVersion).toBe('TLSv1.3');
      expect(event.Records[0].ses.mail.futureField).toEqual({ nested: true });
    });

    it('reads every record when the event holds several', () => {
      const event = parseSesEvent(fixture('multiple-records.json'));
      expect(event.Records.map((r) => r.ses.mail.messageId)).toEqual([
        'multi00001-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
        'multi00002-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
        'multi00003-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      ]);
    });

    it('accepts lower-case verdict statuses and upper-cases them', () => {
      const event = sample();
      event.Records[0].ses.receipt.spfVerdict.status = 'pass';
      expect(parseSesEvent(event).Records[0].ses.receipt.spfVerdict?.status).toBe('PASS');
    });

    const malformed: [string, (e: Mutable) => unknown, string, string][] = [
      ['messageId is missing', (e) => delete e.Records[0].ses.mail.messageId, 'Records[0].ses.mail.messageId is required', 'Records.0.ses.mail.messageId'],
      ['messageId is empty', (e) => (e.Records[0].ses.mail.messageId = ''), 'Records[0].ses.mail.messageId must not be empty', 'Records.0.ses.mail.messageId'],
      ['Records is missing', (e) => delete e.Records, 'Records is required', 'Records'],
      ['Records is empty', (e) => (e.Records = []), 'Records must hold at least one record', 'Records'],
      ['the record is not from SES', (e) => (e.Records[0].eventSource = 'aws:sns'), 'Records[0].eventSource must be "aws:ses" (got "aws:sns")', 'Records.0.eventSource'],
      ['ses is missing', (e) => delete e.Records[0].ses, 'Records[0].ses is required', 'Records.0.ses'],
      ['a verdict status is unknown', (e) => (e.Records[0].ses.receipt.spfVerdict.status = 'MAYBE'), 'Records[0].ses.receipt.spfVerdict.status must be one of PASS, FAIL, GRAY, PROCESSING_FAILED, DISABLED (got "MAYBE")', 'Records.0.ses.receipt.spfVerdict.status'],
      ['the timestamp is not a date', (e) => (e.Records[0].ses.mail.timestamp = 'yesterday'), 'Records[0].ses.mail.timestamp must be an ISO 8601 date-time (got "yesterday")', 'Records.0.ses.mail.timestamp'],
      ['the invocation type is unknown', (e) => (e.Records[0].ses.receipt.action.invocationType = 'Sync'), 'Records[0].ses.receipt.action.invocationType must be Event or RequestResponse (got "Sync")', 'Records.0.ses.receipt.action.invocationType'],
      ['recipients is a string', (e) => (e.Records[0].ses.receipt.recipients = 'a@example.com'), 'Records[0].ses.receipt.recipients must be array (got "a@example.com")', 'Records.0.ses.receipt.recipients'],
      ['recipients is empty', (e) => (e.Records[0].ses.receipt.recipients = []), 'Records[0].ses.receipt.recipients must list at least one recipient', 'Records.0.ses.receipt.recipients'],
      ['a header has no value', (e) => (e.Records[0].ses.mail.headers[2] = { name: 'X-Test' }), 'Records[0].ses.mail.headers[2].value is required', 'Records.0.ses.mail.headers.2.value'],
      ['headersTruncated is a string', (e) => (e.Records[0].ses.mail.headersTruncated = 'yes'), 'Records[0].ses.mail.headersTruncated must be boolean (got "yes")', 'Records.0.ses.mail.headersTruncated'],
      ['source is missing', (e) => delete e.Records[0].ses.mail.source, 'Records[0].ses.mail.source is required', 'Records.0.ses.mail.source'],
      ['the second record is broken', (e) => {
        e.Records.push(JSON.parse(JSON.stringify(e.Records[0])));
        delete e.Records[1].ses.receipt;
      }, 'Records[1].ses.receipt is required', 'Records.1.ses.receipt'],
    ];

    it.each(malformed)('rejects the event naming the field when %s', (_what, mutate, message, field) => {
      const event = sample();
      mutate(event);
      const err = rejection(event);
      expect(err.message).toContain(message);
      expect(err.field).toBe(field);
    });

    it.each([null, 'text', 42, [], undefined])('rejects %p as not an object', (input) => {
      expect(rejection(input).message).toMatch(/^invalid ses event: event must be an object/);
    });

    it('names every bad field when several are wrong', () => {
      const event = sample();
      delete event.Records[0].ses.mail.messageId;
      event.Records[0].ses.receipt.virusVerdict.status = 'NOPE';
      const err = rejection(event);
      expect(err.message).toContain('Records[0].ses.mail.messageId is required');
      expect(err.message).toContain('Records[0].ses.receipt.virusVerdict.status');
    });
  });

  describe('toMessageFacts', () => {
    it('maps the documented sample to envelope facts when headers are complete', () => {
      const facts = toMessageFacts(parseSesEvent(sample()).Records[0]);
      expect(facts).toMatchObject({
        messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
        receivedAt: '2019-08-05T21:30:02.028Z',
        sender: 'prvs=144d0cba7=sender@example.com',
        recipients: ['recipient@example.com'],
        verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'GRAY' },
        headersComplete: true,
      });
      expect(facts.dmarcPolicy).toBeUndefined();
      expect(facts.headers).toHaveLength(15);
      expect(facts.headers[9]).toEqual({ name: 'Subject', value: 'This is a test' });
      expect(facts.sizeBytes).toBeUndefined();
      expect(facts.attachments).toBeUndefined();
    });

    it('marks headers incomplete when SES truncated them', () => {
      const facts = toMessageFacts(parseSesEvent(fixture('truncated-headers.json')).Records[0]);
      expect(facts.headersComplete).toBe(false);
      expect(facts.headers).toHaveLength(6);
    });

    it('marks headers incomplete when the event carries none', () => {
      const event = sample();
      delete event.Records[0].ses.mail.headers;
      delete event.Records[0].ses.mail.headersTruncated;
      expect(toMessageFacts(parseSesEvent(event).Records[0]).headersComplete).toBe(false);
    });

    it('gives an empty sender when the reverse-path is null', () => {
      const facts = toMessageFacts(parseSesEvent(fixture('null-sender.json')).Records[0]);
      expect(facts.sender).toBe('');
    });

    it('reads DISABLED verdicts as they are', () => {
      const facts = toMessageFacts(parseSesEvent(fixture('disabled-verdicts.json')).Records[0]);
      expect(facts.verdicts).toEqual({ spam: 'DISABLED', virus: 'DISABLED', spf: 'DISABLED', dkim: 'DISABLED', dmarc: 'DISABLED' });
    });

    it('reads a missing verdict as DISABLED', () => {
      const facts = toMessageFacts(parseSesEvent(fixture('missing-verdicts.json')).Records[0]);
      expect(facts.verdicts).toEqual({ spam: 'PROCESSING_FAILED', virus: 'DISABLED', spf: 'PASS', dkim: 'DISABLED', dmarc: 'GRAY' });
    });

    it('lower-cases the DMARC policy whatever its casing', () => {
      const records = parseSesEvent(fixture('dmarc-policy-casing.json')).Records;
      expect(records.map((r) => toMessageFacts(r).dmarcPolicy)).toEqual(['reject', 'quarantine']);
    });

    it('bounces envelope recipients, not the To header, when they differ', () => {
      const event = sample();
      event.Records[0].ses.receipt.recipients = ['hidden@example.com'];
      expect(toMessageFacts(parseSesEvent(event).Records[0]).recipients).toEqual(['hidden@example.com']);
    });
  });

  describe('envelopeSender', () => {
    it.each([
      ['<>', ''],
      ['', ''],
      ['  ', ''],
      ['< >', ''],
      ['<a@example.com>', 'a@example.com'],
      ['a@example.com', 'a@example.com'],
    ])('reads %p as %p', (source, sender) => {
      expect(envelopeSender(source)).toBe(sender);
    });
  });

  describe('invocationTypeOf', () => {
    it('reads RequestResponse when the action says so and Event by default', () => {
      expect(invocationTypeOf(parseSesEvent(fixture('request-response.json')).Records[0])).toBe('RequestResponse');
      const event = sample();
      delete event.Records[0].ses.receipt.action;
      expect(invocationTypeOf(parseSesEvent(event).Records[0])).toBe('Event');
    });
  });
});
