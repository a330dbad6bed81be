/**
 * Compiled rules snapshots in their own bucket: `<prefix><version>.json.gz`,
 * written once by the compile step, read by receive functions when the
 * pointer names a version they have not loaded.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SesBouncerError } from '../../commons/errors';
import { snapshotObjectKey } from '../../domain/rules/pointer';

/** A snapshot object could not be written or read (missing object, S3 error, broken body). */
export class RuleSnapshotStoreError extends SesBouncerError {
  constructor(
    message: string,
    /** The object key concerned. */
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface S3RuleSnapshotStoreOptions {
  readonly client: S3Client;
  /** The snapshot bucket (config `RULES_SNAPSHOT_BUCKET`). */
  readonly bucket: string;
  /** Key prefix (config `RULES_SNAPSHOT_PREFIX`). */
  readonly prefix: string;
}

/** Put and get of gzipped snapshot objects; bytes in, bytes out (the codec is the domain's). */
export class S3RuleSnapshotStore {
  private readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(options: S3RuleSnapshotStoreOptions) {
    if (!options.bucket) throw new RuleSnapshotStoreError(`bucket must be set (got ${JSON.stringify(options.bucket)})`, '');
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
  }

  /** Object key of a version. */
  keyOf(version: string): string {
    return snapshotObjectKey(this.prefix, version);
  }

  /** Writes a version's object; returns its key. */
  async put(version: string, bytes: Uint8Array): Promise<string> {
    const key = this.keyOf(version);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          // Not Content-Encoding: gzip, which would invite a client or proxy to inflate it on the way.
          ContentType: 'application/gzip',
        }),
      );
    } catch (error) {
      throw this.convert('writing', error, key);
    }
    return key;
  }

  /** Reads an object's bytes (as stored: still gzipped). */
  async get(key: string): Promise<Uint8Array> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!object.Body) throw new RuleSnapshotStoreError(`s3 gave no body for key ${JSON.stringify(key)}`, key);
      return await object.Body.transformToByteArray();
    } catch (error) {
      throw this.convert('reading', error, key);
    }
  }

  /** Removes an object nobody will read (a compile whose pointer lost to a newer one). */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw this.convert('deleting', error, key);
    }
  }

  private convert(doing: string, error: unknown, key: string): RuleSnapshotStoreError {
    if (error instanceof RuleSnapshotStoreError) return error;
    const name = typeof error === 'object' && error !== null && 'name' in error ? String((error as { name: unknown }).name) : 'error';
    const text = error instanceof Error ? error.message : String(error);
    return new RuleSnapshotStoreError(
      `s3 ${name} ${doing} bucket ${JSON.stringify(this.bucket)} key ${JSON.stringify(key)}: ${text}`,
      key,
      { cause: error },
    );
  }
}
