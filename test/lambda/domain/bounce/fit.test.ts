import { fitBounces, MAX_JOB_BYTES } from '../../../../lambda/domain/bounce/fit';
import type { BounceSpec, RecipientDecision } from '../../../../lambda/domain/model';

const spec = (text = 'x'): BounceSpec => ({ bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', diagnosticCode: `smtp; 550 ${text}`, explanation: text });
const bounce = (recipient: string, ruleId = 'r1', s = spec()): RecipientDecision => ({ recipient, action: 'bounce', ruleId, bounce: s });
const deliver = (recipient: string): RecipientDecision => ({ recipient, action: 'default', defaultAction: 'deliver' });

describe('fit', () => {
  describe('fitBounces', () => {
    it('keeps every decision of an ordinary message', () => {
      const decisions = [bounce('a@x.example'), deliver('b@x.example'), bounce('c@x.example', 'r2')];
      const fitted = fitBounces(decisions);
      expect(fitted.bounced.map((b) => b.recipient)).toEqual(['a@x.example', 'c@x.example']);
      expect(fitted.unbounced).toEqual([]);
      expect(fitted.decisions).toHaveLength(3);
      expect(fitted.omittedDecisions).toBe(0);
    });

    it('bounces a prefix of the recipients when the job budget runs out, and never a recipient after a left-out one', () => {
      const decisions = Array.from({ length: 50 }, (_, i) => bounce(`user${i}@x.example`));
      const fitted = fitBounces(decisions, { jobBytes: 2_000 });
      expect(fitted.bounced.length).toBeGreaterThan(0);
      expect(fitted.bounced.length + fitted.unbounced.length).toBe(50);
      expect(fitted.bounced.map((b) => b.recipient)).toEqual(decisions.slice(0, fitted.bounced.length).map((d) => d.recipient));
      expect(fitted.decisions.every((d) => d.action === 'bounce')).toBe(true);
      expect(fitted.omittedDecisions).toBe(fitted.unbounced.length);
    });

    it('counts a rule text once however many recipients share the rule', () => {
      const long = spec('t'.repeat(2000));
      const one = fitBounces([bounce('a@x.example', 'r1', long)], { requestBytes: Number.MAX_SAFE_INTEGER });
      const many = fitBounces(Array.from({ length: 40 }, (_, i) => bounce(`u${i}@x.example`, 'r1', long)), { jobBytes: 10_000, requestBytes: Number.MAX_SAFE_INTEGER });
      expect(one.bounced).toHaveLength(1);
      // 40 copies of 4 KB would be 160 KB; one copy plus 40 addresses fits in 10 KB.
      expect(many.bounced).toHaveLength(40);
    });

    it('cuts by the SendBounce request, where DSN fields repeat per recipient', () => {
      const long = spec('t'.repeat(2000));
      const fitted = fitBounces(Array.from({ length: 2000 }, (_, i) => bounce(`u${i}@x.example`, 'r1', long)));
      expect(fitted.bounced.length).toBeLessThan(600);
      expect(fitted.bounced.length).toBeGreaterThan(300);
    });

    it('leaves non-bounce decisions out of the audit before any bounced one', () => {
      const decisions = [...Array.from({ length: 30 }, (_, i) => deliver(`d${i}@x.example`)), bounce('last@x.example')];
      const fitted = fitBounces(decisions, { auditBytes: 1_500, jobBytes: MAX_JOB_BYTES });
      expect(fitted.bounced.map((b) => b.recipient)).toEqual(['last@x.example']);
      expect(fitted.decisions[0]).toMatchObject({ recipient: 'last@x.example', action: 'bounce' });
      expect(fitted.omittedDecisions).toBeGreaterThan(0);
      expect(fitted.decisions.length + fitted.omittedDecisions).toBe(31);
    });
  });
});
