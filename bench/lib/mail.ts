/**
 * Big test messages: multipart/mixed with a short text part and several
 * base64 attachments of random bytes, built to a target size.
 */
import { randomBytes } from 'node:crypto';
import { mimeMessage, type MimeMessageOptions } from '../../test/support/mime';

/** Attachment types cycled through, so a type rule has something to find. */
const ATTACHMENTS = [
  { type: 'application/pdf', ext: 'pdf' },
  { type: 'image/jpeg', ext: 'jpg' },
  { type: 'application/zip', ext: 'zip' },
] as const;

/**
 * A raw message of about `sizeBytes` (within a few KB), with `attachments`
 * parts of equal size. CRLF line ends, as SES stores them.
 */
export function buildBigMessage(options: { sizeBytes: number; attachments: number; subject: string; to: string }): Buffer {
  const message: MimeMessageOptions = {
    to: `<${options.to}>`,
    subject: options.subject,
    headers: ['Date: Mon, 5 Aug 2019 21:29:57 +0000', 'Message-ID: <bench-big@example.com>'],
    text: 'Please find the files attached.',
    boundary: '----=_bench_boundary_7f3a',
  };
  const headBytes = mimeMessage({ ...message, closing: false }).length;
  // base64 grows by 4/3 plus CRLF every 76 characters.
  const overheadPerPart = 200;
  const encodedPerPart = (options.sizeBytes - headBytes) / options.attachments - overheadPerPart;
  const rawPerPart = Math.max(1, Math.floor((encodedPerPart * 3) / 4 / (78 / 76)));
  const attachments = Array.from({ length: options.attachments }, (_, i) => {
    const a = ATTACHMENTS[i % ATTACHMENTS.length];
    return { filename: `file-${i}.${a.ext}`, contentType: a.type, content: randomBytes(rawPerPart) };
  });
  return mimeMessage({ ...message, attachments });
}
