import fc from 'fast-check';
import { findHeaderEnd, headersFromPrefix, parseHeaderBlock, parseHeaderFields, splitHeaderBlock } from '../../../lambda/mail/header-block';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('header-block', () => {
  describe('findHeaderEnd', () => {
    it('finds the blank line when lines end in CRLF', () => {
      const raw = 'A: 1\r\nB: 2\r\n\r\nbody';
      expect(findHeaderEnd(bytes(raw))).toBe(raw.indexOf('\r\n\r\n') + 2);
    });

    it('finds the blank line when lines end in bare LF', () => {
      expect(findHeaderEnd(bytes('A: 1\nB: 2\n\nbody'))).toBe(10);
    });

    it('returns 0 when the message starts with the blank line', () => {
      expect(findHeaderEnd(bytes('\r\nbody'))).toBe(0);
    });

    it('returns -1 when the bytes hold no blank line', () => {
      expect(findHeaderEnd(bytes('A: 1\r\nB: 2\r\n'))).toBe(-1);
    });
  });

  describe('parseHeaderBlock', () => {
    it('unfolds folded fields keeping the folding whitespace', () => {
      const headers = parseHeaderBlock(
        'Subject: a long\r\n subject line\r\nReceived: from a\r\n\tby b\r\n\twith SMTP\r\nTo: x@example.com\r\n\r\n',
      );
      expect(headers).toEqual([
        { name: 'Subject', value: 'a long subject line' },
        { name: 'Received', value: 'from a\tby b\twith SMTP' },
        { name: 'To', value: 'x@example.com' },
      ]);
    });

    it('keeps repeated fields in order and names as written', () => {
      expect(parseHeaderBlock('Received: 1\nreceived: 2\nX-Custom-Header: v\n')).toEqual([
        { name: 'Received', value: '1' },
        { name: 'received', value: '2' },
        { name: 'X-Custom-Header', value: 'v' },
      ]);
    });

    it('decodes nothing when values hold encoded-words', () => {
      expect(parseHeaderBlock('Subject: =?UTF-8?B?SGVsbG8=?=\n')).toEqual([{ name: 'Subject', value: '=?UTF-8?B?SGVsbG8=?=' }]);
    });

    it('keeps colons inside the value and accepts whitespace before the colon', () => {
      expect(parseHeaderBlock('Date: Mon, 5 Aug 2019 21:29:57 +0000\nSubject : obsolete\n')).toEqual([
        { name: 'Date', value: 'Mon, 5 Aug 2019 21:29:57 +0000' },
        { name: 'Subject', value: 'obsolete' },
      ]);
    });

    it('skips lines that are neither fields nor continuations', () => {
      expect(parseHeaderBlock(' orphan continuation\nnot a header\nA: 1\n  more\n')).toEqual([{ name: 'A', value: '1  more' }]);
    });

    it('stops at the blank line when body text follows', () => {
      expect(parseHeaderBlock('A: 1\n\nB: not a header\n')).toEqual([{ name: 'A', value: '1' }]);
    });

    it('drops the last line when the block was cut off mid-line', () => {
      expect(parseHeaderBlock('A: 1\r\nContent-Type: multipart/mix', false)).toEqual([{ name: 'A', value: '1' }]);
    });
  });

  describe('headersFromPrefix', () => {
    it('uses the block up to the blank line when it is present', () => {
      expect(headersFromPrefix(bytes('A: 1\r\n\r\nB: 2\r\n'), false)).toEqual([{ name: 'A', value: '1' }]);
    });

    it('keeps the last line when the bytes are the whole object without a body', () => {
      expect(headersFromPrefix(bytes('A: 1\r\nB: 2'), true)).toEqual([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]);
    });

    it('drops a fragment when the bytes are only a prefix', () => {
      expect(headersFromPrefix(bytes('A: 1\r\nB: 2'), false)).toEqual([{ name: 'A', value: '1' }]);
    });

    it('reads UTF-8 header values as UTF-8', () => {
      expect(headersFromPrefix(bytes('Subject: Grüße\n\n'), false)).toEqual([{ name: 'Subject', value: 'Grüße' }]);
    });
  });

  describe('parseHeaderBlock, property', () => {
    it('unfolds any folding of any value', () => {
      const token = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
      fc.assert(
        fc.property(fc.array(fc.tuple(token, fc.array(token, { minLength: 1, maxLength: 5 })), { minLength: 1, maxLength: 8 }), (fields) => {
          const block = fields.map(([name, words]) => `X-${name}: ${words.join('\r\n ')}`).join('\r\n');
          expect(parseHeaderBlock(block)).toEqual(fields.map(([name, words]) => ({ name: `X-${name}`, value: words.join(' ') })));
        }),
      );
    });

    it('drops a line whose name has a space, as every reader of headers does (issue 14)', () => {
      expect(parseHeaderBlock('X Bad Name: evil\r\nSubject: hi\r\n')).toEqual([{ name: 'Subject', value: 'hi' }]);
    });
  });

  describe('parseHeaderFields', () => {
    it('counts the bytes of every folded line with its CRLF', () => {
      const fields = parseHeaderFields('Subject: Grüße\r\n  again\r\nA: 1\r\n');
      expect(fields.map((f) => f.rawBytes)).toEqual([Buffer.byteLength('Subject: Grüße\r\n  again\r\n'), 'A: 1\r\n'.length]);
    });
  });

  describe('splitHeaderBlock', () => {
    it('finds the body after a CRLF blank line', () => {
      const raw = Buffer.from('A: 1\r\nB: 2\r\n\r\nbody');
      const { headerBlock, bodyOffset } = splitHeaderBlock(raw);
      expect(parseHeaderBlock(headerBlock)).toEqual([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]);
      expect(raw.subarray(bodyOffset).toString()).toBe('body');
    });

    it('finds the body after a bare-LF blank line', () => {
      const raw = Buffer.from('A: 1\n\nbody');
      expect(raw.subarray(splitHeaderBlock(raw).bodyOffset).toString()).toBe('body');
    });

    it('takes a message without a blank line as all header block', () => {
      const raw = Buffer.from('A: 1\r\nB: 2');
      expect(splitHeaderBlock(raw)).toEqual({ headerBlock: 'A: 1\r\nB: 2', bodyOffset: raw.length });
    });
  });
});
