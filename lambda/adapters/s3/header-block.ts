import type { MailHeader } from '../../domain/model';
import type { HeaderBlock } from '../../ports';

/**
 * Reading the header block of a raw RFC 5322 message from its first bytes.
 * Pure functions over bytes, shared by the S3 and in-memory mail stores.
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

/**
 * Parses header fields from the text of a header block, in order.
 * Folded fields are unfolded (RFC 5322 §2.2.3: the line break before
 * whitespace is removed, the whitespace kept); nothing is decoded
 * (encoded-words stay as they are). Lines that are neither a field nor a
 * continuation are skipped rather than guessed at.
 *
 * @param complete false when the text was cut off before the blank line: the
 *   last line may be a fragment and is dropped, so no rule sees half a value
 */
export function parseHeaderBlock(text: string, complete = true): MailHeader[] {
  const lines = text.split(/\r?\n/);
  if (!complete) {
    lines.pop();
  }
  const fields: { name: string; value: string }[] = [];
  let current: { name: string; value: string } | undefined;
  for (const line of lines) {
    if (line === '') {
      // Only the blank line ending the block can be empty; stop at it.
      break;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (current) current.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    // RFC 5322 field names are printable ASCII except colon; obsolete syntax allows WSP before the colon.
    const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
    if (name === '' || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      current = undefined;
      continue;
    }
    current = { name, value: line.slice(colon + 1) };
    fields.push(current);
  }
  return fields.map((f) => ({ name: f.name, value: f.value.trim() }));
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
