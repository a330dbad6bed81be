import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import type { MessageFacts } from '../../../../lambda/domain/model';
import { compileRules, type Rule } from '../../../../lambda/domain/rules';
import { Glob } from '../../../../lambda/domain/rules/pattern';
import {
  KNOWN_RULE_FIELDS,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotFormatError,
  decodeSnapshot,
  encodeSnapshot,
  readSnapshot,
} from '../../../../lambda/domain/rules/snapshot';
import { messageFacts } from '../../../support/facts';

/** Times built from the clock, so the suite holds on any date. */
const NOW = new Date(Date.now());
const DAY = 86_400_000;
const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

/** The compile step's output for these items, as a snapshot. */
const snapshotOf = (items: readonly unknown[]) => {
  const c = compileRules(items);
  return encodeSnapshot({ rules: c.valid, invalid: c.invalid, disabled: c.disabled });
};

/** The document inside a snapshot, for tests that tamper with it. */
const documentOf = (bytes: Uint8Array) => JSON.parse(gunzipSync(bytes).toString('utf8')) as Record<string, unknown> & { columns: { field: string; codec: string; values: unknown[]; shared?: unknown[] }[] };
const bytesOf = (doc: unknown) => gzipSync(Buffer.from(JSON.stringify(doc)));

/** Every decision and every needsFor answer, for comparing two compiled rule sets. */
function verdicts(rules: ReturnType<typeof compileRules>['rules'], facts: readonly MessageFacts[]) {
  return facts.map((f) => ({ decisions: rules.evaluate(f, NOW), needs: rules.needsFor(f.recipients) }));
}

const RECIPIENTS = [
  'alice@example.com',
  'Alice+tag@Example.com',
  'bob@example.com',
  'carol@sub.example.com',
  'dave@deep.sub.example.com',
  'prvs=1234abcd=alice@example.com',
  'noreply-7@x.wild.example',
  'eve@other.example',
  '"mailer"@example.com',
  'nobody',
  'zed@example.com.',
];

const facts = (recipients: readonly string[], overrides: Partial<MessageFacts> = {}) =>
  messageFacts({
    receivedAt: NOW.toISOString(),
    recipients,
    sender: 'sender@sender.example',
    headers: [
      { name: 'From', value: '"Doe" <john@sender.example>' },
      { name: 'Subject', value: 'You won the LOTTERY' },
      { name: 'X-Campaign', value: 'spring' },
    ],
    ...overrides,
  });

/** A pool of facts that exercise every condition kind. */
const FACTS: MessageFacts[] = [
  facts(RECIPIENTS),
  facts(RECIPIENTS, { headersComplete: false, headers: [] }),
  facts(RECIPIENTS, { sizeBytes: 5_000, attachments: [{ filename: 'invoice.exe', contentType: 'application/x-msdownload', sizeBytes: 10 }] }),
  facts(RECIPIENTS, { sizeBytes: 50, sender: 'alice@sender.example', verdicts: { spam: 'FAIL', virus: 'PASS', spf: 'PASS', dkim: 'GRAY', dmarc: 'PASS' } }),
];

describe('snapshot', () => {
  describe('encodeSnapshot / decodeSnapshot', () => {
    it('decides exactly like compileRules on the rule corpus (valid, invalid and odd items)', () => {
      const dir = join(__dirname, '../../../fixtures/corpus/rules');
      const items = readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => unmarshall(JSON.parse(readFileSync(join(dir, f), 'utf8')), { wrapNumbers: true }));
      // Make the corpus reach the test recipients: every item covers example.com too.
      const reaching = items.map((item, i) => (i % 3 === 0 && Array.isArray(item.recipients) ? { ...item, recipients: [...item.recipients, 'example.com'] } : item));
      const compiled = compileRules(reaching);
      expect(compiled.invalid.length).toBeGreaterThan(10);
      const decoded = decodeSnapshot(snapshotOf(reaching));
      expect(decoded.rules.size).toBe(compiled.rules.size);
      expect(decoded.invalid.map((i) => [i.ruleId, i.index, i.covers?.map((p) => p.source)])).toEqual(
        compiled.invalid.map((i) => [i.ruleId, i.index, i.covers?.map((p) => p.source)]),
      );
      expect(verdicts(decoded.rules, FACTS)).toEqual(verdicts(compiled.rules, FACTS));
    });

    it('holds the bounces an invalid item holds on the Scan path (never a wider bounce)', () => {
      const items = [
        { ruleId: 'bounce-all', recipients: ['example.com'], action: 'bounce' },
        { ruleId: 'broken-allow', recipients: ['alice@example.com'], action: 'allow', disabled: true },
      ];
      const decisions = decodeSnapshot(snapshotOf(items)).rules.evaluate(facts(['alice@example.com', 'bob@example.com']), NOW);
      expect(decisions.map((d) => [d.action, 'heldBy' in d ? d.heldBy : undefined])).toEqual([
        ['default', 'broken-allow'],
        ['bounce', undefined],
      ]);
    });

    it('holds every bounce while an item whose recipients cannot be read is invalid', () => {
      const items = [{ ruleId: 'bounce-all', recipients: ['*'], action: 'bounce' }, { ruleId: 'no-recipients', action: 'allow' }];
      const [d] = decodeSnapshot(snapshotOf(items)).rules.evaluate(facts(['anyone@anywhere.example']), NOW);
      expect(d).toMatchObject({ action: 'default', heldBy: 'no-recipients' });
    });

    it('decides like compileRules on generated rule sets (property)', () => {
      const pattern = fc.constantFrom(
        'alice@example.com',
        'alice+tag@example.com',
        'example.com',
        '@example.com',
        '*.example.com',
        'a*@example.com',
        'noreply-?@*.wild.example',
        '*',
        'zed@example.com.',
        'bad pattern',
      );
      const item = fc.record(
        {
          ruleId: fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5', 'r6'),
          recipients: fc.array(pattern, { minLength: 1, maxLength: 3 }),
          action: fc.constantFrom('bounce', 'allow', 'Bounce', 'drop'),
          priority: fc.integer({ min: 1, max: 3 }),
          enabled: fc.boolean(),
          bounceType: fc.constantFrom('DoesNotExist', 'ContentRejected', 'TemporaryFailure'),
          status: fc.constantFrom('5.1.1', '4.2.2'),
          explanation: fc.constantFrom('gone', 'closed'),
          subject: fc.constantFrom(['*lottery*'], ['*invoice*'], ['quarterly*', '*won*']),
          senders: fc.constantFrom(['*@sender.example'], ['alice@sender.example']),
          fromHeader: fc.constantFrom(['john@sender.example'], ['*@elsewhere.example']),
          headers: fc.constantFrom({ 'X-Campaign': ['spring'] }, { 'X-Campaign': 'autumn*' }),
          minSizeBytes: fc.constantFrom(10, 1_000),
          maxSizeBytes: fc.constantFrom(100_000),
          attachmentNames: fc.constantFrom(['*.exe'], ['*.pdf']),
          attachmentTypes: fc.constantFrom(['application/*']),
          verdicts: fc.constantFrom({ spam: ['FAIL'] }, { spf: 'PASS', dkim: ['GRAY', 'PASS'] }),
          activeFrom: fc.constantFrom(iso(-DAY), iso(DAY)),
          activeUntil: fc.constantFrom(iso(2 * DAY), iso(-2 * DAY)),
          description: fc.constantFrom('why'),
          notes: fc.constantFrom('ticket 7'),
          typo: fc.constantFrom('x'),
        },
        { requiredKeys: ['ruleId', 'recipients'] },
      );
      fc.assert(
        fc.property(fc.array(item, { maxLength: 8 }), (items) => {
          const compiled = compileRules(items);
          const decoded = decodeSnapshot(snapshotOf(items));
          expect(decoded.rules.size).toBe(compiled.rules.size);
          expect(decoded.disabled).toBe(compiled.disabled);
          expect(verdicts(decoded.rules, FACTS)).toEqual(verdicts(compiled.rules, FACTS));
        }),
        { numRuns: 300 },
      );
    });

    it('keeps every field of a validated rule, one the codec has never heard of included', () => {
      const [rule] = compileRules([
        { ruleId: 'r', recipients: ['a*@example.com', 'b@example.com'], subject: ['*x*'], headers: { 'X-A': ['v*'] }, action: 'bounce', activeFrom: iso(-DAY) },
      ]).valid;
      // A field a later version's schema adds (issue 15's `mode`), as a plain value and with a glob inside.
      const extended = { ...rule, mode: 'monitor', extra: { when: [Glob.compile('*late*')] } } as unknown as Rule;
      const doc = documentOf(encodeSnapshot({ rules: [extended], invalid: [], disabled: 0 }));
      expect(doc.columns.map((c) => c.field)).toEqual(expect.arrayContaining(['mode', 'extra']));
      const known = KNOWN_RULE_FIELDS as Set<string>;
      known.add('mode');
      known.add('extra');
      try {
        const [back] = readSnapshot(bytesOf(doc)).rules as unknown as Record<string, unknown>[];
        expect(back.mode).toBe('monitor');
        expect(((back.extra as { when: Glob[] }).when[0] as Glob).test('too late now')).toBe(true);
        expect((back.recipients as { source: string }[]).map((p) => p.source)).toEqual(['a*@example.com', 'b@example.com']);
        expect((back.headers as { name: string; patterns: Glob[] }[])[0].patterns[0].test('very')).toBe(true);
        expect(back.activeFrom).toBe(rule.activeFrom);
        expect(back.bounce).toEqual(rule.bounce);
      } finally {
        known.delete('mode');
        known.delete('extra');
      }
    });

    it('refuses a field this version does not evaluate rather than drop it (a newer compile during a deployment)', () => {
      const [rule] = compileRules([{ ruleId: 'r', recipients: ['example.com'], action: 'bounce' }]).valid;
      const bytes = encodeSnapshot({ rules: [{ ...rule, mode: 'monitor' } as unknown as Rule], invalid: [], disabled: 0 });
      expect(() => decodeSnapshot(bytes)).toThrow(/column "mode" is not a rule attribute this version evaluates/);
    });

    it('refuses an action this version does not evaluate', () => {
      const doc = documentOf(snapshotOf([{ ruleId: 'r', recipients: ['example.com'], action: 'allow' }]));
      const action = doc.columns.find((c) => c.field === 'action')!;
      if (action.codec === 'shared') action.shared = ['drop'];
      else action.values = ['drop'];
      expect(() => decodeSnapshot(bytesOf(doc))).toThrow(/action "drop" is not one this version evaluates/);
    });

    it('stores repeated values once: 1,000 rules with two bounce specs', () => {
      const items = Array.from({ length: 1_000 }, (_, i) => ({ ruleId: `r${i}`, recipients: [`u${i}@example.com`], action: 'bounce', bounceType: i % 2 ? 'DoesNotExist' : 'ContentRejected' }));
      const doc = documentOf(snapshotOf(items));
      const bounce = doc.columns.find((c) => c.field === 'bounce')!;
      expect(bounce.codec).toBe('shared');
      expect(bounce.shared).toHaveLength(2);
      expect(doc.columns.map((c) => c.field)).not.toContain('enabled');
    });
  });

  describe('decodeSnapshot on bad input', () => {
    // Eight rules: enough for the repeated action and bounce columns to be shared.
    const good = () =>
      documentOf(
        snapshotOf(Array.from({ length: 8 }, (_, i) => ({ ruleId: `r${i}`, recipients: [i ? `u${i}@example.com` : 'example.com'], action: i ? 'bounce' : 'allow' }))),
      );
    const cases: [string, () => Uint8Array, RegExp][] = [
      ['empty bytes', () => new Uint8Array(), /not gzip data|not JSON/],
      ['bytes that are not gzip', () => Buffer.from('{"format":"x"}'), /not gzip data/],
      ['a truncated object', () => snapshotOf([{ ruleId: 'a', recipients: ['a@example.com'], action: 'bounce' }]).subarray(0, 20), /not gzip data/],
      ['gzip of text that is not JSON', () => gzipSync(Buffer.from('hello')), /not JSON/],
      ['a JSON array', () => bytesOf([1, 2]), /not a JSON object/],
      ['another format', () => bytesOf({ ...good(), format: 'something-else' }), /format "something-else"/],
      ['a newer format version', () => bytesOf({ ...good(), formatVersion: SNAPSHOT_FORMAT_VERSION + 1 }), /format version 2 is not 1/],
      ['a count the columns do not hold', () => bytesOf({ ...good(), count: 5 }), /does not hold 5 values/],
      ['an unknown codec', () => { const d = good(); d.columns[0].codec = 'zip'; return bytesOf(d); }, /unknown codec "zip"/],
      ['a column listed twice', () => { const d = good(); d.columns.push(d.columns[0]); return bytesOf(d); }, /listed twice/],
      ['a shared reference out of range', () => { const d = good(); const c = d.columns.find((x) => x.field === 'bounce' && x.codec === 'shared')!; c.values = c.values.map(() => 99); return bytesOf(d); }, /no shared value 99/],
      ['an address pattern that does not parse', () => { const d = good(); d.columns.find((c) => c.field === 'recipients')!.values[0] = 'bad pattern'; return bytesOf(d); }, /not an address pattern/],
      ['rules out of evaluation order', () => { const d = good(); d.columns.find((c) => c.field === 'ruleId')!.values.reverse(); return bytesOf(d); }, /not in \(priority, ruleId\) order/],
      ['a bounce rule without its bounce', () => { const d = good(); d.columns = d.columns.filter((c) => c.field !== 'bounce'); return bytesOf(d); }, /without a complete bounce/],
      ['a rule without recipients', () => { const d = good(); d.columns = d.columns.filter((c) => c.field !== 'recipients'); return bytesOf(d); }, /recipients are missing/],
      ['an unknown tag', () => { const d = good(); d.columns.push({ field: 'subject', codec: 'json', values: [[{ $regex: 'x' }], ...Array(7).fill(null)] }); return bytesOf(d); }, /unknown tag "\$regex"/],
      ['an invalid item without problems', () => bytesOf({ ...good(), invalid: [{ index: 0 }] }), /errors are not a list/],
    ];
    it.each(cases)('refuses %s with SnapshotFormatError', (_name, bytes, reason) => {
      let thrown: unknown;
      try {
        decodeSnapshot(bytes());
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SnapshotFormatError);
      expect((thrown as Error).name).toBe('SnapshotFormatError');
      expect((thrown as Error).message).toMatch(reason);
    });

    it('throws nothing but SnapshotFormatError on arbitrary bytes and on arbitrarily damaged documents (property)', () => {
      const onlyFormatErrors = (bytes: Uint8Array) => {
        try {
          decodeSnapshot(bytes);
        } catch (error) {
          if (!(error instanceof SnapshotFormatError)) throw error;
        }
      };
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyFormatErrors), { numRuns: 300 });
      const base = good();
      fc.assert(
        fc.property(fc.integer({ min: 0, max: base.columns.length - 1 }), fc.integer({ min: 0, max: 1 }), fc.jsonValue(), (c, n, value) => {
          const d = good();
          d.columns[c].values[n] = value;
          onlyFormatErrors(bytesOf(d));
        }),
        { numRuns: 300 },
      );
    });
  });
});
