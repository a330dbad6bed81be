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
});
