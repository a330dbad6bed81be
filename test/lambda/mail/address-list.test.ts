import { addressesIn, formatMailbox, parseAddressList } from '../../../lambda/mail/address-list';

describe('address-list', () => {
  describe('parseAddressList', () => {
    it('splits at top-level commas only, keeping display names and comments as names', () => {
      expect(parseAddressList('"Doe, J" <j@x.example>, k@x.example (K, the second), <l@x.example>')).toEqual([
        { name: 'Doe, J', address: 'j@x.example' },
        { name: 'K, the second', address: 'k@x.example' },
        { name: '', address: 'l@x.example' },
      ]);
    });

    it('flattens groups into their members', () => {
      expect(parseAddressList('team: a@x.example, B <b@y.example>;, c@z.example')).toEqual([
        { name: '', address: 'a@x.example' },
        { name: 'B', address: 'b@y.example' },
        { name: '', address: 'c@z.example' },
      ]);
    });

    it('gives an empty group no mailbox', () => {
      expect(parseAddressList('undisclosed-recipients:;')).toEqual([]);
    });
  });

  describe('addressesIn', () => {
    it('leaves out entries that carry no address', () => {
      expect(addressesIn('not an address, <>, Real <r@x.example>')).toEqual(['r@x.example']);
    });

    it('reads the address, not a display name that looks like one', () => {
      expect(addressesIn('"ceo@victim.example" <attacker@evil.example>')).toEqual(['attacker@evil.example']);
    });
  });

  describe('formatMailbox', () => {
    it('quotes a display name with specials and escapes its quotes', () => {
      expect(formatMailbox({ name: 'Doe, "J"', address: 'j@x.example' })).toBe('"Doe, \\"J\\"" <j@x.example>');
    });

    it('writes a plain name bare and a nameless mailbox as its address', () => {
      expect(formatMailbox({ name: 'Jörg Doe', address: 'j@x.example' })).toBe('Jörg Doe <j@x.example>');
      expect(formatMailbox({ name: '', address: 'j@x.example' })).toBe('j@x.example');
    });

    it('round-trips through the parser', () => {
      const list = [{ name: 'Doe, "J" (x)', address: 'j@x.example' }, { name: '', address: 'k@y.example' }];
      expect(parseAddressList(list.map(formatMailbox).join(', '))).toEqual(list);
    });
  });
});
