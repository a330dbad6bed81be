/**
 * Big test messages: multipart/mixed with a short text part and several
 * base64 attachments of random bytes, built to a target size.
 */
import { randomBytes } from 'node:crypto';

/** Attachment types cycled through, so a type rule has something to find. */
const ATTACHMENTS = [
  { type: 'application/pdf', ext: 'pdf' },
  { type: 'image/jpeg', ext: 'jpg' },
  { type: 'application/zip', ext: 'zip' },
] as const;

/** Base64 in 76-character lines (RFC 2045). */
function base64Lines(bytes: Buffer): string {
  const text = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join('\r\n');
}

/**
 * A raw message of about `sizeBytes` (within a few KB), with `attachments`
 * parts of equal size. CRLF line ends, as SES stores them.
 */
export function buildBigMessage(options: { sizeBytes: number; attachments: number; subject: string; to: string }): Buffer {
  const boundary = '----=_bench_boundary_7f3a';
  const head = [
    'Return-Path: <sender@example.com>',
    'From: Sender <sender@example.com>',
    `To: <${options.to}>`,
    `Subject: ${options.subject}`,
    'Date: Mon, 5 Aug 2019 21:29:57 +0000',
    'Message-ID: <bench-big@example.com>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Please find the files attached.',
    '',
  ].join('\r\n');
  // base64 grows by 4/3 plus CRLF every 76 characters.
  const overheadPerPart = 200;
  const encodedPerPart = (options.sizeBytes - head.length) / options.attachments - overheadPerPart;
  const rawPerPart = Math.max(1, Math.floor((encodedPerPart * 3) / 4 / (78 / 76)));
  const parts: string[] = [head];
  for (let i = 0; i < options.attachments; i++) {
    const a = ATTACHMENTS[i % ATTACHMENTS.length];
    parts.push(
      [
        `--${boundary}`,
        `Content-Type: ${a.type}; name="file-${i}.${a.ext}"`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; filename="file-${i}.${a.ext}"`,
        '',
        base64Lines(randomBytes(rawPerPart)),
        '',
      ].join('\r\n'),
    );
  }
  parts.push(`--${boundary}--\r\n`);
  return Buffer.from(parts.join(''), 'utf8');
}
