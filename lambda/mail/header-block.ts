import type { MailHeader } from '../domain/model';
import type { HeaderBlock } from '../ports';

/**
 * The one header-block reader of ses-bouncer: the S3 and in-memory mail
 * stores (lambda/), the SES event local mode and the CLI's dry run build
 * (local/, cli/), and the tests all parse header blocks here, so a line is a
 * field for all of them or for none.
 */

/**
 * Byte offset where the header block ends (the start of the blank line that
 * separates it from the body), or -1 when the bytes hold no blank line yet.
 * Accepts CRLF and bare LF line ends, as stored mail may have either.
 */
export function findHeaderEnd(bytes: Uint8Array): number {
  const LF = 0x0a;
  const CR = 0x0d;
  // A message that starts with a blank line has an empty header block.
  if (bytes[0] === LF || (bytes[0] === CR && bytes[1] === LF)) return 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== LF) continue;
    // After a line end, the next line is empty when it is LF or CRLF.
    if (bytes[i + 1] === LF) return i + 1;
    if (bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 1;
  }
  return -1;
}

/** A header field and the bytes its folded lines took, line ends included (for SES's 10 KB event cap). */
export interface RawHeaderField {
  readonly header: MailHeader;
  readonly rawBytes: number;
}

/**
 * Parses header fields from the text of a header block, in order, with the
 * size each took. Folded fields are unfolded (RFC 5322 §2.2.3: the line break
 * before whitespace is removed, the whitespace kept); nothing is decoded
 * (encoded-words stay as they are). Lines that are neither a field nor a
 * continuation are skipped rather than guessed at: `X Bad Name: evil` is no
 * field, so no rule and no guard reads it.
 *
 * Hand-written rather than mailsplit's `Headers`: mailsplit loads libmime
 * (+701 KB minified on the receive function's 1.0 MB eager bundle, measured),
 * and it keeps lines with invalid names, which this parser must drop.
 *
 * @param complete false when the text was cut off before the blank line: the
 *   last line may be a fragment and is dropped, so no rule sees half a value
 */
export function parseHeaderFields(text: string, complete = true): RawHeaderField[] {
  const lines = text.split(/\r?\n/);
  if (!complete) {
    lines.pop();
  }
  const fields: { name: string; value: string; rawBytes: number }[] = [];
  let current: { name: string; value: string; rawBytes: number } | undefined;
  for (const line of lines) {
    if (line === '') {
      // Only the blank line ending the block can be empty; stop at it.
      break;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (current) {
        current.value += line;
        current.rawBytes += Buffer.byteLength(line) + 2;
      }
      continue;
    }
    const colon = line.indexOf(':');
    // RFC 5322 field names are printable ASCII except colon; obsolete syntax allows WSP before the colon.
    const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
    if (name === '' || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      current = undefined;
      continue;
    }
    current = { name, value: line.slice(colon + 1), rawBytes: Buffer.byteLength(line) + 2 };
    fields.push(current);
  }
  return fields.map((f) => ({ header: { name: f.name, value: f.value.trim() }, rawBytes: f.rawBytes }));
}

/** The header fields of {@link parseHeaderFields}, without their sizes. */
export function parseHeaderBlock(text: string, complete = true): MailHeader[] {
  return parseHeaderFields(text, complete).map((f) => f.header);
}

/**
 * Splits a whole raw message into the text of its header block (up to the
 * blank line, which is not included) and the offset where the body starts.
 * A message without a blank line is all header block.
 */
export function splitHeaderBlock(raw: Buffer): { headerBlock: string; bodyOffset: number } {
  const end = findHeaderEnd(raw);
  if (end < 0) return { headerBlock: raw.toString('utf8'), bodyOffset: raw.length };
  const blank = raw[end] === 0x0d ? 2 : 1;
  // UTF-8 because RFC 6532 allows it in header values; sizes are counted in bytes by the caller.
  return { headerBlock: raw.subarray(0, end).toString('utf8'), bodyOffset: Math.min(end + blank, raw.length) };
}

/**
 * Header fields from the first bytes of a message, and whether they are the
 * whole block: false when the bytes end before the blank line and are not
 * the whole object (a block cut at the read cap). A rule must not read a
 * header's absence from an incomplete block.
 *
 * @param wholeObject true when `bytes` is the entire stored object: a message
 *   without a body then has its header block end at the end of the bytes
 */
export function headerBlockFromPrefix(bytes: Uint8Array, wholeObject: boolean): HeaderBlock {
  const end = findHeaderEnd(bytes);
  const block = end >= 0 ? bytes.subarray(0, end) : bytes;
  // UTF-8 because RFC 6532 allows it in header values; anything else is left as the decoder renders it.
  const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('utf8');
  const complete = end >= 0 || wholeObject;
  return { headers: parseHeaderBlock(text, complete), complete };
}

/** The header fields of {@link headerBlockFromPrefix}, for callers that know the bytes hold the whole block. */
export function headersFromPrefix(bytes: Uint8Array, wholeObject: boolean): MailHeader[] {
  return headerBlockFromPrefix(bytes, wholeObject).headers;
}
