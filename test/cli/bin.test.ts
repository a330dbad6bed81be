import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../cli/rules-table';
import { localDynamoDbClient, newRulesTable } from './support';

const run = promisify(execFile);
const BIN = join(__dirname, '../../cli/bin.js');

describe('cli/bin.js', () => {
  it('runs the TypeScript CLI through tsx: rules list against DynamoDB Local exits 0 and prints the rule', async () => {
    const client = localDynamoDbClient();
    const { table, flags } = await newRulesTable(client);
    await client.send(new PutItemCommand({ TableName: table, Item: marshallItem({ ruleId: 'gone', recipients: ['former@example.com'], action: 'bounce' }) }));
    client.destroy();

    const { stdout, stderr } = await run(process.execPath, [BIN, 'rules', 'list', ...flags], { timeout: 20_000 });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^gone\s+yes\s+100\s+bounce\s+enforce\s+DoesNotExist 5\.1\.1\s+former@example\.com$/m);

    // Exit codes reach the shell: an unknown flag is 2.
    await expect(run(process.execPath, [BIN, 'rules', 'list', '--frob'], { timeout: 20_000 })).rejects.toMatchObject({ code: 2 });
  });
});
