import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoDbClient, isLoopback } from '../../cli/aws';

describe('cli/aws', () => {
  describe('createDynamoDbClient', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('takes credentials and Region from the named --profile through the SDK chain', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ses-bouncer-aws-'));
      await writeFile(join(dir, 'credentials'), '[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = secret-ops\n');
      await writeFile(join(dir, 'config'), '[profile ops]\nregion = eu-west-2\n');
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      delete process.env.AWS_REGION;
      const client = createDynamoDbClient({ profile: 'ops', debug: false }, process.env);
      await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'AKIDOPS' });
      await expect(client.config.region()).resolves.toBe('eu-west-2');
      client.destroy();
    });

    it('uses local placeholder keys and us-east-1 for a loopback endpoint when nothing is configured', async () => {
      const client = createDynamoDbClient({ endpointUrl: 'http://127.0.0.1:8000', debug: false }, {});
      await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'local' });
      await expect(client.config.region()).resolves.toBe('us-east-1');
      client.destroy();
    });

    it('leaves configured credentials alone for a loopback endpoint', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret-env';
      const client = createDynamoDbClient({ endpointUrl: 'http://localhost:8000', region: 'eu-central-1', debug: false }, process.env);
      await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'AKIDENV' });
      await expect(client.config.region()).resolves.toBe('eu-central-1');
      client.destroy();
    });
  });

  describe('isLoopback', () => {
    it('recognises this machine only', () => {
      expect(isLoopback('http://localhost:8000')).toBe(true);
      expect(isLoopback('http://[::1]:8000')).toBe(true);
      expect(isLoopback('https://dynamodb.eu-west-1.amazonaws.com')).toBe(false);
      expect(isLoopback(undefined)).toBe(false);
    });
  });
});
