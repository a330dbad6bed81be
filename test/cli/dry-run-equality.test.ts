/**
 * The dry run is the production path (issue 14): every message of the
 * bad-input MIME corpus and a set of example messages goes through
 * `ses-bouncer test --json` and through local mode's pipeline (its event
 * builder, local S3, the receive handler on DynamoDB Local), and the two
 * must decide alike: the same decision and rule per recipient, the same
 * outcome and the same guard reasons, or both refuse the message.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../lambda/commons/errors';
import type { RecipientDecision } from '../../lambda/domain/model';
import type { AuditRecord } from '../../lambda/ports';
import { startLocalMode, type LocalMode } from '../../local/local-mode';
import type { MimeEntry } from '../fixtures/corpus/generate';
import { mimeMessage } from '../support/mime';
import { runCli } from './support';

const CORPUS = join(__dirname, '../fixtures/corpus');
const manifest = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as {
  mimeRules: Record<string, unknown>[];
  mimeRecipients: string[];
  mime: MimeEntry[];
};
const readJson = (file: string): unknown[] => [JSON.parse(readFileSync(join(__dirname, '../..', file), 'utf8'))].flat();
const RULES = [
  ...manifest.mimeRules,
  ...readJson('local/seed-rules.json'),
  ...readJson('examples/rules/former-employee.json'),
  ...readJson('examples/rules/oversized-attachments.json'),
  ...readJson('examples/rules/retired-domain.json'),
];
const DEFAULT_SENDER = 'someone@sender.example';

/** One input: the bytes and envelope both paths are given. */
interface Case {
  readonly name: string;
  readonly raw: Buffer;
  readonly sender: string;
  readonly recipients: readonly string[];
}

/** The decision as both paths can state it. */
interface Decided {
  readonly refused?: true;
  readonly recipients?: ReadonlyArray<{ recipient: string; decision: string; ruleId: string | null }>;
  readonly outcome?: string;
  readonly guardReasons?: readonly string[] | null;
}

/** Per-message verdicts reach both paths the same way: local mode's simulate header, in the bytes. */
function corpusCase(entry: MimeEntry): Case {
  const file = readFileSync(join(CORPUS, entry.file));
  const verdicts = Object.entries((entry as { verdicts?: Record<string, string> }).verdicts ?? {});
  const raw = verdicts.length ? Buffer.concat([Buffer.from(`X-Ses-Bouncer-Simulate: ${verdicts.map(([k, v]) => `${k}=${v}`).join(', ')}\r\n`), file]) : file;
  return { name: entry.file, raw, sender: entry.sender ?? DEFAULT_SENDER, recipients: manifest.mimeRecipients };
}

const exe = { filename: 'setup.exe', contentType: 'application/octet-stream', content: Buffer.alloc(64, 1) };
const EXAMPLES: Case[] = [
  { name: 'example: former employee and the default', raw: mimeMessage({ to: 'former@example.com' }), sender: 'alice@sender.example', recipients: ['former@example.com', 'info@example.com'] },
  { name: 'example: left-* pattern and postmaster allow', raw: mimeMessage({ to: 'left-bob@example.com' }), sender: 'alice@sender.example', recipients: ['left-bob@example.com', 'postmaster@example.com'] },
  { name: 'example: closed list', raw: mimeMessage({ to: 'announce@example.com', subject: 'news' }), sender: 'alice@sender.example', recipients: ['announce@example.com'] },
  { name: 'example: jane doe', raw: mimeMessage({ to: 'jane.doe@example.com' }), sender: 'alice@sender.example', recipients: ['jane.doe@example.com', 'jdoe@example.com'] },
  { name: 'example: support with an attachment', raw: mimeMessage({ to: 'support@example.com', attachments: [exe] }), sender: 'alice@sender.example', recipients: ['support@example.com'] },
  { name: 'example: retired domain', raw: mimeMessage({ to: 'anyone@oldbrand.example' }), sender: 'alice@sender.example', recipients: ['anyone@oldbrand.example'] },
  { name: 'example: auto-reply to a former employee', raw: mimeMessage({ to: 'former@example.com', headers: ['Auto-Submitted: auto-replied'] }), sender: 'alice@sender.example', recipients: ['former@example.com'] },
  { name: 'example: null sender', raw: mimeMessage({ to: 'former@example.com' }), sender: '', recipients: ['former@example.com'] },
];

const CASES: Case[] = [...manifest.mime.map(corpusCase), ...EXAMPLES];

function fromLocalMode(report: { decisions: readonly RecipientDecision[]; audit?: AuditRecord }): Decided {
  return {
    recipients: report.decisions.map((d) => ({ recipient: d.recipient, decision: d.action, ruleId: d.action === 'default' ? null : d.ruleId })),
    outcome: report.audit === undefined ? 'no-bounce' : report.audit.guard.allowed ? 'queued' : 'skipped',
    guardReasons: report.audit?.guard.reasons ?? null,
  };
}

describe('ses-bouncer test --json decides as local mode does', () => {
  jest.setTimeout(300_000);

  let dir: string;
  let rulesFile: string;
  let local: LocalMode;
  const reports = new Map<string, { decisions: readonly RecipientDecision[]; audit?: AuditRecord }>();
  const printed: string[] = [];

  const savedEnv = { ...process.env };

  beforeAll(async () => {
    // As local/start.ts sets them: every endpoint is local, and s3rver checks its own fixed key.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(join(tmpdir(), 'ses-bouncer-equality-'));
    rulesFile = join(dir, 'rules.json');
    await writeFile(rulesFile, JSON.stringify(RULES));
    local = await startLocalMode({
      smtpPort: 0,
      domains: ['corpus.example', 'example.com', 'oldbrand.example'],
      outboxDir: join(dir, 'outbox'),
      rulesPath: rulesFile,
      cacheSeconds: 0,
      // The dry run stands in a fresh budget for the state table's: so must local mode, for 80 messages from one sender.
      env: { SENDER_BUDGET_PER_ADDRESS: '1000000', SENDER_BUDGET_PER_DOMAIN: '1000000' },
      print: (line) => printed.push(line),
      onDecided: (report) => reports.set(report.messageId, report),
    });
  });

  afterAll(async () => {
    await local?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    process.env = savedEnv;
  });

  async function viaLocalMode(c: Case): Promise<Decided> {
    const file = join(dir, 'message.eml');
    await writeFile(file, c.raw);
    let messageId: string;
    try {
      ({ messageId } = await local.receive({
        file,
        size: c.raw.length,
        head: c.raw.subarray(0, 1024 * 1024),
        envelope: { mailFrom: c.sender, rcptTo: c.recipients },
        receivedAt: new Date(),
        client: { helo: 'client.sender.example', address: '127.0.0.1' },
      }));
    } catch (error) {
      if (error instanceof ValidationError) return { refused: true };
      throw error;
    }
    const deadline = Date.now() + 20_000;
    while (!reports.has(messageId)) {
      if (Date.now() > deadline) throw new Error(`local mode did not decide ${c.name}: ${printed.slice(-5).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return fromLocalMode(reports.get(messageId)!);
  }

  async function viaDryRun(c: Case): Promise<Decided> {
    const file = join(dir, 'dry-run.eml');
    await writeFile(file, c.raw);
    const argv = ['test', '--eml', file, '--rules', rulesFile, '--sender', c.sender === '' ? '<>' : c.sender, '--json'];
    for (const r of c.recipients) argv.push('--recipient', r);
    const run = await runCli(argv);
    if (run.code !== 0) {
      // Only the malformed simulate header may refuse a message, as local mode's SMTP does.
      expect(run.stderr).toMatch(/verdict/);
      return { refused: true };
    }
    const out = JSON.parse(run.stdout);
    return {
      recipients: out.recipients.map((p: { recipient: string; decision: string; ruleId: string | null }) => ({ recipient: p.recipient, decision: p.decision, ruleId: p.ruleId })),
      outcome: out.outcome,
      guardReasons: out.guard?.reasons ?? null,
    };
  }

  it('covers the whole corpus and the examples', () => {
    expect(CASES.length).toBe(manifest.mime.length + EXAMPLES.length);
    expect(manifest.mime.length).toBeGreaterThan(50);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const [local, dry] = [await viaLocalMode(c), await viaDryRun(c)];
    expect(dry).toEqual(local);
  });
});
