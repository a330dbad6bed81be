/**
 * Helpers for the CLI tests: run `ses-bouncer` in-process with captured
 * output, and give each test its own tables on the run's DynamoDB Local.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY } from '../../lambda/config/tables';
import { run } from '../../cli/main';
import { createTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with argv; `stdin` is what `-` reads. */
export async function runCli(argv: readonly string[], options: { stdin?: string; env?: Record<string, string | undefined> } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: options.env ?? {},
    readStdin: async () => options.stdin ?? '',
  });
  return { code, stdout, stderr };
}

/** A fresh rules table and the flags that point the CLI at it. */
export async function newRulesTable(client: DynamoDBClient): Promise<{ table: string; flags: string[] }> {
  const table = uniqueTableName('cli-rules');
  await createTable(client, table, RULES_PARTITION_KEY);
  return { table, flags: ['--table', table, '--endpoint-url', dynamoDbEndpoint(), '--region', 'us-east-1'] };
}

/** A fresh state table and the flags that point the CLI at it. */
export async function newStateTable(client: DynamoDBClient): Promise<{ table: string; flags: string[] }> {
  const table = uniqueTableName('cli-state');
  await createTable(client, table, STATE_PARTITION_KEY);
  return { table, flags: ['--state-table', table, '--endpoint-url', dynamoDbEndpoint(), '--region', 'us-east-1'] };
}

/** Writes files into a fresh temporary directory; returns their paths by name. */
export async function tempFiles(files: Record<string, string | Buffer>): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ses-bouncer-cli-'));
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(dir, name);
    await writeFile(paths[name], content);
  }
  return paths;
}

export { localDynamoDbClient };
