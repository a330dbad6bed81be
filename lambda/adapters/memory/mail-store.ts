import { Readable } from 'node:stream';
import { MailNotFoundError } from '../../commons/errors';
import type { AttachmentFacts } from '../../domain/model';
import type { HeaderBlock, MailStore } from '../../ports';
import { scanAttachments } from '../s3/attachment-scan';
import { headerBlockFromPrefix } from '../../mail/header-block';

/** One call made to the store, for tests that assert what was (not) read. */
export interface MailStoreCall {
  readonly method: 'readHeaders' | 'sizeOf' | 'readAttachments';
  readonly messageId: string;
}

/**
 * MailStore over raw messages in a Map, for unit tests and local mode. It
 * parses with the same header and MIME code as the S3 store and records
 * every call in {@link calls}.
 */
export class MemoryMailStore implements MailStore {
  private readonly messages = new Map<string, Buffer>();
  readonly calls: MailStoreCall[] = [];

  /** @param headerCapBytes most bytes read for the header block (the S3 store's default) */
  constructor(private readonly headerCapBytes = 1024 * 1024) {}

  /** Stores a raw message under its SES message id. */
  put(messageId: string, raw: Buffer | string): this {
    this.messages.set(messageId, Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'));
    return this;
  }

  /** The header block within the first `headerCapBytes`, like the S3 store's cap. */
  async readHeaders(messageId: string): Promise<HeaderBlock> {
    const raw = this.raw('readHeaders', messageId);
    return headerBlockFromPrefix(raw.subarray(0, this.headerCapBytes), raw.length <= this.headerCapBytes);
  }

  async sizeOf(messageId: string): Promise<number> {
    return this.raw('sizeOf', messageId).length;
  }

  async readAttachments(messageId: string): Promise<AttachmentFacts[]> {
    return scanAttachments(Readable.from([this.raw('readAttachments', messageId)]));
  }

  private raw(method: MailStoreCall['method'], messageId: string): Buffer {
    this.calls.push({ method, messageId });
    const raw = this.messages.get(messageId);
    if (!raw) throw new MailNotFoundError(messageId);
    return raw;
  }
}
