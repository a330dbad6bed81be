/**
 * `npm start`: local mode. Starts DynamoDB Local, an S3-compatible server,
 * the SES stand-in and an SMTP receiver on 127.0.0.1:2525, seeds example
 * rules, and runs the receive and send handlers' code against them. Ctrl-C
 * (or SIGTERM) stops every child process. See docs/local-mode.md.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const HELP = `Usage: npm start -- [options]

Runs the whole ses-bouncer pipeline on this machine (docs/local-mode.md).

Options:
  --smtp-port N       SMTP port on 127.0.0.1 (env SES_BOUNCER_SMTP_PORT)   [2525]
  --domains LIST      receiving domains or addresses, comma-separated       [example.com]
  --data-dir DIR      keep DynamoDB and S3 data in DIR                      [in memory]
  --outbox DIR        where DSNs are written as .eml files                  [.local/outbox]
  --rules PATH        seed rules (JSON file or directory), used when the
                      rules table is empty                                  [local/seed-rules.json]
  --verdicts SPEC     default SES verdicts, e.g. spf=FAIL,spam=GRAY          [all PASS]
  --cache-seconds N   how long rules are cached before a re-read             [2]
  --shadow            stack-wide shadow mode: every bounce and drop is only
                      recorded (env SES_BOUNCER_SHADOW=true)                [off]
  --verbose           also print the functions' JSON logs
  -h, --help          this text

Per message, the header "X-Ses-Bouncer-Simulate: spf=FAIL, spam=FAIL" overrides
the verdicts. Pipeline settings such as SENDER_AUTH_POLICY or
SENDER_BUDGET_PER_ADDRESS are read from the environment as on AWS.`;

/** Environment settings of lambda/config that a local user may tune. */
const TUNABLE_SETTINGS = [
  'BOUNCE_SENDER',
  'REPORTING_MTA',
  'SENDER_AUTH_POLICY',
  'SENDER_BUDGET_PER_ADDRESS',
  'SENDER_BUDGET_PER_DOMAIN',
  'SENDER_BUDGET_WINDOW_SECONDS',
  'AUDIT_TTL_DAYS',
  'RATE_GATE_INTERVAL_MS',
  'MAX_SLOT_WAIT_MS',
  'LOG_ADDRESSES',
] as const;

function fail(message: string): never {
  process.stderr.write(`ses-bouncer local mode: ${message}\n`);
  process.exit(2);
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) fail(`${flag} must be a whole number from ${min} to ${max} (got "${value}")`);
  return Number(value);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        'smtp-port': { type: 'string' },
        domains: { type: 'string' },
        'data-dir': { type: 'string' },
        outbox: { type: 'string' },
        rules: { type: 'string' },
        verdicts: { type: 'string' },
        'cache-seconds': { type: 'string' },
        shadow: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${HELP}`);
  }
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }

  // Set before the functions' modules load: the logger and metrics read these once.
  process.env.POWERTOOLS_LOG_LEVEL = flags.verbose ? 'INFO' : 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Local mode runs on the developer's Node (20 is supported here); the SDK's upgrade notice is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Every endpoint is local. DynamoDB Local and the stand-in take any key; s3rver checks its own.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_REGION = 'us-east-1';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  const { parseVerdictSpec } = await import('./ses-event/build-event');
  const { DEFAULT_SEED_RULES } = await import('./seed-rules');
  const { DEFAULT_SMTP_PORT } = await import('./smtp/smtp-receiver');
  const { startLocalMode } = await import('./local-mode');
  const { stopByPid } = await import('./dynamodb/dynamodb-local');

  const portText = flags['smtp-port'] ?? process.env.SES_BOUNCER_SMTP_PORT;
  const smtpPort = portText === undefined ? DEFAULT_SMTP_PORT : wholeNumber('--smtp-port', portText, 0, 65535);
  const cacheSeconds = flags['cache-seconds'] === undefined ? 2 : wholeNumber('--cache-seconds', flags['cache-seconds'], 0, 86400);
  const domains = (flags.domains ?? 'example.com')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  if (domains.length === 0) fail(`--domains must name at least one domain (got "${flags.domains}")`);
  let verdicts;
  try {
    verdicts = flags.verdicts === undefined ? undefined : parseVerdictSpec(flags.verdicts);
  } catch (error) {
    fail(`--verdicts: ${(error as Error).message}`);
  }
  const outboxDir = resolve(flags.outbox ?? '.local/outbox');
  const rulesPath = flags.rules ? resolve(flags.rules) : DEFAULT_SEED_RULES;
  const dataDir = flags['data-dir'] ? resolve(flags['data-dir']) : undefined;
  const env: Record<string, string | undefined> = Object.fromEntries(TUNABLE_SETTINGS.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
  const shadowText = process.env.SES_BOUNCER_SHADOW;
  if (shadowText !== undefined && shadowText !== '' && shadowText !== 'true' && shadowText !== 'false') {
    fail(`SES_BOUNCER_SHADOW must be true or false (got "${shadowText}")`);
  }
  if (flags.shadow || shadowText === 'true') env.SHADOW_MODE = 'true';

  const time = () => new Date().toISOString().slice(11, 19);
  const print = (line: string) => process.stdout.write(`${time()} ${line}\n`);

  let mode: Awaited<ReturnType<typeof startLocalMode>>;
  try {
    mode = await startLocalMode({ smtpPort, domains, dataDir, outboxDir, rulesPath, verdicts, cacheSeconds, env, print });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') fail(`SMTP port ${smtpPort} is in use: pass --smtp-port N or set SES_BOUNCER_SMTP_PORT`);
    fail(e.message ?? String(error));
  }

  // Last resort if the process dies another way: never leave the Java process behind.
  const dbPid = mode.dynamodb.pid;
  process.on('exit', () => {
    try {
      process.kill(dbPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: do not wait for anything.
      void stopByPid(dbPid, 0).finally(() => process.exit(1));
      return;
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping SMTP, workers, SES stand-in, S3 and DynamoDB Local...\n`);
    mode.stop().then(
      () => {
        process.stdout.write('stopped; nothing left running\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const smtp = `${mode.smtp.host}:${mode.smtp.port}`;
  const sampleTo = domains[0].includes('@') ? domains[0] : `former@${domains[0].replace(/^\./, '')}`;
  // A new rule ahead of the seeded ones (priority 10 < 100), so the try-out
  // adds an exception instead of silently replacing a seeded rule.
  const allowRule = { ruleId: 'allow-former', priority: 10, recipients: [sampleTo], action: 'allow' };
  const item = JSON.stringify({
    ruleId: { S: allowRule.ruleId },
    priority: { N: String(allowRule.priority) },
    recipients: { L: [{ S: sampleTo }] },
    action: { S: 'allow' },
  });
  const lines = [
    'ses-bouncer local mode',
    `  SMTP          ${smtp}  (receiving for ${domains.join(', ')}; other recipients get 550 5.1.1)`,
    `  DynamoDB      ${mode.dynamodb.endpoint}  (DynamoDB Local, pid ${mode.dynamodb.pid}, ${dataDir ? `data in ${dataDir}` : 'in memory'})`,
    `  tables        rules: ${mode.tables.rules}  state: ${mode.tables.state}`,
    `  S3            ${mode.s3.endpoint}  bucket ${mode.s3.bucket}, prefix ${mode.s3.prefix}`,
    `  SES stand-in  ${mode.sesEndpoint}`,
    `  outbox        ${outboxDir}`,
    `  rules         ${mode.seeded > 0 ? `${mode.seeded} seeded from ${rulesPath}` : 'table already had rules (not seeded)'}; cached ${cacheSeconds} s`,
    ...(env.SHADOW_MODE === 'true' ? ['  shadow        stack-wide: every bounce and drop is only recorded (state=SHADOW), nothing is bounced'] : []),
    '',
    'In a second terminal, paste this first (the commands below use it):',
    `  ${exportLine(mode.dynamodb.endpoint, mode.tables)}`,
    'Send a message:',
    `  swaks --server ${smtp} --from someone@sender.example --to ${sampleTo}`,
    `Allow ${sampleTo} while it runs (a new rule ahead of the seeded one; applies within the cache time):`,
    `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws dynamodb put-item --region us-east-1 --endpoint-url "$SES_BOUNCER_DDB" --table-name ${mode.tables.rules} --item '${item}'`,
    `  or, without the AWS CLI: npx ses-bouncer rules put - --endpoint-url "$SES_BOUNCER_DDB" <<< '${JSON.stringify(allowRule)}'`,
    '',
    `ready: listening for SMTP on ${smtp}; Ctrl-C (or SIGTERM to pid ${process.pid}) stops everything`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The shell line that points a second terminal at this local mode: the
 * DynamoDB endpoint as SES_BOUNCER_DDB (for `--endpoint-url`), and the table
 * names the CLI reads from its environment.
 */
function exportLine(dynamoDbEndpoint: string, tables: { readonly rules: string; readonly state: string }): string {
  return `export SES_BOUNCER_DDB=${dynamoDbEndpoint} SES_BOUNCER_RULES_TABLE=${tables.rules} SES_BOUNCER_STATE_TABLE=${tables.state}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`ses-bouncer local mode: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
