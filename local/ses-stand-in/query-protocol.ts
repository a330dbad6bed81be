/**
 * The AWS Query protocol as SES speaks it: form-encoded requests, XML answers
 * in the `http://ses.amazonaws.com/doc/2010-12-01/` namespace.
 */
import { randomUUID } from 'node:crypto';

export const SES_API_VERSION = '2010-12-01';
export const SES_XML_NAMESPACE = `http://ses.amazonaws.com/doc/${SES_API_VERSION}/`;

/** Decodes a form-encoded body (or query string) into a flat field map; the last of repeated keys wins. */
export function parseForm(encoded: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(encoded)) params[key] = value;
  return params;
}

/** Escapes XML element text (never used in attributes, so quotes stay as they are). */
export function escapeXml(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] as string);
}

/** The success body of an action whose result has the given string members. */
export function renderResult(action: string, result: Readonly<Record<string, string>>, requestId: string): string {
  const members = Object.entries(result)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return (
    `<${action}Response xmlns="${SES_XML_NAMESPACE}">` +
    `<${action}Result>${members}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`
  );
}

/** The error body; `Type` is Receiver for 5xx (SES's fault) and Sender otherwise. */
export function renderError(code: string, message: string, status: number, requestId: string): string {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${SES_XML_NAMESPACE}">` +
    `<Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    `</ErrorResponse>\n`
  );
}

export function newRequestId(): string {
  return randomUUID();
}

/**
 * A message id shaped like SES's: `0100` + 12 hex digits of time, a UUID, and
 * `-000000`, e.g. `0100018cc5e0c1a2-5b1f...-000000`.
 */
export function newSesMessageId(nowMs: number): string {
  const time = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  return `0100${time}-${randomUUID()}-000000`;
}
