import libmime from 'libmime';
import { decodeEncodedWords } from '../../../lambda/mail/encoded-words';

/** Values where ours must read as libmime (the library mailparser uses) reads them. */
const SAME_AS_LIBMIME = [
  'plain text',
  '=?UTF-8?B?SGVsbG8gV8O2cmxk?=',
  '=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Berlin?=',
  '=?ISO-8859-1?Q?Andr=E9?= Pirard',
  '=?UTF-8?B?SGVs?= =?UTF-8?B?bG8=?=',
  'Re: =?utf-8?B?V2luIGEgcHJpemU=?= now',
  '=?windows-1252?Q?=80_5?=',
  '=?UTF-8*en?Q?hello?=',
  '=?utf-8?b?8J+OiSBwYXJ0eQ==?=',
];

describe('decodeEncodedWords', () => {
  it.each(SAME_AS_LIBMIME)('decodes %j as libmime.decodeWords does', (value) => {
    expect(decodeEncodedWords(value)).toBe(libmime.decodeWords(value));
  });

  it('leaves a word in an unknown charset encoded rather than guessing', () => {
    expect(decodeEncodedWords('=?x-no-such-charset?Q?abc?= tail')).toBe('=?x-no-such-charset?Q?abc?= tail');
  });

  it('reads iso-8859-1 as browsers and the WHATWG encoding standard do (windows-1252), when given C1 bytes', () => {
    expect(decodeEncodedWords('=?iso-8859-1?Q?=93quoted=94_=96_=80?=')).toBe('\u201cquoted\u201d \u2013 \u20ac');
  });

  it('keeps the space between an encoded word and plain text', () => {
    expect(decodeEncodedWords('=?utf-8?Q?caf=C3=A9?= au lait')).toBe('café au lait');
  });
});
