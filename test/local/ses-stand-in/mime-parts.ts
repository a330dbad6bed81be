/**
 * Test helper: the top-level parts of a multipart message, each with its own
 * header map and raw body. mailparser's simpleParser merges a
 * `message/delivery-status` part into `text`, so structure checks need this.
 */
import { parseHeaderBlock } from '../../../lambda/mail/header-block';

export interface MimePart {
  /** Lower-cased header names; values unfolded. */
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** The project's one header-block parser, as a map keyed by lower-cased name (the last of a repeated field wins). */
function headerMap(block: string): Map<string, string> {
  return new Map(parseHeaderBlock(block).map((h) => [h.name.toLowerCase(), h.value]));
}

/** Splits a message at its top-level boundary (read from its Content-Type). */
export function mimeParts(eml: string): { headers: Map<string, string>; parts: MimePart[] } {
  const split = eml.indexOf('\r\n\r\n');
  const headers = headerMap(eml.slice(0, split));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`no boundary in content-type '${headers.get('content-type')}'`);
  const body = eml.slice(split + 4);
  const closing = body.indexOf(`\r\n--${boundary}--`);
  const sections = body.slice(0, closing).split(`\r\n--${boundary}\r\n`);
  // The first section is the preamble.
  const parts = sections.slice(1).map((section) => {
    const end = section.indexOf('\r\n\r\n');
    return { headers: headerMap(section.slice(0, end)), body: section.slice(end + 4) };
  });
  return { headers, parts };
}

/** The field groups of a `message/delivery-status` body: per-message first, then one per recipient. */
export function deliveryStatusGroups(body: string): Map<string, string>[] {
  return body
    .replace(/\r\n$/, '')
    .split('\r\n\r\n')
    .filter((group) => group.trim() !== '')
    .map((group) => headerMap(group));
}
