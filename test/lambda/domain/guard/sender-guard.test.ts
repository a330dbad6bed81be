import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardPolicy, MailHeader, MessageFacts } from '../../../../lambda/domain/model';
import { checkSender } from '../../../../lambda/domain/guard';
import { messageFacts } from '../../../support/facts';

const SPF_PASS: GuardPolicy = { senderAuth: 'spf-pass' };

function facts(overrides: Partial<MessageFacts> = {}, extraHeaders: MailHeader[] = []): MessageFacts {
  return messageFacts({
    sender: 'sender@example.com',
    recipients: ['alice@example.org'],
    headers: [{ name: 'Content-Type', value: 'text/plain; charset=utf-8' }, ...extraHeaders],
    ...overrides,
  });
}

const reasons = (f: MessageFacts, policy: GuardPolicy = SPF_PASS) => checkSender(f, policy).reasons;

describe('sender-guard', () => {
  describe('checkSender', () => {
    it('allows an authenticated sender of ordinary mail', () => {
      expect(checkSender(facts(), SPF_PASS)).toEqual({ allowed: true, reasons: [] });
    });

    it('allows the SES sample event, whose Precedence: Bulk is not a reason', () => {
      const event = JSON.parse(readFileSync(join(__dirname, '../../../fixtures/ses/lambda-action-event.json'), 'utf8'));
      const { mail } = event.Records[0].ses;
      expect(reasons(facts({ sender: mail.source, headers: mail.headers }))).toEqual([]);
    });

    it('defect 8: refuses when the header block was cut, since Auto-Submitted may lie past the cut', () => {
      expect(reasons(facts({ headersComplete: false }))).toEqual(['headers-incomplete']);
    });

    describe('defect 11: guard gaps', () => {
      it('refuses a quoted MAILER-DAEMON or postmaster local part', () => {
        expect(reasons(facts({ sender: '"mailer-daemon"@mx.example.com' }))).toEqual(['mailer-daemon-sender']);
        expect(reasons(facts({ sender: '"Post\\master"@example.com' }))).toEqual(['mailer-daemon-sender']);
      });

      it('refuses when the virus or spam scan could not finish (PROCESSING_FAILED), but not when scanning is DISABLED', () => {
        const v = (virus: string, spam = 'PASS') => facts({ verdicts: { ...facts().verdicts, virus, spam } as MessageFacts['verdicts'] });
        expect(reasons(v('PROCESSING_FAILED'))).toEqual(['virus-verdict']);
        expect(reasons(v('PASS', 'PROCESSING_FAILED'))).toEqual(['spam-verdict']);
        expect(reasons(v('DISABLED', 'DISABLED'))).toEqual([]);
      });

      it.each([['X-Autoreply', 'yes'], ['X-Autorespond', 'Out of office'], ['x-autoreply', '']])('refuses a message carrying %s', (name, value) => {
        expect(reasons(facts({}, [{ name, value }]))).toEqual(['auto-submitted']);
      });

      it('bounces Precedence: bulk and list mail on purpose: a list\'s bounce processor wants the DSN', () => {
        for (const value of ['bulk', 'list', 'List']) {
          expect(reasons(facts({}, [{ name: 'Precedence', value }, { name: 'List-Id', value: '<news.example.com>' }]))).toEqual([]);
        }
      });
    });

    it('refuses the null sender', () => {
      expect(reasons(facts({ sender: '' }))).toEqual(['null-sender']);
      expect(reasons(facts({ sender: '<>' }))).toEqual(['null-sender']);
    });

    it('refuses MAILER-DAEMON and postmaster senders in any case', () => {
      expect(reasons(facts({ sender: 'MAILER-DAEMON@mx.example.com' }))).toEqual(['mailer-daemon-sender']);
      expect(reasons(facts({ sender: 'PostMaster@example.com' }))).toEqual(['mailer-daemon-sender']);
    });

    it('refuses a DSN or MDN (multipart/report of any report-type)', () => {
      const dsn = facts({ headers: [{ name: 'content-type', value: 'Multipart/Report; report-type=delivery-status; boundary="x"' }] });
      const mdn = facts({ headers: [{ name: 'Content-Type', value: 'multipart/report; report-type=disposition-notification' }] });
      expect(reasons(dsn)).toEqual(['delivery-report']);
      expect(reasons(mdn)).toEqual(['delivery-report']);
    });

    it('refuses a non-standard bounce that carries X-Failed-Recipients', () => {
      expect(reasons(facts({}, [{ name: 'X-Failed-Recipients', value: 'someone@example.net' }]))).toEqual(['delivery-report']);
    });

    it('refuses Auto-Submitted other than no, ignoring case and comments', () => {
      expect(reasons(facts({}, [{ name: 'Auto-Submitted', value: 'Auto-Replied (vacation)' }]))).toEqual(['auto-submitted']);
      expect(reasons(facts({}, [{ name: 'auto-submitted', value: 'NO (a person wrote this)' }]))).toEqual([]);
    });

    it('refuses an empty Auto-Submitted, which is not "no"', () => {
      expect(reasons(facts({}, [{ name: 'Auto-Submitted', value: '' }]))).toEqual(['auto-submitted']);
    });

    it('refuses mail SES marked as spam', () => {
      expect(reasons(facts({ verdicts: { ...facts().verdicts, spam: 'FAIL' } }))).toEqual(['spam-verdict']);
    });

    it('refuses mail SES marked as carrying a virus', () => {
      expect(reasons(facts({ verdicts: { ...facts().verdicts, virus: 'FAIL' } }))).toEqual(['virus-verdict']);
    });

    it('refuses a sender whose SPF is not PASS under spf-pass, even with DMARC PASS', () => {
      expect(reasons(facts({ verdicts: { ...facts().verdicts, spf: 'GRAY' } }))).toEqual(['sender-not-authenticated']);
    });

    it('accepts DMARC PASS instead of SPF under spf-or-dmarc-pass', () => {
      const f = facts({ verdicts: { ...facts().verdicts, spf: 'FAIL', dmarc: 'PASS' } });
      expect(reasons(f, { senderAuth: 'spf-or-dmarc-pass' })).toEqual([]);
      expect(reasons(facts({ verdicts: { ...f.verdicts, dmarc: 'FAIL' } }), { senderAuth: 'spf-or-dmarc-pass' })).toEqual(['sender-not-authenticated']);
    });

    it('checks no authentication under none', () => {
      expect(reasons(facts({ verdicts: { ...facts().verdicts, spf: 'DISABLED' } }), { senderAuth: 'none' })).toEqual([]);
    });

    it('reports every reason that applies, not only the first', () => {
      const f = facts(
        { sender: '', verdicts: { spam: 'FAIL', virus: 'FAIL', spf: 'FAIL', dkim: 'FAIL', dmarc: 'FAIL' } },
        [{ name: 'Auto-Submitted', value: 'auto-generated' }],
      );
      expect(checkSender(f, SPF_PASS)).toEqual({
        allowed: false,
        reasons: ['null-sender', 'auto-submitted', 'spam-verdict', 'virus-verdict', 'sender-not-authenticated'],
      });
    });
  });
});
