/**
 * Hand-built MIME messages, so a test knows every byte the mail store or the
 * parser is given. CRLF line ends, as SES stores mail.
 */

/** CRLF: the line end of stored mail. */
export const CRLF = '\r\n';

/** One attachment part: written base64 in 76-character lines (RFC 2045). */
export interface MimeAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
}

export interface MimeMessageOptions {
  /** @default 'recipient@example.com' */
  readonly to?: string;
  /** @default 'test' */
  readonly subject?: string;
  /** Extra header lines after Subject, written as given. */
  readonly headers?: readonly string[];
  /** The text/plain part's body. @default 'hello' */
  readonly text?: string;
  readonly attachments?: readonly MimeAttachment[];
  /** @default 'b1_test_boundary' */
  readonly boundary?: string;
  /** False leaves out the closing boundary (a truncated or unterminated message). @default true */
  readonly closing?: boolean;
}

/** A multipart/mixed message: a text part, then each attachment in base64. */
export function mimeMessage(options: MimeMessageOptions = {}): Buffer {
  const boundary = options.boundary ?? 'b1_test_boundary';
  const lines = [
    'Return-Path: <sender@example.com>',
    'From: Sender <sender@example.com>',
    `To: ${options.to ?? 'recipient@example.com'}`,
    `Subject: ${options.subject ?? 'test'}`,
    ...(options.headers ?? []),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    options.text ?? 'hello',
  ];
  for (const a of options.attachments ?? []) {
    lines.push(
      `--${boundary}`,
      `Content-Type: ${a.contentType}; name="${a.filename}"`,
      `Content-Disposition: attachment; filename="${a.filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
    );
    const encoded = a.content.toString('base64');
    for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  }
  if (options.closing !== false) lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join(CRLF), 'utf8');
}
