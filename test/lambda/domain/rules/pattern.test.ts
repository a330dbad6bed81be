import fc from 'fast-check';
import { Glob, budgetAddress, globMatches, matchesAddress, parseAddress, parseAddressPattern, type AddressPattern } from '../../../../lambda/domain/rules/pattern';

/** Reference glob matcher: memoized recursion over (pattern index, value index). Obviously right, quadratic. */
function referenceGlob(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (v.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let result: boolean;
    if (i === p.length) result = j === v.length;
    else if (p[i] === '*') result = go(i + 1, j) || (j < v.length && go(i, j + 1));
    else result = j < v.length && (p[i] === '?' || p[i] === v[j]) && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

const pattern = (text: string): AddressPattern => {
  const p = parseAddressPattern(text);
  if (typeof p === 'string') throw new Error(p);
  return p;
};
const matches = (p: string, address: string) => matchesAddress(pattern(p), parseAddress(address));

describe('pattern', () => {
  describe('Glob', () => {
    it('matches the whole value, not a substring, when the pattern has no wildcard', () => {
      expect(globMatches('invoice', 'invoice')).toBe(true);
      expect(globMatches('invoice', 'your invoice')).toBe(false);
    });

    it('finds a word anywhere when the pattern is *word*', () => {
      expect(globMatches('*invoice*', 'Your INVOICE is due')).toBe(true);
    });

    it('ignores case on both sides', () => {
      expect(globMatches('*.ZIP', 'archive.zip')).toBe(true);
    });

    it('matches exactly one character with ?', () => {
      expect(globMatches('a?c', 'abc')).toBe(true);
      expect(globMatches('a?c', 'ac')).toBe(false);
      expect(globMatches('a?c', 'abbc')).toBe(false);
    });

    it('agrees with a reference matcher on random patterns and values', () => {
      const alphabet = fc.constantFrom('a', 'b', 'A', '.', '@', '+');
      const patternArb = fc.array(fc.oneof(alphabet, fc.constant('*'), fc.constant('?')), { maxLength: 12 }).map((a) => a.join(''));
      const valueArb = fc.array(alphabet, { maxLength: 16 }).map((a) => a.join(''));
      fc.assert(
        fc.property(patternArb, valueArb, (p, v) => globMatches(p, v) === referenceGlob(p, v)),
        { numRuns: 3000 },
      );
    });

    it('agrees with the reference on long ? segments (more than 32 characters, several words of bits)', () => {
      const alphabet = fc.constantFrom('a', 'b', '?');
      const segArb = fc.array(alphabet, { minLength: 30, maxLength: 70 }).map((a) => a.join(''));
      const valueArb = fc.array(fc.constantFrom('a', 'b'), { maxLength: 160 }).map((a) => a.join(''));
      fc.assert(
        fc.property(segArb, valueArb, (seg, v) => {
          const p = `*${seg}*`;
          return globMatches(p, v) === referenceGlob(p, v);
        }),
        { numRuns: 500 },
      );
    });

    it('agrees with the reference on values built to match the pattern', () => {
      const arb = fc
        .array(fc.tuple(fc.constantFrom('*', '?', 'x', 'y'), fc.constantFrom('', 'x', 'yx', 'xyy')), { maxLength: 10 })
        .map((pairs) => ({
          p: pairs.map(([c]) => c).join(''),
          v: pairs.map(([c, fill]) => (c === '*' ? fill : c === '?' ? 'z' : c)).join(''),
        }));
      fc.assert(fc.property(arb, ({ p, v }) => globMatches(p, v) === true && referenceGlob(p, v) === true), { numRuns: 1000 });
    });

    it('stays linear on 50 stars against 10,000 characters', () => {
      const glob = Glob.compile(`${'*'.repeat(50)}b`);
      const value = 'a'.repeat(10_000);
      const started = process.hrtime.bigint();
      expect(glob.test(value)).toBe(false);
      expect(Glob.compile(`*${'a*'.repeat(50)}b`).test(value)).toBe(false);
      expect(Glob.compile(`*${'a?*'.repeat(50)}b`).test(value)).toBe(false);
      expect(Glob.compile(`*${'a*'.repeat(50)}`).test(value)).toBe(true);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A backtracking matcher needs astronomically long here; the bound is generous on purpose.
      expect(ms).toBeLessThan(200);
    });
  });

  describe('parseAddressPattern', () => {
    it('files a literal address as exact', () => {
      expect(pattern('Alice@Example.com')).toMatchObject({ kind: 'exact', key: 'alice@example.com' });
    });

    it('files example.com, @example.com and *@example.com as the same domain pattern', () => {
      for (const p of ['example.com', '@example.com', '*@example.com']) expect(pattern(p)).toMatchObject({ kind: 'domain', key: 'example.com' });
    });

    it('files *.example.com as a subdomain pattern of example.com', () => {
      expect(pattern('*.example.com')).toMatchObject({ kind: 'subdomain', key: 'example.com' });
    });

    it('refuses a bare word that is neither an address nor a domain', () => {
      expect(parseAddressPattern('alice')).toMatch(/neither an address nor a domain/);
    });

    it('refuses a display-name form or a list in one entry', () => {
      expect(parseAddressPattern('Alice <alice@example.com>')).toMatch(/not an address pattern/);
      expect(parseAddressPattern('a@example.com,b@example.com')).toMatch(/not an address pattern/);
    });

    it('refuses a missing domain after @', () => {
      expect(parseAddressPattern('alice@')).toMatch(/no domain/);
    });
  });

  describe('matchesAddress', () => {
    it('matches every address at exactly the domain, not its subdomains', () => {
      expect(matches('example.com', 'bob@example.com')).toBe(true);
      expect(matches('example.com', 'bob@mail.example.com')).toBe(false);
      expect(matches('example.com', 'bob@badexample.com')).toBe(false);
    });

    it('matches subdomains, and not the domain itself, with *.example.com', () => {
      expect(matches('*.example.com', 'bob@mail.example.com')).toBe(true);
      expect(matches('*.example.com', 'bob@example.com')).toBe(false);
    });

    it('matches plus-addressed variants of an address', () => {
      expect(matches('alice@example.com', 'Alice+News@example.com')).toBe(true);
    });

    it('does not strip the tag when the pattern has one itself', () => {
      expect(matches('alice+news@example.com', 'alice+news@example.com')).toBe(true);
      expect(matches('alice+news@example.com', 'alice@example.com')).toBe(false);
      expect(matches('alice+news@example.com', 'alice+other@example.com')).toBe(false);
    });

    it('sees through a BATV wrapper on a sender', () => {
      expect(matches('sender@example.com', 'prvs=144d0cba7=sender@example.com')).toBe(true);
    });

    it('never matches the null sender, not even with *', () => {
      expect(matches('*', '')).toBe(false);
    });
  });

  describe('budgetAddress', () => {
    it('counts one address whatever BATV tag, plus tag or case it comes with', () => {
      expect(budgetAddress('prvs=144d0cba7=Sender+x@Example.com')).toEqual({ address: 'sender@example.com', domain: 'example.com' });
    });
  });
  describe('defect 11: quoted local parts and registrable domains', () => {
    it('reads a quoted local part as its content', () => {
      expect(parseAddress('"Mailer-Daemon"@Example.com')).toMatchObject({ local: 'mailer-daemon', address: 'mailer-daemon@example.com' });
      expect(parseAddress('"a\\"b"@example.com').local).toBe('a"b');
      expect(parseAddress('"unterminated@example.com').local).toBe('"unterminated');
    });

    it('budgets by registrable domain (Public Suffix List)', () => {
      expect(budgetAddress('"victim"@mail.victim.co.uk')).toEqual({ address: 'victim@mail.victim.co.uk', domain: 'victim.co.uk' });
      expect(budgetAddress('x@a.b.example.com').domain).toBe('example.com');
      expect(budgetAddress('x@[192.0.2.1]').domain).toBe('[192.0.2.1]');
      expect(budgetAddress('x@localhost').domain).toBe('localhost');
    });
  });
});
