import type { MessageFacts } from '../../../../lambda/domain/model';
import { messageFacts } from '../../../support/facts';
import { compileRules } from '../../../../lambda/domain/rules/compile';
import { MAX_SHADOW_MATCHES } from '../../../../lambda/domain/model';

const NOW = new Date('2026-06-01T12:00:00Z');

function facts(overrides: Partial<MessageFacts> = {}): MessageFacts {
  return messageFacts({
    receivedAt: NOW.toISOString(),
    sender: 'sender@sender.example',
    recipients: ['alice@example.com'],
    headers: [
      { name: 'From', value: '"Doe, John" <john@sender.example>' },
      { name: 'Subject', value: 'Quarterly invoice' },
    ],
    ...overrides,
  });
}

const bounce = (extra: Record<string, unknown> = {}) => ({ ruleId: 'r', recipients: ['alice@example.com'], action: 'bounce', ...extra });
const decide = (items: unknown[], f: MessageFacts = facts(), now = NOW) => compileRules(items).rules.evaluate(f, now);
const actionsOf = (items: unknown[], f?: MessageFacts) => decide(items, f).map((d) => d.action);

describe('compile', () => {
  describe('compileRules', () => {
    it('skips and reports an invalid item without affecting the valid ones', () => {
      const c = compileRules([bounce({ ruleId: 'good' }), { ruleId: 'bad', recipients: ['alice@example.com'], action: 'bounce', bounceType: 'Nope' }]);
      expect(c.rules.size).toBe(1);
      expect(c.invalid).toEqual([
        { ruleId: 'bad', index: 1, errors: [expect.objectContaining({ ruleId: 'bad', field: 'bounceType' })], covers: [expect.objectContaining({ source: 'alice@example.com' })] },
      ]);
    });

    it('never bounces on an invalid item', () => {
      expect(actionsOf([{ ruleId: 'bad', recipients: ['alice@example.com'], action: 'bounce', status: '9.9.9' }])).toEqual(['default']);
    });

    it('reports a duplicate ruleId, keeps the first item and holds its bounces (the other copy may be an allow)', () => {
      const c = compileRules([bounce({ ruleId: 'x' }), { ...bounce({ ruleId: 'x' }), action: 'allow' }]);
      expect(c.invalid[0].errors[0].reason).toMatch(/duplicate ruleId "x"/);
      expect(c.rules.size).toBe(1);
      expect(c.rules.evaluate(facts(), NOW)[0]).toMatchObject({ action: 'default', heldBy: 'x' });
    });

    it('defect 5: an invalid item holds bounces only for the recipients its readable patterns cover', () => {
      const items = [
        bounce({ ruleId: 'catch-all', recipients: ['*'], priority: 500 }),
        { ruleId: 'broken-allow', recipients: ['*.example.com', 'alice@example.com'], action: 'allow', enabled: 'maybe' },
      ];
      const recipients = ['alice@example.com', 'x@sub.example.com', 'x@example.org'];
      expect(decide(items, facts({ recipients })).map((d) => (d.action === 'default' ? `held by ${d.heldBy}` : d.action))).toEqual([
        'held by broken-allow',
        'held by broken-allow',
        'bounce',
      ]);
    });

    it('defect 5: reads enabled "true"/"FALSE" as typed in the console, and refuses other words', () => {
      expect(actionsOf([bounce({ enabled: ' TRUE ' })])).toEqual(['bounce']);
      expect(compileRules([bounce({ enabled: 'false' })]).disabled).toBe(1);
      expect(compileRules([bounce({ enabled: 'yes' })]).invalid[0].errors[0]).toMatchObject({ field: 'enabled' });
    });

    it('leaves disabled rules out of the index and counts them', () => {
      const c = compileRules([bounce({ enabled: false })]);
      expect(c.rules.size).toBe(0);
      expect(c.disabled).toBe(1);
      expect(c.rules.evaluate(facts(), NOW)[0].action).toBe('default');
    });

    it('compiles and evaluates 100,000 per-address rules correctly', () => {
      const items = Array.from({ length: 100_000 }, (_, i) => ({ ruleId: `r${i}`, recipients: [`user${i}@example.com`], action: 'bounce', priority: i % 3 }));
      items.push({ ruleId: 'catch-domain', recipients: ['retired.example'], action: 'bounce', priority: 500 });
      const { rules, invalid } = compileRules(items);
      expect(invalid).toHaveLength(0);
      expect(rules.size).toBe(100_001);
      const out = rules.evaluate(facts({ recipients: ['user99999@example.com', 'USER42+x@example.com', 'nobody@example.com', 'x@retired.example'] }), NOW);
      expect(out.map((d) => ('ruleId' in d ? d.ruleId : d.action))).toEqual(['r99999', 'r42', 'default', 'catch-domain']);
    });
  });

  describe('evaluate', () => {
    it('bounces with the defaults of DoesNotExist when a bounce rule matches', () => {
      expect(decide([bounce()])).toEqual([
        { recipient: 'alice@example.com', action: 'bounce', ruleId: 'r', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } },
      ]);
    });

    it('returns the default deliver decision when no rule matches the recipient', () => {
      expect(decide([bounce()], facts({ recipients: ['bob@example.com'] }))).toEqual([
        { recipient: 'bob@example.com', action: 'default', defaultAction: 'deliver' },
      ]);
    });

    it('decides each recipient separately, in the order of the envelope', () => {
      expect(actionsOf([bounce()], facts({ recipients: ['bob@example.com', 'alice@example.com'] }))).toEqual(['default', 'bounce']);
    });

    it('lets the lower priority number decide first', () => {
      const out = decide([bounce({ ruleId: 'b', priority: 5 }), { ruleId: 'a', recipients: ['example.com'], action: 'allow', priority: 1 }]);
      expect(out[0]).toMatchObject({ action: 'allow', ruleId: 'a' });
    });

    it('breaks priority ties by ruleId', () => {
      const out = decide([bounce({ ruleId: 'zeta' }), { ruleId: 'alpha', recipients: ['alice@example.com'], action: 'allow' }]);
      expect(out[0]).toMatchObject({ ruleId: 'alpha' });
    });

    it('merges exact, domain and wildcard candidates into one priority order', () => {
      const out = decide([
        { ruleId: 'exact', recipients: ['alice@example.com'], action: 'bounce', priority: 30 },
        { ruleId: 'domain', recipients: ['example.com'], action: 'bounce', priority: 20 },
        { ruleId: 'wild', recipients: ['a*@*.com'], action: 'bounce', priority: 10 },
      ]);
      expect(out[0]).toMatchObject({ ruleId: 'wild' });
    });

    it('skips a rule before its activeFrom and from its activeUntil on', () => {
      const items = [bounce({ activeFrom: '2026-06-01T12:00:00Z', activeUntil: '2026-06-02' })];
      expect(decide(items, facts(), new Date('2026-06-01T11:59:59Z'))[0].action).toBe('default');
      expect(decide(items, facts(), NOW)[0].action).toBe('bounce');
      expect(decide(items, facts(), new Date('2026-06-02T00:00:00Z'))[0].action).toBe('default');
    });

    it('derives status 4.0.0 and DSN action delayed from TemporaryFailure', () => {
      expect(decide([bounce({ bounceType: 'TemporaryFailure' })])[0]).toMatchObject({ bounce: { status: '4.0.0', action: 'delayed' } });
    });

    it('requires every condition to hold', () => {
      expect(actionsOf([bounce({ senders: ['sender.example'], subject: '*nothing*' })])).toEqual(['default']);
      expect(actionsOf([bounce({ senders: ['sender.example'], subject: '*invoice*' })])).toEqual(['bounce']);
    });

    it('matches the envelope sender, not the From header, with senders', () => {
      expect(actionsOf([bounce({ senders: ['john@sender.example'] })])).toEqual(['default']);
      expect(actionsOf([bounce({ fromHeader: ['john@sender.example'] })])).toEqual(['bounce']);
    });

    it('matches header names case-insensitively and any of several headers of a name', () => {
      const f = facts({ headers: [{ name: 'x-tag', value: 'one' }, { name: 'X-Tag', value: 'two' }] });
      expect(actionsOf([bounce({ headers: { 'X-TAG': 'two' } })], f)).toEqual(['bounce']);
    });

    it('does not match a header pattern when the header is absent', () => {
      expect(actionsOf([bounce({ headers: { 'List-Id': '*' } })])).toEqual(['default']);
    });

    it('matches the decoded text of an RFC 2047 encoded subject', () => {
      const f = facts({ headers: [{ name: 'Subject', value: '=?UTF-8?B?UmVjaG51bmcgZsO8cg==?= Mai' }] });
      expect(actionsOf([bounce({ subject: 'rechnung für*' })], f)).toEqual(['bounce']);
    });

    it('matches accepted verdict statuses', () => {
      expect(actionsOf([bounce({ verdicts: { dkim: ['FAIL', 'GRAY'] } })])).toEqual(['default']);
      expect(actionsOf([bounce({ verdicts: { dkim: ['pass'] } })])).toEqual(['bounce']);
    });

    it('matches size bounds inclusively', () => {
      expect(actionsOf([bounce({ minSizeBytes: 100, maxSizeBytes: 200 })], facts({ sizeBytes: 200 }))).toEqual(['bounce']);
      expect(actionsOf([bounce({ minSizeBytes: 100 })], facts({ sizeBytes: 99 }))).toEqual(['default']);
    });

    it('matches attachment names and types', () => {
      const f = facts({ attachments: [{ filename: 'Setup.EXE', contentType: 'application/octet-stream', sizeBytes: 10 }] });
      expect(actionsOf([bounce({ attachmentNames: ['*.exe'] })], f)).toEqual(['bounce']);
      expect(actionsOf([bounce({ attachmentTypes: ['application/pdf'] })], f)).toEqual(['default']);
    });

    it('does not bounce on a size condition when the size was not read', () => {
      expect(actionsOf([bounce({ minSizeBytes: 0 })], facts({ sizeBytes: undefined }))).toEqual(['default']);
    });

    it('does not bounce on an attachment condition when the body was not parsed', () => {
      expect(actionsOf([bounce({ attachmentNames: ['*'] })], facts({ attachments: undefined }))).toEqual(['default']);
    });

    it('stops at an allow rule that cannot be decided, so a later bounce rule cannot fire on missing data', () => {
      const items = [
        { ruleId: 'a-allow-big', recipients: ['alice@example.com'], action: 'allow', minSizeBytes: 1, priority: 1 },
        bounce({ ruleId: 'b-bounce', priority: 2 }),
      ];
      expect(actionsOf(items, facts({ sizeBytes: undefined }))).toEqual(['default']);
      expect(actionsOf(items, facts({ sizeBytes: 0 }))).toEqual(['bounce']);
    });

    it('still bounces on a header found in a truncated block, and not on one missing from it', () => {
      const partial = facts({ headersComplete: false });
      expect(actionsOf([bounce({ subject: '*invoice*' })], partial)).toEqual(['bounce']);
      expect(actionsOf([bounce({ headers: { 'X-Late': '*' } })], partial)).toEqual(['default']);
    });
  });

  describe('issue 15: shadow rules and the drop action', () => {
    const shadow = (ruleId: string, extra: Record<string, unknown> = {}) => bounce({ ruleId, mode: 'shadow', ...extra });

    it('passes over a matching shadow rule and records it on the decision of the rule that decides', () => {
      const out = decide([shadow('try', { priority: 1 }), bounce({ ruleId: 'real', priority: 2, bounceType: 'ContentRejected' })]);
      expect(out).toEqual([
        { recipient: 'alice@example.com', action: 'bounce', ruleId: 'real', bounce: expect.objectContaining({ status: '5.7.1' }), shadow: [{ ruleId: 'try', action: 'bounce' }] },
      ]);
    });

    it('leaves the default decision when only a shadow rule matches, with what it would have done', () => {
      expect(decide([shadow('try'), { ...shadow('trap', { recipients: ['example.com'] }), action: 'drop' }])).toEqual([
        {
          recipient: 'alice@example.com',
          action: 'default',
          defaultAction: 'deliver',
          shadow: [
            { ruleId: 'trap', action: 'drop' },
            { ruleId: 'try', action: 'bounce' },
          ],
        },
      ]);
    });

    it('does not record a shadow rule behind the rule that decides: it could never have decided', () => {
      const out = decide([{ ...bounce({ ruleId: 'keep', priority: 1 }), action: 'allow' }, shadow('later', { priority: 2 })]);
      expect(out).toEqual([{ recipient: 'alice@example.com', action: 'allow', ruleId: 'keep' }]);
    });

    it('does not record a shadow rule whose conditions do not hold, or cannot be decided', () => {
      const out = decide([shadow('other-subject', { subject: 'hello*' }), shadow('size', { maxSizeBytes: 10 })]);
      expect(out).toEqual([{ recipient: 'alice@example.com', action: 'default', defaultAction: 'deliver' }]);
    });

    it(`records at most ${MAX_SHADOW_MATCHES} shadow matches, the first in priority order`, () => {
      const items = Array.from({ length: MAX_SHADOW_MATCHES + 3 }, (_, i) => shadow(`s${i}`, { priority: i }));
      const [d] = decide(items);
      expect(d.shadow?.map((m) => m.ruleId)).toEqual(Array.from({ length: MAX_SHADOW_MATCHES }, (_, i) => `s${i}`));
    });

    it('drops the recipient with a drop rule: no bounce spec', () => {
      expect(decide([{ ...bounce({ ruleId: 'trap' }), action: 'drop' }])).toEqual([{ recipient: 'alice@example.com', action: 'drop', ruleId: 'trap' }]);
    });

    it('holds a drop like a bounce while an invalid item could cover the recipient (a drop is a rejection too)', () => {
      const items = [{ ...bounce({ ruleId: 'trap' }), action: 'drop' }, { ruleId: 'broken', recipients: ['alice@example.com'], action: 'allow', enabled: 'maybe' }];
      expect(decide(items)).toEqual([{ recipient: 'alice@example.com', action: 'default', defaultAction: 'deliver', heldBy: 'broken' }]);
    });

    it('holds bounces for recipients an invalid shadow allow rule covers', () => {
      const items = [bounce({ ruleId: 'real', priority: 5 }), { ...bounce({ ruleId: 'exempt', priority: 1 }), action: 'allow', mode: 'shadow' }];
      expect(decide(items)).toEqual([{ recipient: 'alice@example.com', action: 'default', defaultAction: 'deliver', heldBy: 'exempt' }]);
    });

    it('leaves shadow rules out of the needs when asked for what the enforced rules need', () => {
      const rules = compileRules([shadow('on-body', { attachmentNames: ['*.exe'] }), bounce({ ruleId: 'on-size', maxSizeBytes: 10 })]).rules;
      expect(rules.needsFor(['alice@example.com'])).toEqual({ headers: false, size: true, body: true });
      expect(rules.needsFor(['alice@example.com'], { enforcedOnly: true })).toEqual({ headers: false, size: true, body: false });
    });

    it('needs what a rule behind an unconditional shadow rule needs: evaluation goes on past it', () => {
      const rules = compileRules([shadow('plain', { priority: 1 }), bounce({ ruleId: 'on-size', priority: 2, maxSizeBytes: 10 })]).rules;
      expect(rules.needsFor(['alice@example.com'])).toEqual({ headers: false, size: true, body: false });
    });
  });

  describe('needsFor', () => {
    const rules = compileRules([
      { ruleId: 'h', recipients: ['alice@example.com'], action: 'bounce', subject: '*x*' },
      { ruleId: 's', recipients: ['example.com'], action: 'bounce', maxSizeBytes: 10 },
      { ruleId: 'b', recipients: ['bob@example.org'], action: 'bounce', attachmentTypes: ['*'] },
      { ruleId: 'plain', recipients: ['carol@example.net'], action: 'bounce', priority: 1 },
      { ruleId: 'after-plain', recipients: ['example.net'], action: 'bounce', attachmentNames: ['*'], priority: 2 },
    ]).rules;

    it('needs nothing for recipients no rule covers', () => {
      expect(rules.needsFor(['nobody@nowhere.example'])).toEqual({ headers: false, size: false, body: false });
    });

    it('unions the needs of every candidate rule', () => {
      expect(rules.needsFor(['alice@example.com'])).toEqual({ headers: true, size: true, body: false });
      expect(rules.needsFor(['bob@example.org', 'zed@example.com'])).toEqual({ headers: false, size: true, body: true });
    });

    it('ignores candidates behind a rule that matches on the recipient alone', () => {
      expect(rules.needsFor(['carol@example.net'])).toEqual({ headers: false, size: false, body: false });
    });
  });
});
