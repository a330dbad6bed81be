import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_REGION } from '../../local/dynamodb/dynamodb-local';

/** s3rver's built-in account; it checks signatures against it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The part of s3rver's (untyped) API the tests use. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<unknown>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  resetOnClose?: boolean;
}) => S3rverInstance;

/** A running local S3-compatible server (s3rver) with its own temp directory. */
export interface LocalS3 {
  readonly endpoint: string;
  /** A real SDK client pointed at the server (path-style addressing). */
  client(): S3Client;
  /** Creates a bucket and returns its name. */
  createBucket(name: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a free port of 127.0.0.1, storing objects in a fresh temp
 * directory. s3rver honours `Range` (206 with `Content-Range`), so ranged
 * reads are exercised for real.
 */
export async function startLocalS3(): Promise<LocalS3> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships no types
  const S3rver = require('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 'ses-bouncer-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  const client = () => {
    const c = new S3Client({ endpoint, region: LOCAL_REGION, credentials: S3RVER_CREDENTIALS, forcePathStyle: true });
    clients.push(c);
    return c;
  };
  return {
    endpoint,
    client,
    async createBucket(name: string) {
      const c = client();
      await c.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
