import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListTablesCommand, PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbLocalError, assertJavaAvailable, startDynamoDbLocal } from '../../../local/dynamodb/dynamodb-local';
import { createTable, localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';

describe('dynamodb-local', () => {
  describe('the test run harness', () => {
    it('answers real SDK calls at the endpoint global setup published', async () => {
      const client = localDynamoDbClient();
      const table = uniqueTableName('harness');
      await createTable(client, table, 'pk');
      await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } }));
      const got = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }));
      expect(got.Item?.n?.N).toBe('1');
      client.destroy();
    });
  });

  describe('assertJavaAvailable', () => {
    it('says how to install Java when none is on PATH', () => {
      const noJava = { ...process.env, PATH: '/nonexistent' };
      expect(() => assertJavaAvailable(noJava)).toThrow(DynamoDbLocalError);
      expect(() => assertJavaAvailable(noJava)).toThrow(/java was not found on PATH.*apt-get install -y openjdk-17-jre-headless/);
      expect(() => assertJavaAvailable()).not.toThrow();
    });
  });

  describe('startDynamoDbLocal', () => {
    it('starts on a free port, answers, and is gone after stop', async () => {
      const db = await startDynamoDbLocal();
      const alive = (): boolean => {
        try {
          process.kill(db.pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(alive()).toBe(true);
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      const client = new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
      const tables = await client.send(new ListTablesCommand({}));
      expect(tables.TableNames).toEqual([]);
      client.destroy();
      await db.stop();
      expect(alive()).toBe(false);
      await expect(fetch(db.endpoint, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    });
  });
  describe('defect 15 (issue 12): no orphaned Java process', () => {
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    it('kills DynamoDB Local when the process that started it is killed with SIGKILL, and reports Java\'s own pid', async () => {
      const root = join(__dirname, '../../..');
      const parent = spawn(
        process.execPath,
        ['--import', 'tsx', '-e', "require('./local/dynamodb/dynamodb-local').startDynamoDbLocal().then((db) => console.log('java ' + db.pid))"],
        { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let javaPid: number | undefined;
      try {
        javaPid = await new Promise<number>((resolve, reject) => {
          let text = '';
          parent.stdout.on('data', (d: Buffer) => {
            text += d.toString();
            const m = /java (\d+)/.exec(text);
            if (m) resolve(Number(m[1]));
          });
          parent.once('exit', (code) => reject(new Error(`parent exited with ${code} before starting DynamoDB Local: ${text}`)));
        });
        expect(readFileSync(`/proc/${javaPid}/cmdline`, 'utf8')).toContain('DynamoDBLocal.jar');
        parent.kill('SIGKILL');
        const deadline = Date.now() + 5000;
        while (alive(javaPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(alive(javaPid)).toBe(false);
      } finally {
        if (parent.exitCode === null) parent.kill('SIGKILL');
        if (javaPid !== undefined && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
      }
    }, 40_000);
  });
});
