import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { RuleSnapshotStoreError, S3RuleSnapshotStore } from '../../../../lambda/adapters/s3/rule-snapshot-store';
import { startLocalS3, type LocalS3 } from '../../../support/s3';

describe('rule-snapshot-store (S3)', () => {
  let s3: LocalS3;
  let store: S3RuleSnapshotStore;
  const bucket = 'snapshot-bucket';

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(bucket);
    store = new S3RuleSnapshotStore({ client: s3.client(), bucket, prefix: 'rules/' });
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('writes <prefix><version>.json.gz and reads the same bytes back', async () => {
    const bytes = Uint8Array.from([31, 139, 8, 0, 1, 2, 3, 255]);
    const key = await store.put('20260101T000000000Z-abcd', bytes);
    expect(key).toBe('rules/20260101T000000000Z-abcd.json.gz');
    expect(Buffer.from(await store.get(key))).toEqual(Buffer.from(bytes));
  });

  it('reports a missing object as RuleSnapshotStoreError naming the key', async () => {
    const error = await store.get('rules/none.json.gz').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuleSnapshotStoreError);
    expect(error).toMatchObject({ key: 'rules/none.json.gz', message: expect.stringMatching(/NoSuchKey/) });
  });

  it('removes an object', async () => {
    const key = await store.put('gone', Uint8Array.from([1]));
    await store.delete(key);
    await expect(s3.client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('refuses to be built without a bucket', () => {
    expect(() => new S3RuleSnapshotStore({ client: s3.client(), bucket: '', prefix: 'rules/' })).toThrow(/bucket must be set/);
  });
});
