import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ValidationError } from '../../../lambda/commons/errors';
import { parseSesEvent, toMessageFacts } from '../../../lambda/domain/event/ses-event';
import { headersFromPrefix, parseHeaderBlock } from '../../../lambda/mail/header-block';
import {
  EVENT_HEADERS_LIMIT_BYTES,
  buildSesEvent,
  newSesMessageId,
  parseVerdictSpec,
  type SmtpEnvelope,
} from '../../../local/ses-event/build-event';

const fixture = JSON.parse(readFileSync(join(__dirname, '../../fixtures/ses/lambda-action-event.json'), 'utf8'));

const receivedAt = new Date('2026-03-01T10:00:00.000Z');
const envelope: SmtpEnvelope = { mailFrom: 'alice@sender.example', rcptTo: ['former@example.com'] };

function message(headers: string[], body = 'hello\r\n'): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

const plain = message([
  'From: "Doe, Alice" <alice@sender.example>',
  'To: "Former" <former@example.com>, other@example.com',
  'Subject: Quarterly report',
  'Date: Sun, 1 Mar 2026 09:59:58 +0000',
  'Message-ID: <abc@sender.example>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain',
]);

function build(raw = plain, env = envelope, extra: Partial<Parameters<typeof buildSesEvent>[2]> = {}) {
  return buildSesEvent(raw, env, { receivedAt, ...extra });
}

function keysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [keysDeep(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, keysDeep((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value;
}

describe('build-event', () => {
  describe('buildSesEvent', () => {
    it('leaves out a line whose name is not a field name, as the mail stores of the receive function do', () => {
      const raw = message(['X Bad Name: evil', 'From: alice@sender.example', 'Subject: hi']);
      const { event, stored } = build(raw);
      const names = event.Records[0].ses.mail.headers.map((h) => h.name);
      expect(names).not.toContain('X Bad Name');
      expect(names).toEqual(expect.arrayContaining(['From', 'Subject']));
      // The same bytes read back through the stores' header reader give the same fields.
      expect(headersFromPrefix(stored, true)).toEqual(event.Records[0].ses.mail.headers);
    });

    it('decodes display names in commonHeaders and keeps only real addresses in destination', () => {
      const raw = message(['From: =?utf-8?Q?J=C3=B6rg?= <j@sender.example>', 'To: undisclosed-recipients:;', 'Cc: "Doe, J" <d@example.com>, not an address']);
      const mail = build(raw).event.Records[0].ses.mail;
      expect(mail.commonHeaders.from).toEqual(['Jörg <j@sender.example>']);
      expect(mail.destination).toEqual(['d@example.com']);
    });

    it('produces the same structure as a real SES Lambda-action event when the message has the same headers', () => {
      const { event } = build();
      expect(keysDeep(event)).toEqual(keysDeep(fixture));
    });

    it('sets envelope, ids and times from the SMTP transaction', () => {
      const { event, messageId } = build(plain, { mailFrom: 'alice@sender.example', rcptTo: ['former@example.com', 'b@example.com'] }, { processingTimeMillis: 42 });
      const { mail, receipt } = event.Records[0].ses;
      expect(event.Records[0].eventSource).toBe('aws:ses');
      expect(event.Records[0].eventVersion).toBe('1.0');
      expect(mail.messageId).toBe(messageId);
      expect(mail.source).toBe('alice@sender.example');
      expect(mail.timestamp).toBe('2026-03-01T10:00:00.000Z');
      expect(receipt.timestamp).toBe(mail.timestamp);
      expect(receipt.processingTimeMillis).toBe(42);
      expect(receipt.recipients).toEqual(['former@example.com', 'b@example.com']);
      expect(receipt.action).toEqual({
        type: 'Lambda',
        functionArn: expect.stringMatching(/^arn:aws:lambda:/),
        invocationType: 'Event',
      });
    });

    it('takes receipt.recipients from the matched recipients when given, not from the headers', () => {
      const { event } = build(plain, { mailFrom: 'a@sender.example', rcptTo: ['x@example.com', 'y@other.example'] }, { recipients: ['x@example.com'] });
      expect(event.Records[0].ses.receipt.recipients).toEqual(['x@example.com']);
      expect(event.Records[0].ses.mail.destination).toEqual(['former@example.com', 'other@example.com']);
    });

    it('lists destination as the bare addresses of To and Cc', () => {
      const raw = message(['From: a@sender.example', 'To: "Doe, J" <j@example.com>', 'Cc: k@example.com (Kay), L <l@example.com>', 'Bcc: hidden@example.com']);
      expect(build(raw).event.Records[0].ses.mail.destination).toEqual(['j@example.com', 'k@example.com', 'l@example.com']);
    });

    it('prepends the headers SES adds, then keeps the message headers in order', () => {
      const names = build().event.Records[0].ses.mail.headers.map((h) => h.name);
      expect(names.slice(0, 4)).toEqual(['Return-Path', 'Received', 'X-SES-Spam-Verdict', 'X-SES-Virus-Verdict']);
      expect(names.slice(-7)).toEqual(['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type']);
    });

    it('unfolds folded header lines', () => {
      const raw = message(['From: a@sender.example', 'Subject: a long', '\tsubject line', 'To: x@example.com,', ' y@example.com']);
      const headers = build(raw).event.Records[0].ses.mail.headers;
      expect(headers.find((h) => h.name === 'Subject')?.value).toBe('a long\tsubject line');
      expect(headers.find((h) => h.name === 'To')?.value).toBe('x@example.com, y@example.com');
    });

    it('fills commonHeaders only with the fields the message has', () => {
      const common = build().event.Records[0].ses.mail.commonHeaders;
      expect(common).toEqual({
        returnPath: 'alice@sender.example',
        from: ['"Doe, Alice" <alice@sender.example>'],
        date: 'Sun, 1 Mar 2026 09:59:58 +0000',
        // Each mailbox is written back by the one address-list parser: quotes only where the name needs them.
        to: ['Former <former@example.com>', 'other@example.com'],
        messageId: '<abc@sender.example>',
        subject: 'Quarterly report',
      });
    });

    it('fills sender, replyTo, cc and bcc when present and decodes encoded subjects', () => {
      const raw = message([
        'From: a@sender.example',
        'Sender: list@sender.example',
        'Reply-To: r@sender.example',
        'Cc: c@example.com',
        'Bcc: b@example.com',
        'Subject: =?UTF-8?B?R3LDvMOfZQ==?= =?utf-8?Q?_und_mehr?=',
      ]);
      const common = build(raw).event.Records[0].ses.mail.commonHeaders;
      expect(common.sender).toEqual(['list@sender.example']);
      expect(common.replyTo).toEqual(['r@sender.example']);
      expect(common.cc).toEqual(['c@example.com']);
      expect(common.bcc).toEqual(['b@example.com']);
      expect(common.subject).toBe('Grüße und mehr');
      expect(common.to).toBeUndefined();
    });

    it('keeps a null reverse-path as an empty source and Return-Path <>', () => {
      const { event, stored } = build(plain, { mailFrom: '', rcptTo: ['former@example.com'] });
      expect(event.Records[0].ses.mail.source).toBe('');
      expect(stored.toString().startsWith('Return-Path: <>\r\n')).toBe(true);
    });

    it('stores the message with the SES headers prepended, like the S3 action', () => {
      const { stored, event } = build();
      expect(stored.subarray(stored.length - plain.length).equals(plain)).toBe(true);
      const storedHeaders = parseHeaderBlock(stored.toString().split('\r\n\r\n')[0]);
      expect(storedHeaders).toEqual(event.Records[0].ses.mail.headers);
    });

    it('truncates the event headers and sets headersTruncated when the block exceeds 10 KB', () => {
      const many = Array.from({ length: 200 }, (_, i) => `X-Filler-${i}: ${'x'.repeat(60)}`);
      const { event } = build(message(['From: a@sender.example', ...many, 'Subject: last']));
      const mail = event.Records[0].ses.mail;
      expect(mail.headersTruncated).toBe(true);
      const size = mail.headers.reduce((n, h) => n + Buffer.byteLength(`${h.name}: ${h.value}\r\n`), 0);
      expect(size).toBeLessThanOrEqual(EVENT_HEADERS_LIMIT_BYTES);
      expect(mail.headers.length).toBeGreaterThan(100);
      expect(mail.headers.some((h) => h.name === 'Subject')).toBe(false);
      // commonHeaders come from the whole block.
      expect(mail.commonHeaders.subject).toBe('last');
    });

    it('does not truncate when the block is under 10 KB', () => {
      expect(build().event.Records[0].ses.mail.headersTruncated).toBe(false);
    });

    it('reports every verdict PASS and no dmarcPolicy by default', () => {
      const { receipt } = build().event.Records[0].ses;
      for (const key of ['spamVerdict', 'virusVerdict', 'spfVerdict', 'dkimVerdict', 'dmarcVerdict'] as const) {
        expect(receipt[key]).toEqual({ status: 'PASS' });
      }
      expect('dmarcPolicy' in receipt).toBe(false);
    });

    it('applies the default verdicts given by the command line', () => {
      const { event, verdicts } = build(plain, envelope, { verdicts: parseVerdictSpec('spf=GRAY,dmarc=FAIL') });
      expect(verdicts.spf).toBe('GRAY');
      expect(event.Records[0].ses.receipt.spfVerdict.status).toBe('GRAY');
      expect(event.Records[0].ses.receipt.dmarcPolicy).toBe('none');
    });

    it('lets the simulate header override the defaults, case-insensitively', () => {
      const raw = message(['From: a@sender.example', 'x-ses-bouncer-simulate: SPF=fail, spam=FAIL; virus=Fail dmarc=FAIL dmarcPolicy=REJECT', 'Subject: s']);
      const { event, stored } = build(raw, envelope, { verdicts: parseVerdictSpec('spf=GRAY,dkim=GRAY') });
      const { receipt, mail } = event.Records[0].ses;
      expect(receipt.spfVerdict.status).toBe('FAIL');
      expect(receipt.spamVerdict.status).toBe('FAIL');
      expect(receipt.virusVerdict.status).toBe('FAIL');
      expect(receipt.dkimVerdict.status).toBe('GRAY');
      expect(receipt.dmarcVerdict.status).toBe('FAIL');
      expect(receipt.dmarcPolicy).toBe('reject');
      expect(mail.headers.find((h) => h.name === 'X-SES-Spam-Verdict')?.value).toBe('FAIL');
      expect(mail.headers.find((h) => h.name === 'X-SES-Virus-Verdict')?.value).toBe('FAIL');
      // The header is read, not removed.
      expect(mail.headers.some((h) => h.name === 'x-ses-bouncer-simulate')).toBe(true);
      expect(stored.toString()).toContain('x-ses-bouncer-simulate:');
    });

    it('omits the spam and virus headers when scanning is DISABLED', () => {
      const { event } = build(plain, envelope, { verdicts: parseVerdictSpec('spam=DISABLED,virus=DISABLED') });
      const names = event.Records[0].ses.mail.headers.map((h) => h.name);
      expect(names).not.toContain('X-SES-Spam-Verdict');
      expect(names).not.toContain('X-SES-Virus-Verdict');
      expect(event.Records[0].ses.receipt.spamVerdict.status).toBe('DISABLED');
    });

    it('throws a ValidationError when the simulate header is malformed', () => {
      const raw = message(['From: a@sender.example', 'X-Ses-Bouncer-Simulate: spf=MAYBE']);
      expect(() => build(raw)).toThrow(ValidationError);
      expect(() => build(raw)).toThrow(/"MAYBE"/);
    });

    it('uses the given message id and invocation type', () => {
      const { event } = build(plain, envelope, { messageId: 'given-id', invocationType: 'RequestResponse', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f' });
      expect(event.Records[0].ses.mail.messageId).toBe('given-id');
      expect(event.Records[0].ses.receipt.action.invocationType).toBe('RequestResponse');
      expect(event.Records[0].ses.receipt.action.functionArn).toBe('arn:aws:lambda:eu-west-1:123456789012:function:f');
    });

    it('accepts a message with LF line endings', () => {
      const raw = Buffer.from('From: a@sender.example\nTo: x@example.com\nSubject: lf\n\nbody\n');
      const { event, stored } = build(raw);
      expect(event.Records[0].ses.mail.commonHeaders.subject).toBe('lf');
      expect(stored.toString()).not.toContain('\r');
      expect(stored.toString()).toMatch(/\nX-SES-Spam-Verdict: PASS\n[\s\S]*;\nFrom: a@sender.example\n/);
    });
  });

  describe('newSesMessageId', () => {
    it('returns unique lower-case ids of about 60 characters', () => {
      const ids = new Set(Array.from({ length: 500 }, newSesMessageId));
      expect(ids.size).toBe(500);
      for (const id of ids) expect(id).toMatch(/^[a-z0-9-]{55,70}$/);
    });
  });

  describe('parseVerdictSpec', () => {
    it('parses names and statuses in any case', () => {
      expect(parseVerdictSpec('spf=fail, SpamVerdict=gray dmarcpolicy=Quarantine')).toEqual({
        verdicts: { spf: 'FAIL', spam: 'GRAY' },
        dmarcPolicy: 'quarantine',
      });
    });

    it('rejects an unknown verdict name, quoting it', () => {
      expect(() => parseVerdictSpec('spff=PASS')).toThrow(/"spff"/);
    });

    it('rejects a setting without "="', () => {
      expect(() => parseVerdictSpec('spf')).toThrow(ValidationError);
    });
  });
});

describe('build-event against the receive schema', () => {
  it('builds events that the receive handler schema accepts, whatever the message', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9]{1,10}$/);
    const address = fc.tuple(word, word).map(([l, d]) => `${l}@${d}.example`);
    const status = fc.constantFrom('PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED');
    fc.assert(
      fc.property(
        fc.record({
          from: fc.option(address, { nil: undefined }),
          to: fc.array(address, { maxLength: 3 }),
          cc: fc.array(address, { maxLength: 2 }),
          subject: fc.option(fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')), { nil: undefined }),
          fillers: fc.integer({ min: 0, max: 250 }),
          mailFrom: fc.oneof(fc.constant(''), address),
          rcptTo: fc.array(address, { minLength: 1, maxLength: 3 }),
          spf: status,
          dmarc: status,
          spam: status,
        }),
        (m) => {
          const lines = [
            ...(m.from ? [`From: ${m.from}`] : []),
            ...(m.to.length ? [`To: ${m.to.join(', ')}`] : []),
            ...(m.cc.length ? [`Cc: ${m.cc.join(',\r\n ')}`] : []),
            ...(m.subject !== undefined ? [`Subject: ${m.subject}`] : []),
            ...Array.from({ length: m.fillers }, (_, i) => `X-F${i}: ${'y'.repeat(50)}`),
            `X-Ses-Bouncer-Simulate: spf=${m.spf}, dmarc=${m.dmarc}, spam=${m.spam}`,
          ];
          const { event, messageId } = buildSesEvent(message(lines), { mailFrom: m.mailFrom, rcptTo: m.rcptTo }, { receivedAt });
          const parsed = parseSesEvent(JSON.parse(JSON.stringify(event)));
          const facts = toMessageFacts(parsed.Records[0]);
          expect(facts.messageId).toBe(messageId);
          expect(facts.sender).toBe(m.mailFrom);
          expect(facts.recipients).toEqual(m.rcptTo);
          expect(facts.verdicts).toMatchObject({ spf: m.spf, dmarc: m.dmarc, spam: m.spam, virus: 'PASS', dkim: 'PASS' });
          expect(facts.headersComplete).toBe(!event.Records[0].ses.mail.headersTruncated);
          expect(facts.dmarcPolicy).toBe(m.dmarc === 'FAIL' ? 'none' : undefined);
        },
      ),
      { numRuns: 60 },
    );
  });
});
