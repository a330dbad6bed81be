import { closestName, didYouMean, editDistance } from '../../../lambda/commons/did-you-mean';

describe('lambda/commons/did-you-mean', () => {
  describe('editDistance', () => {
    it('counts insertions, deletions and substitutions', () => {
      expect(editDistance('list', 'list')).toBe(0);
      expect(editDistance('lst', 'list')).toBe(1);
      expect(editDistance('lsit', 'list')).toBe(1); // a swap of neighbours is one slip
      expect(editDistance('kitten', 'sitting')).toBe(3);
      expect(editDistance('', 'abc')).toBe(3);
    });
  });

  describe('closestName', () => {
    it('finds the candidate a slip of the keyboard was meant to be, ignoring case', () => {
      expect(closestName('rulez', ['rules', 'test', 'explain'])).toBe('rules');
      expect(closestName('--JSNO', ['--json', '--table'])).toBe('--json');
    });

    it('suggests nothing when every candidate is far away', () => {
      expect(closestName('deploy', ['rules', 'test', 'explain'])).toBeUndefined();
      expect(closestName('x', ['rules'])).toBeUndefined();
    });

    it('prefers the nearest candidate, then the earlier one', () => {
      expect(closestName('tset', ['text', 'test'])).toBe('test');
      expect(closestName('tet', ['test', 'text'])).toBe('test');
      expect(closestName('tet', ['text', 'test'])).toBe('text');
    });
  });

  describe('didYouMean', () => {
    it('formats the hint, or nothing', () => {
      expect(didYouMean('expain', ['explain'])).toBe(' (did you mean "explain"?)');
      expect(didYouMean('zzz', ['explain'])).toBe('');
    });
  });
});
