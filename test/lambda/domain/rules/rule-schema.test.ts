import { parseRule, type RuleParseResult } from '../../../../lambda/domain/rules/rule-schema';

const base = { ruleId: 'r1', recipients: ['alice@example.com'], action: 'bounce' };
const ok = (r: RuleParseResult) => {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
};
const errorsOf = (item: unknown) => {
  const r = parseRule(item);
  if (r.ok) throw new Error('expected the item to be invalid');
  return r.errors;
};

describe('rule-schema', () => {
  describe('parseRule', () => {
    it('applies the defaults: enabled, priority 100, DoesNotExist 5.1.1 failed', () => {
      const { rule } = ok(parseRule(base));
      expect(rule).toMatchObject({ enabled: true, priority: 100, bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } });
    });

    it.each([
      ['MessageTooLarge', '5.3.4', 'failed'],
      ['ExceededQuota', '5.2.2', 'failed'],
      ['ContentRejected', '5.7.1', 'failed'],
      ['TemporaryFailure', '4.0.0', 'delayed'],
      ['Undefined', '5.0.0', 'failed'],
    ])('derives the status of %s', (bounceType, status, action) => {
      expect(ok(parseRule({ ...base, bounceType })).rule.bounce).toMatchObject({ bounceType, status, action });
    });

    it('derives the DSN action from an explicit 4.x.x status', () => {
      expect(ok(parseRule({ ...base, status: '4.2.2' })).rule.bounce).toMatchObject({ status: '4.2.2', action: 'delayed' });
    });

    it('accepts what unmarshall produces: string sets, numbers and NULL', () => {
      const r = ok(parseRule({ ...base, recipients: new Set(['a@example.com', 'example.org']), priority: 7, subject: null }));
      expect(r.rule.recipients).toHaveLength(2);
      expect(r.rule.priority).toBe(7);
      expect(r.rule.subject).toBeUndefined();
    });

    it('accepts a single string where a list is expected', () => {
      expect(ok(parseRule({ ...base, recipients: 'example.org' })).rule.recipients[0].kind).toBe('domain');
    });

    it('refuses an item without recipients, naming the field', () => {
      expect(errorsOf({ ruleId: 'r1', action: 'bounce' })).toEqual([{ ruleId: 'r1', field: 'recipients', reason: expect.stringMatching(/is required/) }]);
    });

    it('refuses a missing action', () => {
      expect(errorsOf({ ruleId: 'r1', recipients: ['a@example.com'] })[0]).toMatchObject({ field: 'action' });
    });

    it('refuses an unknown bounceType', () => {
      expect(errorsOf({ ...base, bounceType: 'Gone' })[0]).toMatchObject({ field: 'bounceType', reason: expect.stringMatching(/DoesNotExist/) });
    });

    it('refuses a malformed or 2.x.x status', () => {
      expect(errorsOf({ ...base, status: '5.1' })[0]).toMatchObject({ field: 'status' });
      expect(errorsOf({ ...base, status: '2.0.0' })[0]).toMatchObject({ field: 'status', reason: expect.stringMatching(/success/) });
    });

    it('refuses a bad pattern, naming its position in the list', () => {
      expect(errorsOf({ ...base, recipients: ['a@example.com', 'bob'] })[0]).toMatchObject({ field: 'recipients.1' });
    });

    it('refuses CR or LF in the diagnostic code', () => {
      expect(errorsOf({ ...base, diagnosticCode: 'smtp; 550\r\nInjected: yes' })[0]).toMatchObject({ field: 'diagnosticCode' });
    });

    it('refuses a diagnostic code longer than 2048 characters', () => {
      expect(errorsOf({ ...base, diagnosticCode: 'x'.repeat(2049) })[0]).toMatchObject({ field: 'diagnosticCode' });
    });

    it('refuses an activeUntil that is not after activeFrom', () => {
      expect(errorsOf({ ...base, activeFrom: '2026-02-01', activeUntil: '2026-01-01' })[0]).toMatchObject({ field: 'activeUntil' });
    });

    it('refuses a time without a zone', () => {
      expect(errorsOf({ ...base, activeFrom: '2026-02-01T10:00:00' })[0]).toMatchObject({ field: 'activeFrom' });
    });

    it('refuses an unknown verdict name and status', () => {
      const fields = errorsOf({ ...base, verdicts: { spf: ['PASS', 'OK'], arc: ['PASS'] } }).map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['verdicts.spf.1', 'verdicts.arc']));
    });

    it('refuses a misspelt condition rather than ignore it and match too much', () => {
      expect(errorsOf({ ...base, sender: 'x@example.com' })[0]).toMatchObject({ field: 'sender', reason: expect.stringMatching(/did you mean "senders"/) });
    });

    it('refuses an unrelated extra attribute too, pointing to notes', () => {
      expect(errorsOf({ ...base, owner: 'it-team' })).toEqual([{ ruleId: 'r1', field: 'owner', reason: expect.stringMatching(/notes for people go in "notes"/) }]);
    });

    it('warns about bounce fields on an allow rule', () => {
      const r = ok(parseRule({ ...base, action: 'allow', status: '5.1.1' }));
      expect(r.rule.bounce).toBeUndefined();
      expect(r.warnings[0]).toMatchObject({ field: 'status' });
    });

    it('refuses an item that is not a map', () => {
      expect(errorsOf('ruleId')).toEqual([{ field: '(item)', reason: expect.any(String) }]);
    });
  });
  describe('issue 15: mode and the drop action', () => {
    it('defaults mode to enforce', () => {
      expect(ok(parseRule(base)).rule.mode).toBe('enforce');
    });

    it('reads mode and action in any case, on the fast path and through the schema alike', () => {
      // A verdicts map sends the item through the schema; without one it takes the fast path.
      for (const extra of [{}, { verdicts: { spf: 'PASS' } }]) {
        expect(ok(parseRule({ ...base, ...extra, mode: 'Shadow' })).rule).toMatchObject({ mode: 'shadow', action: 'bounce' });
        expect(ok(parseRule({ ...base, ...extra, action: 'DROP', mode: 'shadow' })).rule).toMatchObject({ mode: 'shadow', action: 'drop' });
        expect(ok(parseRule({ ...base, ...extra, mode: null })).rule.mode).toBe('enforce');
      }
    });

    it('accepts a drop rule: no bounce spec, and bounce fields on it are ignored with a warning', () => {
      const r = ok(parseRule({ ...base, action: 'drop', bounceType: 'ContentRejected' }));
      expect(r.rule.action).toBe('drop');
      expect(r.rule.bounce).toBeUndefined();
      expect(r.warnings).toEqual([expect.objectContaining({ field: 'bounceType', reason: expect.stringMatching(/ignored on a drop rule/) })]);
    });

    it('refuses an unknown mode and names the accepted ones', () => {
      expect(errorsOf({ ...base, mode: 'dry-run' })).toEqual([{ ruleId: 'r1', field: 'mode', reason: 'must be "enforce" or "shadow" (got "dry-run")' }]);
      expect(errorsOf({ ...base, mode: true })[0]).toMatchObject({ field: 'mode' });
    });

    it('names drop among the accepted actions', () => {
      expect(errorsOf({ ...base, action: 'reject' })).toEqual([{ ruleId: 'r1', field: 'action', reason: 'must be "bounce", "allow" or "drop" (got "reject")' }]);
    });

    it('refuses mode shadow on an allow rule, so the item holds bounces rather than silently doing nothing', () => {
      const r = parseRule({ ...base, action: 'allow', mode: 'shadow' });
      expect(r).toMatchObject({ ok: false, errors: [{ field: 'mode', reason: expect.stringMatching(/bounce and drop rules/) }] });
      expect(r.ok === false && r.covers?.map((p) => p.source)).toEqual(['alice@example.com']);
    });

    it('points a "shadow" attribute at mode', () => {
      expect(errorsOf({ ...base, shadow: true })[0].reason).toMatch(/did you mean "mode" \(write "mode": "shadow"\)/);
    });
  });

  describe('defect 6: unknown attributes are refused, notes are not', () => {
    const base = { ruleId: 'r', recipients: ['former@example.com'], action: 'bounce' };

    it.each([['disabled', true], ['until', '2026-01-01'], ['expires', '2026-01-01'], ['endDate', '2026-01-01'], ['minSize', 5], ['maxSize', 5], ['from', 'x@example.org'], ['to', 'y@example.com'], ['attachments', '*.exe'], ['fromAddress', 'x@example.org'], ['owner', 'ops'], ['x-priority', 1]])(
      'refuses %s, naming the attribute',
      (name, value) => {
        const r = parseRule({ ...base, [name]: value });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors).toEqual([expect.objectContaining({ field: name, reason: expect.stringMatching(/^unknown attribute /) })]);
      },
    );

    it('accepts notes of any type and never evaluates them', () => {
      for (const notes of ['ticket OPS-1', { owner: 'ops' }, ['a', 'b'], 42]) {
        expect(parseRule({ ...base, notes })).toMatchObject({ ok: true, warnings: [] });
      }
    });
  });
  describe('defect 12: control characters are refused in text that reaches terminals, logs and DSNs', () => {
    const base = { ruleId: 'r', recipients: ['former@example.com'], action: 'bounce' };
    const controls: [string, string][] = [['ESC', '\u001b[2J'], ['CR', '\r'], ['LF', '\n'], ['NUL', '\u0000'], ['VT', '\u000b'], ['FF', '\u000c'], ['DEL', '\u007f'], ['U+2028', '\u2028'], ['U+2029', '\u2029'], ['RLO', '\u202e']];

    it.each(controls)('refuses %s in ruleId, diagnosticCode, explanation and description', (_name, c) => {
      for (const field of ['ruleId', 'diagnosticCode', 'explanation', 'description']) {
        const r = parseRule({ ...base, [field]: `a${c}b` });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors).toEqual([expect.objectContaining({ field, reason: expect.stringMatching(/control characters/) })]);
      }
    });

    it('still accepts ordinary text, non-ASCII letters included', () => {
      expect(parseRule({ ...base, ruleId: 'café-règle', explanation: 'Jürgen a quitté la société — écrivez à info@example.com.' })).toMatchObject({ ok: true });
    });
  });
});
