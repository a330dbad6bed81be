import fc from 'fast-check';
import { MAX_SHADOW_MATCHES, type MessageFacts, type RecipientDecision } from '../../../../lambda/domain/model';
import { compileRules } from '../../../../lambda/domain/rules/compile';
import { shadowAll } from '../../../../lambda/domain/rules/shadow';
import { messageFacts } from '../../../support/facts';

const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;

// A small vocabulary, so that random rules and messages meet often.
const ADDRESSES = ['alice@example.com', 'bob+news@example.com', 'carol@sub.example.com', 'dave@example.org', 'ALICE@Example.com'];
const RECIPIENT_PATTERNS = ['alice@example.com', 'example.com', '*.example.com', '*@example.org', 'a*@*', '*', 'bob@example.com'];
const SENDERS = ['spam@bad.example', 'friend@good.example', 'prvs=144d0cba7=spam@bad.example'];
const SUBJECTS = ['Quarterly invoice', 'hello there', ''];

interface Item {
  readonly ruleId: string;
  readonly [field: string]: unknown;
}

/** One rule item's conditions and what it does; every field optional, as in the table. */
const conditionsArb = fc.record(
  {
    recipients: fc.subarray(RECIPIENT_PATTERNS, { minLength: 1, maxLength: 2 }),
    priority: fc.integer({ min: 0, max: 4 }),
    senders: fc.subarray(['bad.example', 'friend@good.example'], { minLength: 1 }),
    subject: fc.constantFrom(['*invoice*'], ['hello*'], ['*']),
    headers: fc.constant({ 'X-Spam-Flag': 'YES' }),
    maxSizeBytes: fc.constantFrom(100, 10_000),
    verdicts: fc.constantFrom({ spf: ['PASS'] }, { spam: ['FAIL'] }),
    activeFrom: fc.constantFrom(new Date(NOW.getTime() - HOUR).toISOString(), new Date(NOW.getTime() + HOUR).toISOString()),
    enabled: fc.boolean(),
  },
  { requiredKeys: ['recipients', 'priority'] },
);

/** Valid rules of every kind, sometimes an invalid item (it holds bounces and drops). */
const itemArb = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(conditionsArb, fc.constantFrom('bounce', 'allow', 'drop'), fc.constantFrom('enforce', 'shadow', undefined)) },
  { weight: 1, arbitrary: fc.tuple(conditionsArb, fc.constant('allow'), fc.constant('broken')) },
).map(([conditions, action, mode]) => {
  if (mode === 'broken') return { ...conditions, action, enabled: 'maybe' };
  // A shadow allow rule is invalid (it holds bounces): keep the valid ones here.
  return { ...conditions, action, ...(mode !== undefined && !(action === 'allow' && mode === 'shadow') ? { mode } : {}) };
});

const rulesArb = fc.array(itemArb, { maxLength: 8 }).map((items) => items.map((item, i): Item => ({ ruleId: `r${i}`, ...item })));

/** The added shadow rule; its id sorts before, among or after the others at equal priority. */
const shadowArb = fc
  .tuple(conditionsArb, fc.constantFrom('bounce', 'drop'), fc.constantFrom('a-shadow', 'r3-shadow', 'zz-shadow'))
  .map(([conditions, action, ruleId]): Item => ({ ...conditions, enabled: true, ruleId, action, mode: 'shadow' }));

const factsArb = fc
  .record({
    recipients: fc.subarray(ADDRESSES, { minLength: 1 }),
    sender: fc.constantFrom(...SENDERS),
    subject: fc.constantFrom(...SUBJECTS),
    spamFlag: fc.boolean(),
    // Unread size and a cut header block make conditions unknown.
    sizeBytes: fc.constantFrom(50, 5_000, undefined),
    headersComplete: fc.boolean(),
    spf: fc.constantFrom('PASS', 'FAIL'),
  })
  .map(
    (m): MessageFacts =>
      messageFacts({
        receivedAt: NOW.toISOString(),
        recipients: m.recipients,
        sender: m.sender,
        headers: [{ name: 'Subject', value: m.subject }, ...(m.spamFlag ? [{ name: 'X-Spam-Flag', value: 'YES' }] : [])],
        headersComplete: m.headersComplete,
        ...(m.sizeBytes !== undefined ? { sizeBytes: m.sizeBytes } : {}),
        verdicts: { spam: 'PASS', virus: 'PASS', spf: m.spf as 'PASS' | 'FAIL', dkim: 'PASS', dmarc: 'PASS' },
      }),
  );

const evaluate = (items: readonly Item[], facts: MessageFacts) => compileRules(items).rules.evaluate(facts, NOW);

/** The real decision: what it does, by which rule, held by which item; shadow matches removed. */
const real = ({ shadow: _shadow, ...decision }: RecipientDecision) => decision;

/** Evaluation order: (priority, ruleId by code unit). */
const before = (a: Item, b: Item) => {
  const pa = Number(a.priority ?? 100);
  const pb = Number(b.priority ?? 100);
  return pa < pb || (pa === pb && a.ruleId < b.ruleId);
};

describe('shadow rules', () => {
  describe('evaluate', () => {
    it('adding any shadow rule leaves every real decision unchanged', () => {
      fc.assert(
        fc.property(rulesArb, shadowArb, factsArb, (items, shadowRule, facts) => {
          const without = evaluate(items, facts).map(real);
          const withShadow = evaluate([...items, shadowRule], facts).map(real);
          expect(withShadow).toEqual(without);
        }),
        { numRuns: 1000 },
      );
    });

    it('records the added shadow rule only when it matches and precedes the rule that decides', () => {
      fc.assert(
        fc.property(rulesArb, shadowArb, factsArb, (items, shadowRule, facts) => {
          const decisions = evaluate([...items, shadowRule], facts);
          // The same rule enforced, alone: does it match this recipient at all (unknown is no match)?
          const alone = evaluate([{ ...shadowRule, mode: 'enforce' }], facts);
          decisions.forEach((d, i) => {
            const recorded = (d.shadow ?? []).some((m) => m.ruleId === shadowRule.ruleId);
            const matches = alone[i].action === shadowRule.action;
            const decider = d.action === 'default' ? undefined : items.find((item) => item.ruleId === d.ruleId);
            const precedes = decider === undefined || before(shadowRule, decider);
            if (recorded) {
              expect(matches).toBe(true);
              expect(precedes).toBe(true);
              expect(d.shadow?.find((m) => m.ruleId === shadowRule.ruleId)).toEqual({ ruleId: shadowRule.ruleId, action: shadowRule.action });
            }
            // The converse where nothing cut evaluation short: complete data (no unknown allow
            // rule ends it early), a rule that decided or none at all (not a held bounce), room in the list.
            const complete = facts.headersComplete && facts.sizeBytes !== undefined;
            const full = (d.shadow ?? []).length >= MAX_SHADOW_MATCHES;
            const held = d.action === 'default' && d.heldBy !== undefined;
            if (complete && !held && !full && matches && precedes) expect(recorded).toBe(true);
          });
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('shadowAll', () => {
    it('turns bounces and drops into the default with the decision as a stack-wide shadow match, after the shadow rules', () => {
      const recipients = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'];
      const items = [
        { ruleId: 'try', recipients: ['alice@example.com'], action: 'bounce', mode: 'shadow', priority: 1 },
        { ruleId: 'real', recipients: ['alice@example.com'], action: 'bounce', priority: 2 },
        { ruleId: 'trap', recipients: ['bob@example.com'], action: 'drop' },
        { ruleId: 'keep', recipients: ['carol@example.com'], action: 'allow' },
      ];
      expect(shadowAll(evaluate(items as Item[], messageFacts({ recipients })))).toEqual([
        {
          recipient: 'alice@example.com',
          action: 'default',
          defaultAction: 'deliver',
          shadow: [
            { ruleId: 'try', action: 'bounce' },
            { ruleId: 'real', action: 'bounce', stackWide: true },
          ],
        },
        { recipient: 'bob@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'trap', action: 'drop', stackWide: true }] },
        { recipient: 'carol@example.com', action: 'allow', ruleId: 'keep' },
        { recipient: 'dave@example.com', action: 'default', defaultAction: 'deliver' },
      ]);
    });

    it('leaves nothing bounced or dropped, and records every real bounce and drop as the last, stack-wide match', () => {
      fc.assert(
        fc.property(rulesArb, factsArb, (items, facts) => {
          const enforced = evaluate(items, facts);
          const shadowed = shadowAll(enforced);
          shadowed.forEach((d, i) => {
            const e = enforced[i];
            expect(d.action === 'bounce' || d.action === 'drop').toBe(false);
            if (e.action === 'bounce' || e.action === 'drop') {
              expect(d).toMatchObject({ action: 'default', defaultAction: 'deliver' });
              expect(d.shadow?.at(-1)).toEqual({ ruleId: e.ruleId, action: e.action, stackWide: true });
              expect(d.shadow?.slice(0, -1)).toEqual(e.shadow ?? []);
            } else {
              expect(d).toBe(e);
            }
          });
        }),
        { numRuns: 500 },
      );
    });
  });
});
