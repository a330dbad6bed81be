import type { BounceSpec } from '../../../lambda/domain/model';
import type { AuditRecord } from '../../../lambda/ports';
import { receiveLines, sendLine } from '../../../local/pipeline/report';

const bounce: BounceSpec = { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' };

const audit = (over: Partial<AuditRecord> = {}): AuditRecord => ({
  messageId: 'abcdef0123456789-rest',
  receivedAt: '2026-03-01T10:00:00.000Z',
  sender: 'alice@sender.example',
  decisions: [],
  guard: { allowed: true, reasons: [] },
  state: 'PENDING',
  attempts: 0,
  createdAt: '2026-03-01T10:00:00.000Z',
  updatedAt: '2026-03-01T10:00:00.000Z',
  expiresAt: 0,
  ...over,
});

describe('report', () => {
  describe('receiveLines', () => {
    it('prints one line per recipient with decision, rule, guard and state', () => {
      const lines = receiveLines({
        messageId: 'abcdef0123456789-rest',
        sender: 'alice@sender.example',
        decisions: [
          { recipient: 'former@example.com', action: 'bounce', ruleId: 'former-employee', bounce },
          { recipient: 'postmaster@example.com', action: 'allow', ruleId: 'postmaster-always' },
          { recipient: 'x@example.com', action: 'default', defaultAction: 'deliver' },
        ],
        audit: audit(),
      });
      expect(lines).toEqual([
        'receive abcdef012345… alice@sender.example -> former@example.com decision=bounce rule=former-employee guard=ok state=PENDING',
        'receive abcdef012345… alice@sender.example -> postmaster@example.com decision=allow rule=postmaster-always guard=- state=-',
        'receive abcdef012345… alice@sender.example -> x@example.com decision=deliver rule=(no rule) guard=- state=-',
      ]);
    });

    it('shows the guard reasons and SKIPPED when the guard refused, and <> for the null sender', () => {
      const [line] = receiveLines({
        messageId: 'm1',
        sender: '',
        decisions: [{ recipient: 'former@example.com', action: 'bounce', ruleId: 'r', bounce }],
        audit: audit({ state: 'SKIPPED', guard: { allowed: false, reasons: ['null-sender', 'sender-not-authenticated'] } }),
      });
      expect(line).toBe('receive m1 <> -> former@example.com decision=bounce rule=r guard=null-sender+sender-not-authenticated state=SKIPPED');
    });
  });

  describe('issue 15: drops and shadow matches', () => {
    it('shows a drop with its state, and shadow matches with the shadow verdict next to the real decision', () => {
      const lines = receiveLines({
        messageId: 'm1',
        sender: 'alice@sender.example',
        decisions: [
          { recipient: 'trap@example.com', action: 'drop', ruleId: 'trap' },
          {
            recipient: 'x@example.com',
            action: 'default',
            defaultAction: 'deliver',
            shadow: [
              { ruleId: 'try', action: 'bounce' },
              { ruleId: 'trap-2', action: 'drop' },
            ],
          },
          { recipient: 'y@example.com', action: 'default', defaultAction: 'deliver' },
        ],
        audit: audit({ state: 'DROPPED', shadowVerdict: { guard: { allowed: false, reasons: ['spam-verdict'] }, budget: 'not-checked' } }),
      });
      expect(lines).toEqual([
        'receive m1 alice@sender.example -> trap@example.com decision=drop rule=trap guard=- state=DROPPED',
        'receive m1 alice@sender.example -> x@example.com decision=deliver rule=(no rule) guard=- state=DROPPED shadow=try would-bounce guard=spam-verdict shadow=trap-2 would-drop',
        'receive m1 alice@sender.example -> y@example.com decision=deliver rule=(no rule) guard=- state=-',
      ]);
    });

    it('marks stack-wide shadow matches, shows a spent budget, and judges matches on a bounced message by its guard', () => {
      const [shadowLine] = receiveLines({
        messageId: 'm1',
        sender: 'a@b.example',
        decisions: [{ recipient: 'x@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'gone', action: 'bounce', stackWide: true }] }],
        audit: audit({ state: 'SHADOW', shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'spent' } }),
      });
      expect(shadowLine).toBe('receive m1 a@b.example -> x@example.com decision=deliver rule=(no rule) guard=- state=SHADOW shadow=gone would-bounce stack-wide guard=ok budget=spent');
      const [bounceLine] = receiveLines({
        messageId: 'm1',
        sender: 'a@b.example',
        decisions: [{ recipient: 'x@example.com', action: 'bounce', ruleId: 'real', bounce, shadow: [{ ruleId: 'try', action: 'bounce' }] }],
        audit: audit(),
      });
      expect(bounceLine).toBe('receive m1 a@b.example -> x@example.com decision=bounce rule=real guard=ok state=PENDING shadow=try would-bounce guard=ok');
    });
  });

  describe('sendLine', () => {
    it('shows the state, attempts and DSN file of a sent bounce', () => {
      expect(sendLine({ messageId: 'm1', audit: audit({ state: 'SENT', attempts: 1 }), dsnFile: '.local/outbox/x.eml' })).toBe(
        'send    m1 state=SENT attempts=1 dsn=.local/outbox/x.eml',
      );
    });

    it('shows the last error and a dead-lettered job', () => {
      expect(sendLine({ messageId: 'm1', audit: audit({ state: 'PENDING', attempts: 2, lastError: 'Throttling' }), deadLettered: true })).toBe(
        'send    m1 state=PENDING attempts=2 error="Throttling" dead-lettered',
      );
    });
  });
  describe('defect 12: untrusted text never forges a line', () => {
    it('escapes CR, LF, ESC and U+2028 in sender, recipient and rule id, one line per recipient', () => {
      const lines = receiveLines({
        messageId: 'abc\r\nreceive forged',
        sender: 'evil\u001b[2J@sender.example',
        decisions: [
          { recipient: 'x\r\nreceive 000 a@b -> c@d decision=allow@example.com', action: 'bounce', ruleId: 'r\u001b]0;pwned\u0007', bounce },
          { recipient: 'y\u2028@example.com', action: 'default', defaultAction: 'deliver', heldBy: 'bad\nid' },
        ],
        audit: audit({ state: 'PENDING' }),
      });
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/);
      expect(lines[0]).toContain('x\\x0d\\x0areceive 000');
      expect(lines[0]).toContain('evil\\x1b[2J@sender.example');
      expect(lines[0]).toContain('rule=r\\x1b]0;pwned\\x07');
      expect(lines[1]).toContain('y\\u2028@example.com');
      expect(lines[1]).toContain('(bounce held by invalid rule bad\\x0aid)');
    });

    it('escapes control characters in a send line\'s error', () => {
      const line = sendLine({ messageId: 'm1', audit: audit({ state: 'FAILED', lastError: 'bad \u2028 recipient' }) });
      expect(line).not.toMatch(/[\u2028]/);
    });
  });
});
