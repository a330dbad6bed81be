/**
 * A local S3-compatible server (s3rver) standing in for the bucket the
 * receipt rule's S3 action writes to, plus the "S3 action" itself: storing a
 * received message at `<prefix><messageId>`.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver checks request signatures against its built-in account. */
// Not frozen: the SDK tags the credentials object it is given.
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The part of s3rver's (untyped) API used here. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<unknown>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets?: Array<{ name: string }>;
}) => S3rverInstance;

export interface LocalS3Server {
  /** `http://127.0.0.1:<port>`, for a path-style S3Client. */
  readonly endpoint: string;
  /** The bucket created at start, if one was asked for. */
  readonly bucket?: string;
  /** Where objects live on disk. */
  readonly directory: string;
  /** Stops the server; removes the directory unless it was given. */
  stop(): Promise<void>;
}

export interface LocalS3ServerOptions {
  /** A bucket to create at start. @default none */
  readonly bucket?: string;
  /** More buckets to create at start (local mode's rule snapshots). @default none */
  readonly moreBuckets?: readonly string[];
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Keep objects here. @default a temp directory removed on stop */
  readonly directory?: string;
}

/** Starts s3rver on 127.0.0.1 (with the bucket created, when one is named). */
export async function startLocalS3Server(options: LocalS3ServerOptions): Promise<LocalS3Server> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships no types
  const S3rver = require('s3rver') as S3rverConstructor;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'ses-bouncer-local-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: [...(options.bucket ? [options.bucket] : []), ...(options.moreBuckets ?? [])].map((name) => ({ name })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: options.bucket,
    directory,
    async stop() {
      await server.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** What the receipt rule's S3 action does: stores the raw message at `<prefix><messageId>`. */
export async function storeLikeS3Action(
  client: S3Client,
  target: { readonly bucket: string; readonly prefix: string },
  messageId: string,
  stored: Buffer,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}${messageId}`, Body: stored }));
}

/**
 * An S3 client for {@link storeFileLikeS3Action}: with the SDK's default
 * flexible checksums a streamed body goes out `aws-chunked` with a trailing
 * checksum, and s3rver stores that framing as if it were the object. Only
 * checksums an operation requires (PutObject requires none) keep the body
 * plain.
 */
export function createS3ActionClient(endpoint: string, credentials = S3RVER_CREDENTIALS): S3Client {
  return new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { ...credentials }, requestChecksumCalculation: 'WHEN_REQUIRED' });
}

/**
 * The S3 action for a message spooled to disk: stores `prefix` followed by
 * the file's bytes, streamed (never read whole into memory), at
 * `<prefix><messageId>`. The client must come from
 * {@link createS3ActionClient} (or be configured like it).
 *
 * @throws Error when the client would frame the body `aws-chunked`
 */
export async function storeFileLikeS3Action(
  client: S3Client,
  target: { readonly bucket: string; readonly prefix: string },
  messageId: string,
  message: { readonly prefix: Buffer; readonly file: string; readonly size: number },
): Promise<void> {
  if ((await client.config.requestChecksumCalculation()) !== 'WHEN_REQUIRED') {
    throw new Error('storeFileLikeS3Action needs an S3 client with requestChecksumCalculation WHEN_REQUIRED (createS3ActionClient): s3rver would store the aws-chunked framing of a streamed body');
  }
  const body = new PassThrough();
  body.write(message.prefix);
  const file = createReadStream(message.file);
  file.on('error', (error) => body.destroy(error));
  file.pipe(body);
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: `${target.prefix}${messageId}`,
        Body: body,
        ContentLength: message.prefix.length + message.size,
      }),
    );
  } finally {
    file.destroy();
    body.destroy();
  }
}
