import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../../cli/main';
import { dynamoDbEndpoint } from '../support/dynamodb';
import { runCli } from './support';

const COMMANDS = [
  ['rules', 'list'],
  ['rules', 'get'],
  ['rules', 'put'],
  ['rules', 'delete'],
  ['rules', 'import'],
  ['rules', 'export'],
  ['rules', 'validate'],
  ['rules', 'report'],
  ['test'],
  ['explain'],
];

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('cli/main', () => {
  describe('run', () => {
    it('prints the command list on stdout and exits 0 for --help', async () => {
      const r = await runCli(['--help']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Usage: ses-bouncer <command>');
      for (const words of COMMANDS) expect(r.stdout).toContain(words.join(' '));
    });

    it.each(COMMANDS.map((words) => words.join(' ')))('prints the usage of "%s" on stdout and exits 0 for --help', async (command) => {
      const r = await runCli([...command.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ses-bouncer ${command}`);
      expect(r.stdout).toContain('--endpoint-url URL');
      expect(r.stderr).toBe('');
    });

    it('prints the rules subcommands for "rules --help" and exits 0', async () => {
      const r = await runCli(['rules', '-h']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: ses-bouncer rules <subcommand>');
    });

    it('answers --help even when other arguments are missing or wrong', async () => {
      const r = await runCli(['rules', 'get', '--frob', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: ses-bouncer rules get RULE_ID');
    });

    it('exits 2 with the usage on stderr when no command is given', async () => {
      const r = await runCli([]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('ses-bouncer: missing command');
      expect(r.stderr).toContain('Usage: ses-bouncer <command>');
    });

    it('exits 2 naming an unknown command', async () => {
      const r = await runCli(['rulez']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown command "rulez"');
    });

    it('exits 2 naming an unknown or missing rules subcommand', async () => {
      const unknown = await runCli(['rules', 'show']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown subcommand "show"');
      expect(unknown.stderr).toContain('Usage: ses-bouncer rules <subcommand>');
      const missing = await runCli(['rules']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('missing subcommand');
    });

    it('exits 2 with the command usage for an unknown flag', async () => {
      const r = await runCli(['rules', 'list', '--frob', '--table', 't']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/ses-bouncer: rules list: unknown option '--frob'/);
      expect(r.stderr).toContain('Usage: ses-bouncer rules list');
    });

    it('exits 2 when a flag misses its value, an argument is missing or one is extra', async () => {
      expect((await runCli(['rules', 'list', '--table'])).code).toBe(2);
      const missing = await runCli(['rules', 'get', '--table', 't']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('rules get: missing argument');
      const extra = await runCli(['rules', 'list', 'everything', '--table', 't']);
      expect(extra.code).toBe(2);
      expect(extra.stderr).toContain('unexpected argument "everything"');
    });

    it('exits 2 when a flag comes before the command', async () => {
      const r = await runCli(['--table', 't', 'rules', 'list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('expected a command before "--table"');
    });

    it('exits 2 when no rules table is given by flag or environment', async () => {
      const r = await runCli(['rules', 'list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no rules table: pass --table NAME or set SES_BOUNCER_RULES_TABLE');
    });

    it('exits 2 for an --endpoint-url that is not a URL', async () => {
      const r = await runCli(['rules', 'list', '--table', 't', '--endpoint-url', 'localhost:8000']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--endpoint-url must be a URL');
    });

    it('reads the table from SES_BOUNCER_RULES_TABLE and reports a missing table in one line, exit 1', async () => {
      const r = await runCli(['rules', 'list', '--endpoint-url', dynamoDbEndpoint()], { env: { SES_BOUNCER_RULES_TABLE: 'no-such-table-here' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`ses-bouncer: rules table "no-such-table-here" does not exist at ${dynamoDbEndpoint()}\n`);
    });

    it('reports an unexpected error in one line without a stack, and with the stack under --debug', async () => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const plain = await runCli(['rules', 'list', '--table', 't', '--endpoint-url', endpoint]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/^ses-bouncer: .*ECONNREFUSED.*\n\(run again with --debug for the stack trace\)\n$/);
      const debug = await runCli(['rules', 'list', '--table', 't', '--endpoint-url', endpoint, '--debug']);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/\n\s+at /);
    });
  });

  describe('conventions of the AWS CLI', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('prints the package version for --version and exits 0', async () => {
      const r = await runCli(['--version']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`ses-bouncer ${require('../../package.json').version}\n`);
    });

    it('suggests the command meant by a misspelt or rules-less command word', async () => {
      expect((await runCli(['rulez'])).stderr).toContain('unknown command "rulez" (did you mean "rules"?)');
      expect((await runCli(['expalin', 'x'])).stderr).toContain('(did you mean "explain"?)');
      expect((await runCli(['list'])).stderr).toContain('unknown command "list" (did you mean "rules list"?)');
      const sub = await runCli(['rules', 'lsit']);
      expect(sub.code).toBe(2);
      expect(sub.stderr).toContain('rules: unknown subcommand "lsit" (did you mean "list"?)');
    });

    it('suggests the flag meant by a misspelt one, among the command and common flags', async () => {
      const own = await runCli(['rules', 'list', '--jsno']);
      expect(own.code).toBe(2);
      expect(own.stderr).toContain(`rules list: unknown option '--jsno' (did you mean "--json"?)`);
      const common = await runCli(['rules', 'list', '--tabel', 't']);
      expect(common.stderr).toContain('(did you mean "--table"?)');
      const far = await runCli(['rules', 'list', '--frobnicate']);
      expect(far.stderr).not.toContain('did you mean');
    });

    it('names a --profile that is in neither shared file, with the profiles that are, before any AWS call', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ses-bouncer-profile-'));
      await writeFile(join(dir, 'config'), '[profile prod]\nregion = eu-west-1\n[profile dev]\nregion = eu-west-1\n');
      await writeFile(join(dir, 'credentials'), '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret\n');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
      const endpoint = `http://127.0.0.1:${await closedPort()}`; // any call would fail with ECONNREFUSED instead
      const r = await runCli(['rules', 'list', '--table', 't', '--profile', 'prd', '--endpoint-url', endpoint]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'ses-bouncer: no profile named "prd" (--profile) in ~/.aws/config or ~/.aws/credentials (did you mean "prod"?); profiles there: prod, dev, default\n',
      );
      const fromEnv = await runCli(['rules', 'list', '--table', 't', '--endpoint-url', endpoint], { env: { AWS_PROFILE: 'staging' } });
      expect(fromEnv.stderr).toContain('no profile named "staging" (AWS_PROFILE)');
      const known = await runCli(['rules', 'list', '--table', 't', '--profile', 'dev', '--endpoint-url', endpoint]);
      expect(known.stderr).not.toContain('no profile named');
    });
  });

  describe('describeError', () => {
    it('names the fix when no credentials are found', () => {
      const error = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      expect(describeError(error)).toMatch(/^no AWS credentials found .*--profile/);
    });

    it('names the fix when no region is configured', () => {
      expect(describeError(new Error('Region is missing'))).toBe('no AWS Region: pass --region or set AWS_REGION');
    });

    it('keeps the error name of other errors', () => {
      expect(describeError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))).toBe('ThrottlingException: slow down');
    });
  });
});
