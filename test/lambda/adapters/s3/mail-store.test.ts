import { randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MailNotFoundError, MailStoreError, MalformedMailError } from '../../../../lambda/commons/errors';
import { S3MailStore } from '../../../../lambda/adapters/s3/mail-store';
import { CRLF, mimeMessage } from '../../../support/mime';
import { startLocalS3, type LocalS3 } from '../../../support/s3';

/** What one GetObject/HeadObject request asked for and what came back. */
interface Read {
  readonly command: string;
  readonly range?: string;
  /** Bytes in the response body (`Content-Length`). */
  readonly bytes: number;
}

/** Records each request's Range header and response Content-Length at the SDK's HTTP edge. */
function recordReads(client: S3Client): Read[] {
  const reads: Read[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      const result = await next(args);
      const response = result.response as { headers: Record<string, string> };
      reads.push({
        command: String(context.commandName),
        range: request.headers.range,
        bytes: Number(response.headers['content-length'] ?? 0),
      });
      return result;
    },
    { step: 'deserialize', name: 'recordReads' },
  );
  return reads;
}

describe('mail-store (S3)', () => {
  let s3: LocalS3;
  let client: S3Client;
  let reads: Read[];
  let store: S3MailStore;
  const bucket = 'mail-bucket';
  const prefix = 'inbound/';

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(bucket);
  });

  afterAll(async () => {
    await s3.stop();
  });

  beforeEach(() => {
    client = s3.client();
    reads = recordReads(client);
    store = new S3MailStore({ client, bucket, prefix });
  });

  const put = async (messageId: string, body: Buffer | string) => {
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${messageId}`, Body: body }));
  };

  describe('readHeaders', () => {
    it('unfolds folded headers when the block is read with a ranged GET', async () => {
      await put(
        'folded',
        ['Received: from mx.example.com', '\tby inbound.example.com', 'Subject: first', ' second', 'X-Flag: yes', '', 'body line'].join(CRLF),
      );
      expect(await store.readHeaders('folded')).toEqual({
        headers: [
          { name: 'Received', value: 'from mx.example.com\tby inbound.example.com' },
          { name: 'Subject', value: 'first second' },
          { name: 'X-Flag', value: 'yes' },
        ],
        complete: true,
      });
      expect(reads).toEqual([{ command: 'GetObjectCommand', range: 'bytes=0-65535', bytes: expect.any(Number) }]);
    });

    it('reads at most 64 KiB when the message is 10 MB', async () => {
      const message = mimeMessage({
        attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: randomBytes(7_500_000) }],
      });
      expect(message.length).toBeGreaterThan(10_000_000);
      await put('ten-mb', message);
      const { headers } = await store.readHeaders('ten-mb');
      expect(headers.map((h) => h.name)).toEqual(['Return-Path', 'From', 'To', 'Subject', 'MIME-Version', 'Content-Type']);
      const total = reads.reduce((sum, r) => sum + r.bytes, 0);
      expect(total).toBeLessThanOrEqual(64 * 1024);
      expect(reads).toHaveLength(1);
    });

    it('reads on past the first range when the header block is longer', async () => {
      // 100 KB of headers: the blank line is beyond the first 64 KiB.
      const many = Array.from({ length: 1000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(90)}`);
      await put('long-headers', [...many, 'X-Last: end', '', 'body'].join(CRLF));
      const { headers, complete } = await store.readHeaders('long-headers');
      expect(complete).toBe(true);
      expect(headers).toHaveLength(1001);
      expect(headers[1000]).toEqual({ name: 'X-Last', value: 'end' });
      expect(reads.map((r) => r.range)).toEqual(['bytes=0-65535', 'bytes=65536-131071']);
    });

    it('defect 8: stops at the cap, keeps only complete lines and reports the block incomplete when no blank line comes', async () => {
      const small = new S3MailStore({ client, bucket, prefix, headerReadBytes: 1024, headerCapBytes: 4096 });
      const many = Array.from({ length: 200 }, (_, i) => `X-Filler-${String(i).padStart(3, '0')}: ${'v'.repeat(40)}`);
      await put('no-blank-line', [...many, '', 'body'].join(CRLF));
      const { headers, complete } = await small.readHeaders('no-blank-line');
      expect(complete).toBe(false);
      const lineLength = many[0].length + 2;
      expect(headers).toHaveLength(Math.floor(4096 / lineLength));
      expect(headers.every((h) => h.value === 'v'.repeat(40))).toBe(true);
      expect(reads.map((r) => r.range)).toEqual(['bytes=0-1023', 'bytes=1024-2047', 'bytes=2048-4095']);
    });

    it('returns every line when the object is only a header block without a body', async () => {
      await put('headers-only', 'A: 1\r\nB: 2');
      expect(await store.readHeaders('headers-only')).toEqual({
        headers: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        complete: true,
      });
    });

    it('throws MailNotFoundError naming the key when the object is missing', async () => {
      const err = await store.readHeaders('missing').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailNotFoundError);
      expect((err as MailNotFoundError).key).toBe('inbound/missing');
      expect((err as Error).message).toBe('stored message not found at key "inbound/missing"');
    });

    it('throws MailStoreError with the cause when the bucket does not exist', async () => {
      const wrong = new S3MailStore({ client, bucket: 'no-such-bucket', prefix });
      const err = await wrong.readHeaders('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailStoreError);
      expect(err).not.toBeInstanceOf(MailNotFoundError);
      expect((err as Error).message).toContain('"no-such-bucket"');
      expect((err as Error).cause).toBeDefined();
    });
  });

  describe('sizeOf', () => {
    it('returns the stored size from the metadata without reading the body', async () => {
      await put('sized', Buffer.alloc(123_456, 'a'));
      expect(await store.sizeOf('sized')).toBe(123_456);
      expect(reads).toEqual([{ command: 'HeadObjectCommand', range: undefined, bytes: expect.any(Number) }]);
    });

    it('throws MailNotFoundError when the object is missing', async () => {
      await expect(store.sizeOf('missing')).rejects.toBeInstanceOf(MailNotFoundError);
    });
  });

  describe('readAttachments', () => {
    it('lists names, lower-case types and exact sizes when a multi-MB message has 3 attachments', async () => {
      const attachments = [
        { filename: 'report.pdf', contentType: 'Application/PDF', content: randomBytes(2_000_000) },
        { filename: 'photo.jpg', contentType: 'image/jpeg', content: randomBytes(1_234_567) },
        { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('plain text attachment\n'.repeat(1000)) },
      ];
      const message = mimeMessage({ attachments });
      expect(message.length).toBeGreaterThan(4_000_000);
      await put('three', message);
      expect(await store.readAttachments('three')).toEqual([
        { filename: 'report.pdf', contentType: 'application/pdf', sizeBytes: 2_000_000 },
        { filename: 'photo.jpg', contentType: 'image/jpeg', sizeBytes: 1_234_567 },
        { filename: 'notes.txt', contentType: 'text/plain', sizeBytes: 22_000 },
      ]);
      expect(reads).toHaveLength(1);
      expect(reads[0].range).toBeUndefined();
    });

    it('returns no attachments when the message has none', async () => {
      await put('plain', mimeMessage({}));
      expect(await store.readAttachments('plain')).toEqual([]);
    });

    it('returns what it could when the closing boundary is missing', async () => {
      const message = mimeMessage({
        attachments: [{ filename: 'a.zip', contentType: 'application/zip', content: randomBytes(5000) }],
        closing: false,
      });
      await put('unterminated', message);
      expect(await store.readAttachments('unterminated')).toEqual([
        { filename: 'a.zip', contentType: 'application/zip', sizeBytes: 5000 },
      ]);
    });

    it('finds no attachments rather than inventing any when the boundary never appears', async () => {
      const message = Buffer.from(
        mimeMessage({ attachments: [{ filename: 'a.exe', contentType: 'application/x-msdownload', content: randomBytes(3000) }] })
          .toString('utf8')
          .replace('boundary="b1_test_boundary"', 'boundary="declared_but_absent"'),
      );
      await put('broken-boundary', message);
      expect(await store.readAttachments('broken-boundary')).toEqual([]);
    });

    it('throws MalformedMailError when the message has more parts than the parser allows', async () => {
      const parts = Array.from({ length: 1100 }, (_, i) => `--b${CRLF}Content-Type: text/plain${CRLF}${CRLF}part ${i}`);
      const message = ['Subject: parts', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '', ...parts, '--b--', ''].join(CRLF);
      await put('too-many-parts', message);
      await expect(store.readAttachments('too-many-parts')).rejects.toBeInstanceOf(MalformedMailError);
    });

    it('throws MailNotFoundError when the object is missing', async () => {
      await expect(store.readAttachments('missing')).rejects.toBeInstanceOf(MailNotFoundError);
    });
  });
});
