/**
 * Untrusted text (rule ids, addresses, attachment names, error messages that
 * quote them) on its way to a terminal or a line-oriented log. A control
 * character there can forge lines (CR, LF, U+2028), rewrite the screen (ESC
 * sequences), hide text (NUL, backspace) or reorder what is shown (bidi
 * overrides). Each becomes a visible escape instead.
 */

/**
 * C0 controls (NUL..US, with TAB, CR, LF, VT, FF, ESC), DEL, C1 controls,
 * the Unicode line and paragraph separators, and the bidi embedding,
 * override and isolate controls.
 */
export const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT.source, 'g');

/** `text` with every {@link UNSAFE_TEXT} character written as `\xNN` or `\uNNNN`. */
export function printable(text: string): string {
  if (!UNSAFE_TEXT.test(text)) return text;
  return text.replace(UNSAFE_TEXT_ALL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
