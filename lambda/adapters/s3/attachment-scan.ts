import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MalformedMailError } from '../../commons/errors';
import type { AttachmentFacts } from '../../domain/model';

/**
 * Lists a raw message's attachments by streaming it through mailparser's
 * `MailParser` (never `simpleParser`, which buffers every attachment).
 * Each attachment's decoded content is counted and discarded as it flows,
 * so a 40 MB message needs no 40 MB buffer.
 *
 * mailparser is loaded on first use: only messages whose rules look at
 * attachments pay for it, not every cold start.
 *
 * A message mailparser tolerates (a missing closing boundary, a boundary
 * that never appears, bad base64) gives whatever attachments it could find.
 * One mailparser refuses (too many parts, an oversized part header) gives
 * {@link MalformedMailError}. Errors of the source stream (S3) pass through
 * unchanged for the caller to convert.
 */
export async function scanAttachments(source: Readable): Promise<AttachmentFacts[]> {
  const { MailParser } = await import('mailparser');
  const parser = new MailParser({
    // Only attachments matter: skip every text conversion and hashing.
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false,
  });
  const found: AttachmentFacts[] = [];
  let sourceFailed = false;
  source.once('error', () => {
    sourceFailed = true;
  });
  try {
    // MailParser's typings narrow read() to its objects; as a stream it is a plain Duplex.
    await pipeline(source, parser as unknown as Duplex, async (parsed: AsyncIterable<unknown>) => {
      for await (const data of parsed) {
        const part = data as { type: string };
        if (part.type !== 'attachment') continue;
        const attachment = data as import('mailparser').AttachmentStream;
        let sizeBytes = 0;
        // Read to the end, keeping only the count; release lets the parser move on.
        for await (const chunk of attachment.content) sizeBytes += (chunk as Buffer).length;
        attachment.release?.();
        found.push({
          ...(attachment.filename ? { filename: attachment.filename } : {}),
          contentType: attachment.contentType.toLowerCase(),
          sizeBytes,
        });
      }
    });
  } catch (err) {
    if (sourceFailed) throw err;
    throw new MalformedMailError(`message could not be parsed: ${(err as Error).message}`, { cause: err });
  }
  return found;
}
