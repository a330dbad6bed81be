/**
 * What a command module exports and what it gets to run: parsed arguments,
 * the I/O, and lazily built AWS access (a command that needs no table never
 * builds a client).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, whereOf } from './aws';
import { UsageError } from './errors';
import type { CliIo } from './io';
import { helpOf, type CommandSpec, type ParsedArgs } from './options';
import { RulesTable } from './rules-table';

export interface CommandContext {
  readonly io: CliIo;
  readonly args: ParsedArgs;
  /** The one DynamoDB client of this run. */
  dynamodb(): DynamoDBClient;
  /** The rules table from `--table` / SES_BOUNCER_RULES_TABLE; a usage error when neither is set. */
  rulesTable(): RulesTable;
  /** The state table name from `--state-table` / SES_BOUNCER_STATE_TABLE; a usage error when neither is set. */
  stateTableName(): string;
  /** A usage error carrying this command's help. */
  usageError(message: string): UsageError;
}

/** A command module: its spec and its body, which returns the exit code. */
export interface Command {
  readonly spec: CommandSpec;
  run(ctx: CommandContext): Promise<number>;
}

/** Builds the context of one command run. */
export function createContext(spec: CommandSpec, args: ParsedArgs, io: CliIo): CommandContext {
  let client: DynamoDBClient | undefined;
  const usageError = (message: string) => new UsageError(`${spec.name}: ${message}`, helpOf(spec));
  const dynamodb = () => (client ??= createDynamoDbClient(args.common, io.env));
  return {
    io,
    args,
    dynamodb,
    usageError,
    rulesTable: () => {
      const tableName = args.common.table;
      if (!tableName) throw usageError('no rules table: pass --table NAME or set SES_BOUNCER_RULES_TABLE');
      return new RulesTable({ client: dynamodb(), tableName, where: whereOf(args.common) });
    },
    stateTableName: () => {
      const name = args.common.stateTable;
      if (!name) throw usageError('no state table: pass --state-table NAME or set SES_BOUNCER_STATE_TABLE');
      return name;
    },
  };
}
