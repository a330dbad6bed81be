/**
 * `ses-bouncer`: dispatch from argv to one command and the mapping of
 * every outcome to an exit code.
 *
 * - 0: done (`--help` included)
 * - 1: the command failed (invalid rules, no such rule, no audit record, AWS errors)
 * - 2: the command line was wrong (unknown command or flag, missing argument)
 *
 * `run()` takes argv and the I/O, so tests call it in-process; `cli/bin.js`
 * calls {@link main} with the real process.
 */
import { didYouMean } from '../lambda/commons/did-you-mean';
import { missingProfile } from './aws';
import { createContext, type Command } from './command';
import { DLQ_COMMANDS } from './commands/dlq';
import { explainCommand } from './commands/explain';
import { RULES_COMMANDS } from './commands/rules';
import { testCommand } from './commands/test';
import { CommandError, EXIT, UsageError } from './errors';
import { println, processIo, type CliIo } from './io';
import { COMMON_HELP, helpOf, parseCommandArgs } from './options';
import { CLI_VERSION } from './version';

const TOP_COMMANDS: Readonly<Record<string, Command>> = Object.freeze({ test: testCommand, explain: explainCommand });

const list = (commands: Readonly<Record<string, Command>>) =>
  Object.values(commands)
    .map((c) => `  ${c.spec.name.padEnd(16)}${c.spec.summary}`)
    .join('\n');

export const RULES_USAGE = `Usage: ses-bouncer rules <subcommand> [options]

Manage the bounce rules table (docs/rules.md describes a rule).

Subcommands:
${list(RULES_COMMANDS)}

Run "ses-bouncer rules <subcommand> --help" for details.

${COMMON_HELP}
`;

export const DLQ_USAGE = `Usage: ses-bouncer dlq <subcommand> [options]

Inspect and redrive the dead-letter queue (bounce jobs and failed receive invocations).

Subcommands:
${list(DLQ_COMMANDS)}

Run "ses-bouncer dlq <subcommand> --help" for details.

${COMMON_HELP}
`;

export const USAGE = `Usage: ses-bouncer <command> [<subcommand>] [options]

Manage and debug ses-bouncer: rules in DynamoDB, dry runs, audit records.

Commands:
${list(RULES_COMMANDS)}
${list(DLQ_COMMANDS)}
${list(TOP_COMMANDS)}

Run "ses-bouncer <command> --help" for details. docs/cli.md has examples.
"ses-bouncer --version" prints the version.

${COMMON_HELP}
`;

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

/** True when a help flag appears before a `--` terminator. */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some(isHelp);
}

/** Finds the command named by the first words of argv; returns it with the remaining arguments. */
function resolve(argv: readonly string[]): { command: Command; rest: string[] } | { help: string } {
  const [first, second] = argv;
  if (first === undefined) throw new UsageError('missing command', USAGE);
  if (isHelp(first) || first === 'help') return { help: USAGE };
  if (first === '--version') return { help: `ses-bouncer ${CLI_VERSION}\n` };
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${JSON.stringify(first)}`, USAGE);
  if (first === 'rules') {
    if (isHelp(second)) return { help: RULES_USAGE };
    if (second === undefined) throw new UsageError('rules: missing subcommand', RULES_USAGE);
    const command = Object.hasOwn(RULES_COMMANDS, second) ? RULES_COMMANDS[second] : undefined;
    if (!command) throw new UsageError(`rules: unknown subcommand ${JSON.stringify(second)}${didYouMean(second, Object.keys(RULES_COMMANDS))}`, RULES_USAGE);
    return { command, rest: argv.slice(2) };
  }
  if (first === 'dlq') {
    if (isHelp(second)) return { help: DLQ_USAGE };
    if (second === undefined) throw new UsageError('dlq: missing subcommand', DLQ_USAGE);
    const command = Object.hasOwn(DLQ_COMMANDS, second) ? DLQ_COMMANDS[second] : undefined;
    if (!command) throw new UsageError(`dlq: unknown subcommand ${JSON.stringify(second)}`, DLQ_USAGE);
    return { command, rest: argv.slice(2) };
  }
  const command = Object.hasOwn(TOP_COMMANDS, first) ? TOP_COMMANDS[first] : undefined;
  if (!command) {
    // `ses-bouncer list` most likely meant `rules list`.
    const hint = Object.hasOwn(RULES_COMMANDS, first)
      ? ` (did you mean "rules ${first}"?)`
      : didYouMean(first, ['rules', ...Object.keys(TOP_COMMANDS)]);
    throw new UsageError(`unknown command ${JSON.stringify(first)}${hint}`, USAGE);
  }
  return { command, rest: argv.slice(1) };
}

/** One line for an error nobody anticipated (AWS SDK, network, file system). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (error.name === 'CredentialsProviderError') {
    return `no AWS credentials found (${error.message}): pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run where a role is available`;
  }
  if (/region is missing/i.test(error.message)) return 'no AWS Region: pass --region or set AWS_REGION';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') return `cannot reach the endpoint: ${error.message}`;
  if (error.name === 'UnrecognizedClientException' || error.name === 'ExpiredTokenException' || error.name === 'AccessDeniedException') {
    return `AWS refused the request (${error.name}): ${error.message}`;
  }
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const resolved = resolve(argv);
    if ('help' in resolved) {
      io.stdout.write(resolved.help);
      return EXIT.ok;
    }
    const { command, rest } = resolved;
    if (asksForHelp(rest)) {
      io.stdout.write(helpOf(command.spec));
      return EXIT.ok;
    }
    const args = parseCommandArgs(command.spec, rest, io.env);
    const noProfile = await missingProfile(args.common, io.env);
    if (noProfile !== undefined) throw new CommandError(noProfile);
    return await command.run(createContext(command.spec, args, io));
  } catch (error) {
    if (error instanceof UsageError) {
      println(io.stderr, `ses-bouncer: ${error.message}`);
      println(io.stderr);
      io.stderr.write(error.usage);
      return EXIT.usage;
    }
    if (error instanceof CommandError) {
      println(io.stderr, `ses-bouncer: ${error.message}`);
      if (debug && error.cause instanceof Error) println(io.stderr, error.cause.stack ?? String(error.cause));
      return EXIT.failed;
    }
    println(io.stderr, `ses-bouncer: ${describeError(error)}`);
    if (debug && error instanceof Error) println(io.stderr, error.stack ?? '');
    else println(io.stderr, '(run again with --debug for the stack trace)');
    return EXIT.failed;
  }
}

/** Entry for `cli/bin.js`: the real process's arguments and streams. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2), processIo());
}
