/**
 * Flag parsing with node:util `parseArgs`: every command declares its own
 * flags and positionals in a {@link CommandSpec}; the flags every command
 * shares are added here. Unknown flags and missing values become
 * {@link UsageError}s (exit 2).
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../lambda/commons/did-you-mean';
import { UsageError } from './errors';

/** One flag as `parseArgs` takes it. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
}

/** A command: its name, help and the arguments it accepts. */
export interface CommandSpec {
  /** Full command words, e.g. `rules list`. */
  readonly name: string;
  /** One line for the list of commands. */
  readonly summary: string;
  /** Usage lines and description, printed by `--help` (the common flags are appended). */
  readonly help: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** How many positionals the command takes. */
  readonly positionals: { readonly min: number; readonly max: number };
}

/** Flags every command accepts. */
export const COMMON_FLAGS: Readonly<Record<string, FlagSpec>> = Object.freeze({
  table: { type: 'string' },
  'state-table': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
});

export const COMMON_HELP = `Common options:
  --table NAME          rules table (default: env SES_BOUNCER_RULES_TABLE)
  --state-table NAME    state table with the audit items (default: env SES_BOUNCER_STATE_TABLE)
  --region REGION       AWS Region (default: the SDK's chain, e.g. AWS_REGION)
  --profile NAME        named profile from ~/.aws/config and ~/.aws/credentials
  --endpoint-url URL    DynamoDB endpoint, e.g. http://127.0.0.1:8000 for local mode
  --debug               print stack traces of unexpected errors
  -h, --help            show this help`;

/** The flags every command shares, after parsing and environment defaults. */
export interface CommonOptions {
  readonly table?: string;
  readonly stateTable?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  readonly debug: boolean;
}

/** Parsed arguments of one command. */
export interface ParsedArgs {
  readonly common: CommonOptions;
  readonly positionals: readonly string[];
  /** A string flag's value (the last one when repeated). */
  string(name: string): string | undefined;
  /** Every value of a repeatable string flag, in order. */
  strings(name: string): string[];
  flag(name: string): boolean;
}

/** Full help text of a command. */
export function helpOf(spec: CommandSpec): string {
  return `${spec.help.trimEnd()}\n\n${COMMON_HELP}\n`;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/**
 * Parses a command's arguments (everything after its command words).
 * Throws {@link UsageError} for unknown flags, flags without a value, a wrong
 * number of positionals or a malformed `--endpoint-url`.
 */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArgs {
  const usage = helpOf(spec);
  let parsed: ReturnType<typeof parseArgs>;
  const options = { ...COMMON_FLAGS, ...spec.flags };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs's messages name the flag; drop its advice about `--`, which fits no command here.
    let message = (error as Error).message.replace(/\s*To specify a positional argument starting with a '-'.*$/s, '');
    const unknown = (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(--?[^']+)'/.exec(message)?.[1] : undefined;
    if (unknown !== undefined) message = message.replace(/\.$/, '') + didYouMean(unknown, Object.keys(options).map((name) => `--${name}`));
    throw new UsageError(`${spec.name}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`, usage, { cause: error });
  }
  const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  const { positionals } = parsed;
  if (positionals.length < spec.positionals.min) {
    throw new UsageError(`${spec.name}: missing argument`, usage);
  }
  if (positionals.length > spec.positionals.max) {
    throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(positionals[spec.positionals.max])}`, usage);
  }
  const string = (name: string): string | undefined => {
    const v = values[name];
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    return typeof last === 'string' ? last : undefined;
  };
  const endpointUrl = nonEmpty(string('endpoint-url'));
  if (endpointUrl !== undefined && !/^https?:$/.test(URL.canParse(endpointUrl) ? new URL(endpointUrl).protocol : '')) {
    throw new UsageError(`${spec.name}: --endpoint-url must be a URL like http://127.0.0.1:8000 (got ${JSON.stringify(endpointUrl)})`, usage);
  }
  const common: CommonOptions = {
    table: nonEmpty(string('table')) ?? nonEmpty(env.SES_BOUNCER_RULES_TABLE),
    stateTable: nonEmpty(string('state-table')) ?? nonEmpty(env.SES_BOUNCER_STATE_TABLE),
    region: nonEmpty(string('region')),
    profile: nonEmpty(string('profile')),
    endpointUrl,
    debug: values.debug === true,
  };
  return {
    common,
    positionals,
    string,
    strings: (name) => {
      const v = values[name];
      return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
    },
    flag: (name) => values[name] === true,
  };
}
