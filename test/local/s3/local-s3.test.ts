import { existsSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startLocalS3Server, storeLikeS3Action, type LocalS3Server } from '../../../local/s3/local-s3';

describe('local-s3', () => {
  let server: LocalS3Server;
  let client: S3Client;

  beforeAll(async () => {
    server = await startLocalS3Server({ bucket: 'local-mail' });
    client = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: S3RVER_CREDENTIALS, forcePathStyle: true });
  });

  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  describe('storeLikeS3Action', () => {
    it('stores the raw bytes at <prefix><messageId> in the bucket the server created', async () => {
      const raw = Buffer.from('Return-Path: <a@sender.example>\r\nSubject: s\r\n\r\nbody\r\n');
      await storeLikeS3Action(client, { bucket: 'local-mail', prefix: 'inbound/' }, 'msg-1', raw);
      const got = await client.send(new GetObjectCommand({ Bucket: 'local-mail', Key: 'inbound/msg-1' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(raw)).toBe(true);
    });
  });

  describe('startLocalS3Server', () => {
    it('removes its temp directory on stop when none was given', async () => {
      const other = await startLocalS3Server({ bucket: 'b-temp' });
      expect(existsSync(other.directory)).toBe(true);
      await other.stop();
      expect(existsSync(other.directory)).toBe(false);
    });
  });
});
