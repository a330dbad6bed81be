import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageRejected, SESClient, SendBounceCommand, type SendBounceCommandInput } from '@aws-sdk/client-ses';
import { simpleParser } from 'mailparser';
import { fullGc } from '../../../bench/lib/heap';
import { MAX_HELD_HEADER_BYTES, SEND_BOUNCE_WINDOW_MS, SWEEP_INTERVAL_MS, startSesStandIn } from '../../../local/ses-stand-in/ses-stand-in';
import type { SesStandIn, SesStandInOptions } from '../../../local/ses-stand-in/types';
import { deliveryStatusGroups, mimeParts } from './mime-parts';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const ORIGINAL_ID = '0100018f3a1b2c3d-aaaa-bbbb-cccc-000000';

/** The stand-in on a fake clock the test moves by hand, so spacing never costs wall time. */
async function startOnFakeClock(options: SesStandInOptions = {}) {
  const clock = { now: T0 };
  const standIn = await startSesStandIn({ now: () => clock.now, ...options });
  standIn.registerReceived(ORIGINAL_ID, { receivedAt: new Date(T0 - 60_000), sender: 'sender@example.org' });
  return { standIn, clock };
}

function sesClient(standIn: SesStandIn, maxAttempts = 1): SESClient {
  return new SESClient({
    endpoint: standIn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts,
  });
}

function validInput(overrides: Partial<SendBounceCommandInput> = {}): SendBounceCommandInput {
  return {
    OriginalMessageId: ORIGINAL_ID,
    BounceSender: 'mailer-daemon@example.com',
    BouncedRecipientInfoList: [{ Recipient: 'rcpt@example.com', BounceType: 'DoesNotExist' }],
    ...overrides,
  };
}

/** Sends and returns the error the SDK raised (fails the test if there was none). */
async function sendExpectingError(client: SESClient, input: SendBounceCommandInput): Promise<Error & Record<string, any>> {
  try {
    await client.send(new SendBounceCommand(input));
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected SendBounce to fail, it succeeded');
}

/** A signed-looking form POST, for inputs the SDK cannot express (it drops unparseable dates). */
async function postForm(standIn: SesStandIn, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(standIn.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=test/20240501/us-east-1/ses/aws4_request' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, body: await response.text() };
}

const rcpt = (n: number, field: string) => `BouncedRecipientInfoList.member.${n}.${field}`;

describe('ses-stand-in', () => {
  describe('startSesStandIn', () => {
    let standIn: SesStandIn;
    let clock: { now: number };
    let client: SESClient;

    beforeEach(async () => {
      ({ standIn, clock } = await startOnFakeClock());
      client = sesClient(standIn);
    });

    afterEach(async () => {
      client.destroy();
      await standIn.close();
    });

    it('returns a MessageId and records the call with its arrival time when the call is valid', async () => {
      const out = await client.send(new SendBounceCommand(validInput()));
      expect(out.MessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(standIn.calls).toEqual([
        {
          arrivedAt: T0,
          params: expect.objectContaining({
            Action: 'SendBounce',
            Version: '2010-12-01',
            OriginalMessageId: ORIGINAL_ID,
            [rcpt(1, 'Recipient')]: 'rcpt@example.com',
            [rcpt(1, 'BounceType')]: 'DoesNotExist',
          }),
          outcome: { kind: 'accepted', messageId: out.MessageId },
        },
      ]);
    });

    it('decodes nested DSN fields from the wire names the SDK sends', async () => {
      await client.send(
        new SendBounceCommand(
          validInput({
            MessageDsn: {
              ReportingMta: 'dns; mta.example.com',
              ArrivalDate: new Date('2024-05-01T11:59:00Z'),
              ExtensionFields: [{ Name: 'X-Rule', Value: 'r1' }],
            },
            BouncedRecipientInfoList: [
              {
                Recipient: 'rcpt@example.com',
                RecipientDsnFields: { Action: 'failed', Status: '5.1.1', ExtensionFields: [{ Name: 'X-A', Value: 'b' }] },
              },
            ],
          }),
        ),
      );
      expect(standIn.calls[0].outcome.kind).toBe('accepted');
      expect(standIn.calls[0].params).toMatchObject({
        'MessageDsn.ReportingMta': 'dns; mta.example.com',
        'MessageDsn.ArrivalDate': '2024-05-01T11:59:00Z',
        'MessageDsn.ExtensionFields.member.1.Name': 'X-Rule',
        [rcpt(1, 'RecipientDsnFields.Action')]: 'failed',
        [rcpt(1, 'RecipientDsnFields.ExtensionFields.member.1.Value')]: 'b',
      });
    });

    const dsn = (fields: Record<string, unknown>) => [
      { Recipient: 'rcpt@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', ...fields } as never },
    ];
    const withDsn = (fields: Record<string, unknown>) => validInput({ BouncedRecipientInfoList: dsn(fields) });
    const validationCases: Array<[string, SendBounceCommandInput, string, RegExp]> = [
      ['OriginalMessageId is missing', validInput({ OriginalMessageId: undefined }), 'ValidationError', /'originalMessageId'.*must not be null/],
      ['BounceSender is missing', validInput({ BounceSender: undefined }), 'ValidationError', /'bounceSender'.*must not be null/],
      ['BounceSender is not an address', validInput({ BounceSender: 'mailer-daemon' }), 'InvalidParameterValue', /BounceSender 'mailer-daemon'/],
      ['the recipient list is missing', validInput({ BouncedRecipientInfoList: undefined }), 'ValidationError', /'bouncedRecipientInfoList'/],
      ['the recipient list is empty', validInput({ BouncedRecipientInfoList: [] }), 'InvalidParameterValue', /at least one recipient/],
      [
        'a recipient has no Recipient',
        validInput({ BouncedRecipientInfoList: [{ BounceType: 'DoesNotExist' } as never] }),
        'ValidationError',
        /'bouncedRecipientInfoList\.1\.member\.recipient'.*must not be null/,
      ],
      [
        'a Recipient is not an address',
        validInput({ BouncedRecipientInfoList: [{ Recipient: 'nobody', BounceType: 'DoesNotExist' }] }),
        'InvalidParameterValue',
        /Recipient 'nobody'/,
      ],
      [
        'a recipient has neither BounceType nor RecipientDsnFields',
        validInput({ BouncedRecipientInfoList: [{ Recipient: 'rcpt@example.com' }] }),
        'InvalidParameterValue',
        /either BounceType or RecipientDsnFields/,
      ],
      [
        'a recipient has both BounceType and RecipientDsnFields',
        validInput({
          BouncedRecipientInfoList: [{ Recipient: 'rcpt@example.com', BounceType: 'DoesNotExist', RecipientDsnFields: { Action: 'failed', Status: '5.1.1' } }],
        }),
        'InvalidParameterValue',
        /not both/,
      ],
      [
        'BounceType is not one of the six',
        validInput({ BouncedRecipientInfoList: [{ Recipient: 'rcpt@example.com', BounceType: 'Bounced' as never }] }),
        'ValidationError',
        /Value 'Bounced' at 'bouncedRecipientInfoList\.1\.member\.bounceType'.*enum value set: \[DoesNotExist, MessageTooLarge/,
      ],
      ['RecipientDsnFields has no Action', withDsn({ Action: undefined }), 'ValidationError', /'bouncedRecipientInfoList\.1\.member\.recipientDsnFields\.action'/],
      ['Action is not a DSN action', withDsn({ Action: 'bounced' }), 'ValidationError', /Value 'bounced' at .*recipientDsnFields\.action'.*\[failed, delayed, delivered, relayed, expanded\]/],
      ['RecipientDsnFields has no Status', withDsn({ Status: undefined }), 'ValidationError', /recipientDsnFields\.status'.*must not be null/],
      ['Status has two parts', withDsn({ Status: '5.1' }), 'InvalidParameterValue', /Status '5\.1'/],
      ['Status has class 3', withDsn({ Status: '3.1.1' }), 'InvalidParameterValue', /Status '3\.1\.1'/],
      ['Status has a four-digit subject', withDsn({ Status: '5.1000.1' }), 'InvalidParameterValue', /Status '5\.1000\.1'/],
      ['FinalRecipient carries an rfc822 prefix', withDsn({ FinalRecipient: 'rfc822; a@example.com' }), 'InvalidParameterValue', /FinalRecipient 'rfc822; a@example\.com'/],
      ['RemoteMta lacks a type', withDsn({ RemoteMta: 'mx.example.com' }), 'InvalidParameterValue', /RemoteMta 'mx\.example\.com'/],
      [
        'MessageDsn has no ReportingMta',
        validInput({ MessageDsn: { ArrivalDate: new Date(T0) } as never }),
        'ValidationError',
        /'messageDsn\.reportingMta'.*must not be null/,
      ],
      ['ReportingMta lacks a type', validInput({ MessageDsn: { ReportingMta: 'mta.example.com' } }), 'InvalidParameterValue', /ReportingMta 'mta\.example\.com'/],
      ['ReportingMta names no host', validInput({ MessageDsn: { ReportingMta: 'dns; bad_host!' } }), 'InvalidParameterValue', /ReportingMta 'dns; bad_host!'/],
      [
        'an ExtensionField Name has an underscore',
        validInput({ MessageDsn: { ReportingMta: 'dns; mta.example.com', ExtensionFields: [{ Name: 'X_Rule', Value: 'v' }] } }),
        'InvalidParameterValue',
        /Name 'X_Rule'/,
      ],
      [
        'an ExtensionField Name is 51 characters',
        validInput({ MessageDsn: { ReportingMta: 'dns; mta.example.com', ExtensionFields: [{ Name: 'X'.repeat(51), Value: 'v' }] } }),
        'InvalidParameterValue',
        /1 to 50 letters, digits or dashes/,
      ],
      [
        'an ExtensionField Name is empty',
        validInput({ MessageDsn: { ReportingMta: 'dns; mta.example.com', ExtensionFields: [{ Name: '', Value: 'v' }] } }),
        'InvalidParameterValue',
        /Name ''/,
      ],
      [
        'an ExtensionField Value is 2049 characters',
        withDsn({ ExtensionFields: [{ Name: 'X-Long', Value: 'v'.repeat(2049) }] }),
        'InvalidParameterValue',
        /Value for 'X-Long': 2049 characters, at most 2048/,
      ],
      [
        'an ExtensionField has no Value',
        withDsn({ ExtensionFields: [{ Name: 'X-Empty' }] }),
        'ValidationError',
        /extensionFields\.1\.member\.value'.*must not be null/,
      ],
      [
        'an ExtensionField Value contains CRLF',
        withDsn({ ExtensionFields: [{ Name: 'X-Inject', Value: 'a\r\nBcc: victim@example.com' }] }),
        'InvalidParameterValue',
        /ExtensionFields\.member\.1\.Value .*CR and LF are not allowed/,
      ],
      ['the Explanation contains LF', validInput({ Explanation: 'line one\nline two' }), 'InvalidParameterValue', /Explanation .*CR and LF/],
      ['the DiagnosticCode contains CR', withDsn({ DiagnosticCode: 'smtp; 550\rno' }), 'InvalidParameterValue', /DiagnosticCode .*CR and LF/],
    ];

    it.each(validationCases)('answers %s with the SES error code and quotes the field', async (_case, input, code, message) => {
      const error = await sendExpectingError(client, input);
      expect(error.name).toBe(code);
      expect(error.message).toMatch(message);
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.$fault).toBe('client');
      expect(standIn.calls[0].outcome).toMatchObject({ kind: 'error', code, status: 400 });
    });

    it('lists every model violation at once when several members are null', async () => {
      const error = await sendExpectingError(client, { BouncedRecipientInfoList: [{ Recipient: 'rcpt@example.com', BounceType: 'DoesNotExist' }] } as never);
      expect(error.name).toBe('ValidationError');
      expect(error.message).toMatch(/^2 validation errors detected: .*'originalMessageId'.*; .*'bounceSender'/);
    });

    it.each([
      ['MessageDsn.ArrivalDate', 'yesterday'],
      [rcpt(1, 'RecipientDsnFields.LastAttemptDate'), '2024-13-45T99:00:00Z'],
    ])('refuses %s when it is not an ISO 8601 date', async (field, value) => {
      const params: Record<string, string> = {
        Action: 'SendBounce',
        Version: '2010-12-01',
        OriginalMessageId: ORIGINAL_ID,
        BounceSender: 'mailer-daemon@example.com',
        [rcpt(1, 'Recipient')]: 'rcpt@example.com',
        [rcpt(1, 'RecipientDsnFields.Action')]: 'failed',
        [rcpt(1, 'RecipientDsnFields.Status')]: '5.1.1',
        'MessageDsn.ReportingMta': 'dns; mta.example.com',
        [field]: value,
      };
      const { status, body } = await postForm(standIn, params);
      expect(status).toBe(400);
      expect(body).toContain('<Code>InvalidParameterValue</Code>');
      expect(body).toContain(`${field} '${value}': expected an ISO 8601 date-time`);
    });

    it('answers InvalidAction in the SES error shape when the Action is unknown', async () => {
      const { status, body } = await postForm(standIn, { Action: 'SendEmail', Version: '2010-12-01' });
      expect(status).toBe(400);
      expect(body).toMatch(
        /^<ErrorResponse xmlns="http:\/\/ses\.amazonaws\.com\/doc\/2010-12-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code><Message>Could not find operation SendEmail for version 2010-12-01<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>/,
      );
      expect(standIn.calls[0].outcome).toMatchObject({ kind: 'error', code: 'InvalidAction', status: 400 });
    });

    it('answers MissingAuthenticationToken when the request is not signed', async () => {
      const response = await fetch(standIn.endpoint, { method: 'POST', body: 'Action=SendBounce&Version=2010-12-01' });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    });

    it('rejects with MessageRejected when the original message was never received', async () => {
      const error = await sendExpectingError(client, validInput({ OriginalMessageId: 'never-seen' }));
      expect(error).toBeInstanceOf(MessageRejected);
      expect(error.message).toContain("'never-seen'");
      expect(error.$metadata.httpStatusCode).toBe(400);
    });

    it('rejects with MessageRejected when the original was received more than 24 hours ago', async () => {
      standIn.registerReceived('old', { receivedAt: new Date(T0 - SEND_BOUNCE_WINDOW_MS - 1) });
      standIn.registerReceived('just-in-time', { receivedAt: new Date(T0 + 1000 - SEND_BOUNCE_WINDOW_MS) });
      const error = await sendExpectingError(client, validInput({ OriginalMessageId: 'old' }));
      expect(error).toBeInstanceOf(MessageRejected);
      expect(error.message).toMatch(/'old' was received at .* more than 24 hours ago/);
      clock.now += 1000;
      const out = await client.send(new SendBounceCommand(validInput({ OriginalMessageId: 'just-in-time' })));
      expect(out.MessageId).toBeDefined();
    });

    it('refuses a recipient the original was not addressed to when its recipients are registered', async () => {
      standIn.registerReceived('addressed', { receivedAt: new Date(T0), recipients: ['rcpt@example.com'] });
      const ok = validInput({ OriginalMessageId: 'addressed' });
      const error = await sendExpectingError(
        client,
        { ...ok, BouncedRecipientInfoList: [{ Recipient: 'bystander@example.com', BounceType: 'DoesNotExist' }] },
      );
      expect(error.name).toBe('InvalidParameterValue');
      expect(error.message).toContain("'bystander@example.com'");
      clock.now += 1000;
      await expect(client.send(new SendBounceCommand({ ...ok, BouncedRecipientInfoList: [{ Recipient: 'RCPT@example.com', BounceType: 'DoesNotExist' }] }))).resolves.toBeDefined();
    });

    it('throttles a call that comes less than 1000 ms after the previous one and not a throttled call after it', async () => {
      await client.send(new SendBounceCommand(validInput()));
      clock.now += 999;
      const error = await sendExpectingError(client, validInput());
      expect(error.name).toBe('Throttling');
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.$fault).toBe('client');
      // A throttled call does not move the window: 1000 ms after the first call is free again.
      clock.now += 1;
      await expect(client.send(new SendBounceCommand(validInput()))).resolves.toMatchObject({ MessageId: expect.any(String) });
      expect(standIn.calls.map((c) => [c.arrivedAt - T0, c.outcome.kind === 'error' ? c.outcome.code : 'accepted'])).toEqual([
        [0, 'accepted'],
        [999, 'Throttling'],
        [1000, 'accepted'],
      ]);
    });

    it('counts a call that failed validation in the rate window', async () => {
      await sendExpectingError(client, validInput({ BounceSender: 'bad' }));
      clock.now += 500;
      expect((await sendExpectingError(client, validInput())).name).toBe('Throttling');
    });

    it('answers injected faults for the next n calls, recorded, then serves normally', async () => {
      standIn.injectFaults(2, { code: 'InternalFailure', status: 500, message: 'boom' });
      for (let i = 0; i < 2; i++) {
        const error = await sendExpectingError(client, validInput());
        expect(error.name).toBe('InternalFailure');
        expect(error.message).toBe('boom');
        expect(error.$metadata.httpStatusCode).toBe(500);
        expect(error.$fault).toBe('server');
      }
      // Faults stay out of the rate window, so no clock move is needed here.
      await expect(client.send(new SendBounceCommand(validInput()))).resolves.toBeDefined();
      expect(standIn.calls.map((c) => c.outcome)).toEqual([
        { kind: 'error', code: 'InternalFailure', status: 500, message: 'boom' },
        { kind: 'error', code: 'InternalFailure', status: 500, message: 'boom' },
        { kind: 'accepted', messageId: expect.any(String) },
      ]);
    });

    it('lets the SDK retry an injected 500 as a retryable server error', async () => {
      const retrying = sesClient(standIn, 3);
      try {
        standIn.injectFaults(1, { code: 'InternalFailure', status: 500 });
        const out = await retrying.send(new SendBounceCommand(validInput()));
        expect(out.$metadata.attempts).toBe(2);
        expect(standIn.calls.map((c) => c.outcome.kind)).toEqual(['error', 'accepted']);
      } finally {
        retrying.destroy();
      }
    });

    it('injects a Throttling fault the SDK sees as Throttling', async () => {
      standIn.injectFaults(1, { code: 'Throttling', status: 400, message: 'Maximum sending rate exceeded.' });
      const error = await sendExpectingError(client, validInput());
      expect(error.name).toBe('Throttling');
      expect(error.$metadata.httpStatusCode).toBe(400);
    });

    it('answers an injected fault only after its delay when delayMs is given', async () => {
      standIn.injectFaults(1, { code: 'ServiceUnavailable', status: 503, delayMs: 300 });
      const started = Date.now();
      const error = await sendExpectingError(client, validInput());
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(error.name).toBe('ServiceUnavailable');
      expect(error.$metadata.httpStatusCode).toBe(503);
    });
  });

  describe('close', () => {
    it('closes promptly while a slow answer and keep-alive sockets are open', async () => {
      const { standIn } = await startOnFakeClock();
      const client = sesClient(standIn);
      try {
        await client.send(new SendBounceCommand(validInput()));
        standIn.injectFaults(1, { code: 'InternalFailure', status: 500, delayMs: 20_000 });
        const pending = client.send(new SendBounceCommand(validInput())).catch((e: Error) => e);
        await new Promise((r) => setTimeout(r, 100));
        const started = Date.now();
        await standIn.close();
        expect(Date.now() - started).toBeLessThan(1000);
        expect(await pending).toBeInstanceOf(Error);
        await expect(fetch(standIn.endpoint)).rejects.toThrow();
      } finally {
        client.destroy();
      }
    });
  });

  describe('outbox', () => {
    let outboxDir: string;
    let standIn: SesStandIn;
    let client: SESClient;

    beforeEach(async () => {
      outboxDir = await mkdtemp(join(tmpdir(), 'ses-stand-in-outbox-'));
      ({ standIn } = await startOnFakeClock({ outboxDir, minIntervalMs: 0 }));
      standIn.registerReceived('with-headers', {
        receivedAt: new Date(T0 - 5000),
        sender: 'sender@example.org',
        rawHeaders: 'From: Sender <sender@example.org>\nTo: rcpt@example.com\nSubject: hello\nMessage-ID: <orig-1@example.org>\n',
      });
      client = sesClient(standIn);
    });

    afterEach(async () => {
      client.destroy();
      await standIn.close();
      await rm(outboxDir, { recursive: true, force: true });
    });

    it('writes the DSN SES would send as <messageId>.eml when a call is accepted', async () => {
      const out = await client.send(
        new SendBounceCommand({
          OriginalMessageId: 'with-headers',
          BounceSender: 'mailer-daemon@example.com',
          MessageDsn: { ReportingMta: 'dns; mta.example.com', ArrivalDate: new Date('2024-05-01T11:59:55Z'), ExtensionFields: [{ Name: 'X-Rule-Id', Value: 'no-such-user' }] },
          BouncedRecipientInfoList: [
            { Recipient: 'rcpt@example.com', BounceType: 'DoesNotExist' },
            {
              Recipient: 'other@example.com',
              RecipientDsnFields: { Action: 'delayed', Status: '4.2.2', DiagnosticCode: 'smtp; 452 4.2.2 mailbox full', RemoteMta: 'dns; mx.example.com' },
            },
          ],
        }),
      );
      const file = join(outboxDir, `${out.MessageId}.eml`);
      expect(standIn.calls[0].outcome).toEqual({ kind: 'accepted', messageId: out.MessageId, dsnFile: file });
      expect(await readdir(outboxDir)).toEqual([`${out.MessageId}.eml`]);
      const eml = await readFile(file, 'utf8');
      expect(eml).not.toMatch(/[^\r]\n/);

      const mail = await simpleParser(eml);
      expect(mail.from?.value[0].address).toBe('mailer-daemon@example.com');
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0].address : undefined).toBe('sender@example.org');
      expect(mail.messageId).toBe(`<${out.MessageId}@email.amazonses.com>`);
      expect(mail.date?.getTime()).toBe(T0);
      expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
      expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
      expect(mail.text).toContain('rcpt@example.com (5.1.1)');
      expect(mail.attachments.map((a) => [a.contentType, a.content.toString()])).toEqual([
        ['text/rfc822-headers', 'From: Sender <sender@example.org>\r\nTo: rcpt@example.com\r\nSubject: hello\r\nMessage-ID: <orig-1@example.org>\r\n'],
      ]);

      const { parts } = mimeParts(eml);
      expect(parts.map((p) => p.headers.get('content-type')?.split(';')[0])).toEqual([
        'text/plain',
        'message/delivery-status',
        'text/rfc822-headers',
      ]);
      const groups = deliveryStatusGroups(parts[1].body).map((g) => Object.fromEntries(g));
      expect(groups).toEqual([
        { 'reporting-mta': 'dns; mta.example.com', 'arrival-date': 'Wed, 01 May 2024 11:59:55 +0000', 'x-rule-id': 'no-such-user' },
        { 'final-recipient': 'rfc822; rcpt@example.com', action: 'failed', status: '5.1.1' },
        {
          'final-recipient': 'rfc822; other@example.com',
          action: 'delayed',
          status: '4.2.2',
          'remote-mta': 'dns; mx.example.com',
          'diagnostic-code': 'smtp; 452 4.2.2 mailbox full',
        },
      ]);
    });

    it('writes no file when a call is refused', async () => {
      await sendExpectingError(client, validInput({ OriginalMessageId: 'unknown' }));
      await sendExpectingError(client, validInput({ BounceSender: 'nope' }));
      expect(await readdir(outboxDir)).toEqual([]);
    });
  });

  describe('verifiedIdentities', () => {
    it('rejects a BounceSender outside the verified identities and accepts one inside a verified domain', async () => {
      const { standIn, clock } = await startOnFakeClock({ verifiedIdentities: ['bounces@example.net', 'example.com'] });
      const client = sesClient(standIn);
      try {
        const error = await sendExpectingError(client, validInput({ BounceSender: 'someone@example.org' }));
        expect(error).toBeInstanceOf(MessageRejected);
        expect(error.message).toContain('someone@example.org');
        clock.now += 1000;
        await expect(client.send(new SendBounceCommand(validInput({ BounceSender: 'Mailer <postmaster@Example.com>' })))).resolves.toBeDefined();
      } finally {
        client.destroy();
        await standIn.close();
      }
    });
  });

  describe('defect 15 (issue 12): memory held for received mail', () => {
    /** Bytes in use after a full collection: the V8 heap plus memory outside it (Node keeps large decoded strings there). */
    const settledBytes = () => {
      fullGc();
      fullGc();
      const { heapUsed, external } = process.memoryUsage();
      return heapUsed + external;
    };
    /** A distinct header block of about `mb` MiB of whole lines, as a message whose headers never end would give. */
    const hugeHeaderBlock = (i: number, mb: number) =>
      // Through a Buffer so the string is flat, as one decoded from received bytes is (repeat() builds a tree sharing one leaf).
      Buffer.from(`Message-ID: <huge-${i}@example.org>\r\nFrom: sender@example.org\r\n${`X-Filler-${i}: ${'x'.repeat(1000)}\r\n`.repeat(mb * 1024)}`).toString('latin1');

    it('holds a bounded part of each header block, so 40 originals with 4 MiB of headers grow memory by far less than 160 MiB', async () => {
      const { standIn } = await startOnFakeClock();
      try {
        const before = settledBytes();
        for (let i = 0; i < 40; i++) {
          standIn.registerReceived(`huge-${i}`, { receivedAt: new Date(T0), sender: 'sender@example.org', rawHeaders: hugeHeaderBlock(i, 4) });
        }
        const grown = settledBytes() - before;
        // 40 × 64 KiB is 2.5 MiB; before the fix the stand-in held every block whole (160 MiB).
        expect(grown).toBeLessThan(16 * 1024 * 1024);
        expect(standIn.heldMessages).toBe(41);
      } finally {
        await standIn.close();
      }
    });

    it('still renders the DSN from the kept lines: the headers part is whole lines within the bound and keeps the Message-ID', async () => {
      const outboxDir = await mkdtemp(join(tmpdir(), 'ses-stand-in-outbox-'));
      const { standIn } = await startOnFakeClock({ outboxDir });
      const client = sesClient(standIn);
      try {
        standIn.registerReceived('huge', { receivedAt: new Date(T0), sender: 'sender@example.org', rawHeaders: hugeHeaderBlock(7, 2), recipients: ['rcpt@example.com'] });
        await client.send(new SendBounceCommand(validInput({ OriginalMessageId: 'huge' })));
        const outcome = standIn.calls[0].outcome;
        if (outcome.kind !== 'accepted' || !outcome.dsnFile) throw new Error(`expected an accepted call with a DSN, got ${JSON.stringify(outcome)}`);
        const headersPart = mimeParts(await readFile(outcome.dsnFile, 'utf8')).parts[2];
        expect(headersPart.headers.get('content-type')).toBe('text/rfc822-headers');
        expect(Buffer.byteLength(headersPart.body)).toBeLessThanOrEqual(MAX_HELD_HEADER_BYTES + 2);
        expect(headersPart.body).toContain('Message-ID: <huge-7@example.org>');
        expect(headersPart.body.trimEnd().split('\r\n').every((line) => /^(Message-ID|From|X-Filler-7): /.test(line))).toBe(true);
      } finally {
        client.destroy();
        await standIn.close();
        await rm(outboxDir, { recursive: true, force: true });
      }
    });

    it('forgets originals once they are past the 24 h window, and SendBounce still refuses them', async () => {
      const { standIn, clock } = await startOnFakeClock();
      const client = sesClient(standIn);
      try {
        for (let i = 0; i < 3; i++) standIn.registerReceived(`day-one-${i}`, { receivedAt: new Date(T0) });
        expect(standIn.heldMessages).toBe(4);
        clock.now = T0 + SEND_BOUNCE_WINDOW_MS + SWEEP_INTERVAL_MS + 1;
        standIn.registerReceived('day-two', { receivedAt: new Date(clock.now) });
        expect(standIn.heldMessages).toBe(1);
        const error = await sendExpectingError(client, validInput({ OriginalMessageId: 'day-one-0' }));
        expect(error).toBeInstanceOf(MessageRejected);
      } finally {
        client.destroy();
        await standIn.close();
      }
    });

    it('keeps only the last calls when maxCallsKept is set', async () => {
      const { standIn, clock } = await startOnFakeClock({ maxCallsKept: 3 });
      const client = sesClient(standIn);
      try {
        for (let i = 0; i < 10; i++) {
          clock.now += 1000;
          await client.send(new SendBounceCommand(validInput()));
        }
        expect(standIn.calls.length).toBeGreaterThanOrEqual(3);
        expect(standIn.calls.length).toBeLessThanOrEqual(6);
        expect(standIn.calls[standIn.calls.length - 1].arrivedAt).toBe(clock.now);
      } finally {
        client.destroy();
        await standIn.close();
      }
    });
  });

  describe('minIntervalMs', () => {
    it('throttles by wall time when no clock is injected and accepts again after the interval', async () => {
      const standIn = await startSesStandIn({ minIntervalMs: 200 });
      standIn.registerReceived(ORIGINAL_ID, { receivedAt: new Date() });
      const client = sesClient(standIn);
      try {
        await client.send(new SendBounceCommand(validInput()));
        expect((await sendExpectingError(client, validInput())).name).toBe('Throttling');
        await new Promise((r) => setTimeout(r, 250));
        await expect(client.send(new SendBounceCommand(validInput()))).resolves.toBeDefined();
      } finally {
        client.destroy();
        await standIn.close();
      }
    });
  });
});
