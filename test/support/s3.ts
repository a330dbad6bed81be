import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_REGION } from '../../local/dynamodb/dynamodb-local';
import { S3RVER_CREDENTIALS, startLocalS3Server } from '../../local/s3/local-s3';

export { S3RVER_CREDENTIALS };

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
  const server = await startLocalS3Server({});
  const { endpoint } = server;
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
      await server.stop();
    },
  };
}
