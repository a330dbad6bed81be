import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MailNotFoundError, MailStoreError, MalformedMailError } from '../../commons/errors';
import type { AttachmentFacts } from '../../domain/model';
import type { HeaderBlock, MailStore } from '../../ports';
import { scanAttachments } from './attachment-scan';
import { findHeaderEnd, headerBlockFromPrefix } from '../../mail/header-block';

export interface S3MailStoreOptions {
  readonly client: S3Client;
  /** Bucket the receipt rule's S3 action writes to. */
  readonly bucket: string;
  /** The S3 action's `ObjectKeyPrefix`; objects are `<prefix><messageId>`. @default '' */
  readonly prefix?: string;
  /** First ranged read for the header block. @default 65536 */
  readonly headerReadBytes?: number;
  /**
   * Most bytes read looking for the end of the header block; past it the
   * headers read so far are used. @default 1048576
   */
  readonly headerCapBytes?: number;
}

interface RangeRead {
  readonly bytes: Uint8Array;
  /** Total object size from `Content-Range`, when the server gave it. */
  readonly total?: number;
}

/**
 * The raw messages that the receipt rule's S3 action stored, read no more
 * than the rules need: the header block with ranged GETs of the first bytes,
 * the size from HeadObject, attachments by streaming the body once.
 */
export class S3MailStore implements MailStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly headerReadBytes: number;
  private readonly headerCapBytes: number;

  constructor(options: S3MailStoreOptions) {
    if (!options.bucket) throw new MailStoreError(`bucket must be set (got ${JSON.stringify(options.bucket)})`);
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.headerReadBytes = options.headerReadBytes ?? 64 * 1024;
    this.headerCapBytes = Math.max(options.headerCapBytes ?? 1024 * 1024, this.headerReadBytes);
  }

  /** Object key of a message: `<prefix><messageId>`. */
  keyOf(messageId: string): string {
    return `${this.prefix}${messageId}`;
  }

  /**
   * Reads the first bytes of the object and parses the header block. When
   * the first read holds no blank line, reads on (doubling) up to the cap,
   * then uses the complete lines it has and reports the block incomplete.
   */
  async readHeaders(messageId: string): Promise<HeaderBlock> {
    const key = this.keyOf(messageId);
    const chunks: Uint8Array[] = [];
    let read = 0;
    let want = this.headerReadBytes;
    for (;;) {
      const part = await this.readRange(key, read, read + want - 1);
      chunks.push(part.bytes);
      read += part.bytes.length;
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const wholeObject = part.total === undefined || read >= part.total || part.bytes.length < want;
      if (findHeaderEnd(bytes) >= 0 || wholeObject || read >= this.headerCapBytes) {
        return headerBlockFromPrefix(bytes, wholeObject);
      }
      want = Math.min(read, this.headerCapBytes - read);
    }
  }

  /** Size of the stored message in bytes (HeadObject `ContentLength`). */
  async sizeOf(messageId: string): Promise<number> {
    const key = this.keyOf(messageId);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if (head.ContentLength === undefined) throw new MailStoreError(`s3 gave no size for key ${JSON.stringify(key)}`);
      return head.ContentLength;
    } catch (err) {
      throw this.convert(err, key);
    }
  }

  /** Streams the message through the MIME parser once; attachment content is counted and dropped. */
  async readAttachments(messageId: string): Promise<AttachmentFacts[]> {
    const key = this.keyOf(messageId);
    let body: Readable;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      body = object.Body as Readable;
    } catch (err) {
      throw this.convert(err, key);
    }
    try {
      return await scanAttachments(body);
    } catch (err) {
      if (err instanceof MailStoreError || err instanceof MalformedMailError) throw err;
      // The body stream broke mid-read (connection reset, timeout).
      throw new MailStoreError(`reading key ${JSON.stringify(key)} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private async readRange(key: string, start: number, end: number): Promise<RangeRead> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }),
      );
      const bytes = object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      const total = /\/(\d+)$/.exec(object.ContentRange ?? '')?.[1];
      return { bytes, total: total === undefined ? undefined : Number(total) };
    } catch (err) {
      // An empty object has no satisfiable range: it has no headers either.
      if (errorName(err) === 'InvalidRange') return { bytes: new Uint8Array(), total: start };
      throw this.convert(err, key);
    }
  }

  private convert(err: unknown, key: string): Error {
    if (err instanceof MailStoreError) return err;
    const name = errorName(err);
    // HeadObject answers a missing key with a bare 404 ("NotFound"); GetObject with NoSuchKey.
    if (name === 'NoSuchKey' || name === 'NotFound') return new MailNotFoundError(key, { cause: err });
    return new MailStoreError(
      `s3 ${name ?? 'error'} reading bucket ${JSON.stringify(this.bucket)} key ${JSON.stringify(key)}: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
}

function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : undefined;
}
