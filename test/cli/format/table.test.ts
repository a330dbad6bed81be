import { renderFields, renderTable, truncate } from '../../../cli/format/table';

describe('cli/format/table', () => {
  describe('renderTable', () => {
    it('pads every column to its widest cell, two spaces apart, without trailing spaces', () => {
      expect(renderTable(['ID', 'ACTION', 'NOTE'], [['a-long-id', 'bounce', ''], ['b', 'allow', 'x']])).toEqual([
        'ID         ACTION  NOTE',
        'a-long-id  bounce',
        'b          allow   x',
      ]);
    });

    it('pads by display width, so wide characters and combining marks keep the columns aligned', () => {
      expect(renderTable(['NAME', 'X'], [['日本', '1'], ['e\u0301t\u00e9', '2'], ['ab', '3']])).toEqual(['NAME  X', '日本  1', 'e\u0301t\u00e9   2', 'ab    3']);
    });

    it('keeps each row on one line when a cell holds line breaks, escaping them', () => {
      expect(renderTable(['A'], [['one\r\ntwo']])).toEqual(['A', 'one\\x0d\\x0atwo']);
    });

    it('defect 12: escapes ESC, NUL, U+2028 and bidi overrides in cells and field values', () => {
      expect(renderTable(['A'], [['a\u001b[2Jb\u0000c\u2028d\u202ee']])).toEqual(['A', 'a\\x1b[2Jb\\x00c\\u2028d\\u202ee']);
      expect(renderFields([['Name', 'x\u001by']])).toEqual(['Name  x\\x1by']);
    });
  });

  describe('renderFields', () => {
    it('aligns values after the longest label', () => {
      expect(renderFields([['State', 'SENT'], ['SES bounce', 'id']])).toEqual(['State       SENT', 'SES bounce  id']);
    });
  });

  describe('truncate', () => {
    it('cuts long text to the limit with an ellipsis and leaves short text alone', () => {
      expect(truncate('abcdef', 4)).toBe('abc…');
      expect(truncate('abcd', 4)).toBe('abcd');
      expect(truncate('日本語です', 5)).toBe('日本…');
    });
  });
});
