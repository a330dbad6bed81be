import { buildBounceRequest, InvalidBounceRequestError, oneLine } from '../../../../lambda/domain/bounce/build-request';
import type { BounceJob, BouncedRecipient } from '../../../../lambda/ports';

const settings = { bounceSender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' };

function recipient(address: string, status = '5.1.1', extra: Partial<BouncedRecipient['bounce']> = {}): BouncedRecipient {
  return {
    recipient: address,
    ruleId: `rule-${address}`,
    bounce: { bounceType: 'DoesNotExist', status, action: status.startsWith('4') ? 'delayed' : 'failed', ...extra },
  };
}

function job(recipients: BouncedRecipient[], overrides: Partial<BounceJob> = {}): BounceJob {
  return {
    messageId: 'msg-0001',
    receivedAt: '2026-11-26T10:00:00.000Z',
    sender: 'alice@sender.example',
    recipients,
    ...overrides,
  };
}

function expectInvalid(run: () => unknown, field: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidBounceRequestError);
    expect((error as InvalidBounceRequestError).field).toBe(field);
    return;
  }
  throw new Error(`expected an InvalidBounceRequestError for ${field}`);
}

describe('build-request', () => {
  describe('buildBounceRequest', () => {
    it('builds one RecipientDsnFields entry per recipient and no BounceType when the job is valid', () => {
      const request = buildBounceRequest(
        job([recipient('bob@example.com', '5.1.1', { diagnosticCode: 'smtp; 550 5.1.1 no such user', explanation: 'Bob left.' }), recipient('carol@example.com', '5.7.1')]),
        { ...settings, bounceSenderArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.com' },
      );
      expect(request).toEqual({
        OriginalMessageId: 'msg-0001',
        BounceSender: 'mailer-daemon@example.com',
        BounceSenderArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.com',
        Explanation: 'Bob left.',
        MessageDsn: { ReportingMta: 'dns; mx.example.com', ArrivalDate: new Date('2026-11-26T10:00:00.000Z') },
        BouncedRecipientInfoList: [
          {
            Recipient: 'bob@example.com',
            RecipientDsnFields: { Action: 'failed', Status: '5.1.1', FinalRecipient: 'bob@example.com', DiagnosticCode: 'smtp; 550 5.1.1 no such user' },
          },
          { Recipient: 'carol@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.7.1', FinalRecipient: 'carol@example.com' } },
        ],
      });
    });

    it('uses Action delayed when the status is 4.x.x', () => {
      const request = buildBounceRequest(job([recipient('bob@example.com', '4.2.2')]), settings);
      expect(request.BouncedRecipientInfoList?.[0].RecipientDsnFields?.Action).toBe('delayed');
    });

    it('leaves Explanation out when no rule gives one, so that SES writes its own', () => {
      const request = buildBounceRequest(job([recipient('bob@example.com')]), settings);
      expect(request).not.toHaveProperty('Explanation');
      expect(request).not.toHaveProperty('BounceSenderArn');
    });

    it('takes the explanation of the first recipient that has one', () => {
      const request = buildBounceRequest(
        job([recipient('bob@example.com'), recipient('carol@example.com', '5.1.1', { explanation: 'Carol' }), recipient('dan@example.com', '5.1.1', { explanation: 'Dan' })]),
        settings,
      );
      expect(request.Explanation).toBe('Carol');
    });

    it('prefixes a bare diagnostic with the smtp type', () => {
      const request = buildBounceRequest(job([recipient('bob@example.com', '5.1.1', { diagnosticCode: '550 5.1.1 unknown' })]), settings);
      expect(request.BouncedRecipientInfoList?.[0].RecipientDsnFields?.DiagnosticCode).toBe('smtp; 550 5.1.1 unknown');
    });

    it('bounces a recipient listed twice only once', () => {
      const request = buildBounceRequest(job([recipient('bob@example.com', '5.1.1'), recipient('BOB@example.com', '5.2.2')]), settings);
      expect(request.BouncedRecipientInfoList).toHaveLength(1);
      expect(request.BouncedRecipientInfoList?.[0].RecipientDsnFields?.Status).toBe('5.1.1');
    });

    it('strips CR and LF from every text it sends', () => {
      const request = buildBounceRequest(
        job([recipient('bob@example.com', '5.1.1', { diagnosticCode: 'smtp; 550\r\nBcc: victim@example.org', explanation: 'line one\nline two' })], {
          messageId: 'msg-0001\r\n',
        }),
        settings,
      );
      const text = JSON.stringify(request);
      expect(text).not.toMatch(/\\r|\\n/);
      expect(request.Explanation).toBe('line one line two');
      expect(request.OriginalMessageId).toBe('msg-0001');
    });

    it('refuses an empty message id', () => {
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com')], { messageId: '\r\n' }), settings), 'OriginalMessageId');
    });

    it('refuses a job whose every recipient is one SES cannot take', () => {
      expectInvalid(() => buildBounceRequest(job([recipient('bob')]), settings), 'BouncedRecipientInfoList');
      expectInvalid(() => buildBounceRequest(job([recipient('bob@exämple.com'), recipient('"quoted"@example.com')]), settings), 'BouncedRecipientInfoList');
    });

    it('defect 10: bounces the recipients SES can take and leaves out a non-ascii one', () => {
      const request = buildBounceRequest(job([recipient('jürgen@example.com'), recipient('former@example.com')]), settings);
      expect(request.BouncedRecipientInfoList?.map((r) => r.Recipient)).toEqual(['former@example.com']);
    });

    it('refuses a status that is not a class 4 or 5 RFC 3463 code', () => {
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com', '2.0.0')]), settings), 'BouncedRecipientInfoList.1.Status');
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com', '550')]), settings), 'BouncedRecipientInfoList.1.Status');
    });

    it('refuses an explanation or diagnostic longer than the limit', () => {
      const long = 'x'.repeat(2100);
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com', '5.1.1', { explanation: long })]), settings), 'Explanation');
      expectInvalid(
        () => buildBounceRequest(job([recipient('bob@example.com', '5.1.1', { diagnosticCode: long })]), settings),
        'BouncedRecipientInfoList.1.DiagnosticCode',
      );
    });

    it('refuses a job without recipients, a bad arrival date, sender or reporting MTA', () => {
      expectInvalid(() => buildBounceRequest(job([]), settings), 'BouncedRecipientInfoList');
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com')], { receivedAt: 'yesterday' }), settings), 'MessageDsn.ArrivalDate');
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com')]), { ...settings, bounceSender: 'daemon' }), 'BounceSender');
      expectInvalid(() => buildBounceRequest(job([recipient('bob@example.com')]), { ...settings, reportingMta: 'mx example' }), 'MessageDsn.ReportingMta');
    });

    it('quotes the bad value in the error message', () => {
      expect(() => buildBounceRequest(job([recipient('bob@example.com', '9.9')]), settings)).toThrow(/"9\.9"/);
    });
  });

  describe('oneLine', () => {
    it('replaces runs of CR and LF with one space and trims', () => {
      expect(oneLine('\r\na\r\n\r\nb\n')).toBe('a b');
    });
  });
});
