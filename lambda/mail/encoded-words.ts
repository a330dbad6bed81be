/**
 * RFC 2047 encoded words (`=?charset?B|Q?text?=`), decoded the one way every
 * part of ses-bouncer reads them: rule conditions (lambda/), the SES event
 * local mode builds (local/) and the CLI's dry run (cli/).
 *
 * Hand-written rather than libmime's `decodeWords` because this runs in the
 * receive function's eager bundle: libmime brings iconv-lite and
 * encoding-japanese, +682 KB minified (+262 KB gzip) on a 1.0 MB bundle
 * (measured with the functions' esbuild options; BENCHMARKS.md "mail
 * toolkit"). Node's TextDecoder covers the WHATWG charsets, which is what SES
 * decodes too. test/lambda/mail/encoded-words.test.ts checks it against
 * libmime word for word.
 */

/** `=?charset?B|Q?text?=`; a fixed expression, never built from input. */
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * WHATWG windows-1252 at 0x80-0x9F. Node's TextDecoder (ICU 78, Node 20-22)
 * decodes the labels `windows-1252`, `latin1` and `iso-8859-1` as ISO-8859-1
 * there, giving C1 controls where the mail means `€`, curly quotes or dashes
 * (found by the libmime comparison test).
 */
const CP1252_C1 = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWord(charset: string, encoding: string, encoded: string): string | undefined {
  try {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(encoded, 'base64')
        : Buffer.from(
            encoded.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          );
    // RFC 2231 §5: `charset*language`; the language does not change the text.
    const decoder = new TextDecoder(charset.replace(/\*.*$/, ''));
    const text = decoder.decode(bytes);
    return decoder.encoding === 'windows-1252' ? text.replace(/[\x80-\x9f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]) : text;
  } catch {
    // An unknown charset: the word stays as it was rather than guessed at.
    return undefined;
  }
}

/**
 * Decodes the encoded words in a header value so patterns see the text a
 * reader sees. Words in an unknown charset are left encoded; the whitespace
 * between two adjacent encoded words is dropped (RFC 2047 §6.2).
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(ENCODED_WORD, (whole, charset: string, enc: string, text: string) => decodeWord(charset, enc, text) ?? whole);
}
