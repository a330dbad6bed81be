import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  S3RVER_CREDENTIALS,
  createS3ActionClient,
  startLocalS3Server,
  storeFileLikeS3Action,
  storeLikeS3Action,
  type LocalS3Server,
} from '../../../local/s3/local-s3';

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

  describe('storeFileLikeS3Action (defect 16, issue 12: streamed from the spool file)', () => {
    it('stores the prefix and the file byte for byte, without aws-chunked framing', async () => {
      const file = join(await mkdtemp(join(tmpdir(), 'local-s3-')), 'm.eml');
      const content = Buffer.from('Subject: streamed\r\n\r\n' + 'body line\r\n'.repeat(20_000));
      await writeFile(file, content);
      const prefix = Buffer.from('Return-Path: <a@sender.example>\r\n');
      const action = createS3ActionClient(server.endpoint);
      try {
        await storeFileLikeS3Action(action, { bucket: 'local-mail', prefix: 'inbound/' }, 'msg-file', { prefix, file, size: content.length });
      } finally {
        action.destroy();
      }
      const got = await client.send(new GetObjectCommand({ Bucket: 'local-mail', Key: 'inbound/msg-file' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([prefix, content]))).toBe(true);
    });

    it('refuses a client that would frame the body aws-chunked, rather than store a corrupt object', async () => {
      await expect(
        storeFileLikeS3Action(client, { bucket: 'local-mail', prefix: 'inbound/' }, 'msg-x', { prefix: Buffer.alloc(0), file: '/nonexistent', size: 0 }),
      ).rejects.toThrow(/requestChecksumCalculation WHEN_REQUIRED/);
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
