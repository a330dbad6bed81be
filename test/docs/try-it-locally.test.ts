/**
 * What README's "Try it locally" and docs/local-mode.md tell a user to type
 * works when pasted: every fenced `sh` block of both runs with bash, in
 * order, against a real local mode started as a child (`npm start` is
 * `tsx local/start.ts`), after the `export SES_BOUNCER_DDB=...` line that
 * local mode prints, as the docs say to paste it first.
 *
 * The only rewrites: the SMTP port (the test cannot own 2525) and the outbox
 * (a temp directory instead of .local/outbox). The one block not run is the
 * docs' `npm ci` + `npm start`, which is what this test does itself; it is
 * checked to be exactly that. The tools the docs name must be installed:
 * swaks and the AWS CLI (.ci/run installs both when missing); a missing one
 * fails the test with how to install it, never skips.
 *
 * Each block must exit 0. A `# receive ... key=value ...` comment after a
 * command that sends mail is what local mode must print for that message,
 * and a bounce the guard lets through must put one DSN in the outbox; an
 * allowed message must add none.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../local/dynamodb/dynamodb-local';

const ROOT = join(__dirname, '..', '..');

/** A fenced `sh` block: its text (fence indentation removed) and where it is. */
interface ShellBlock {
  readonly source: string;
  readonly line: number;
  readonly text: string;
}

/** The fenced ```sh blocks of `markdown`, indented ones (in list items) included. */
function shellBlocks(markdown: string, source: string, lineOffset = 0): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(Math.min(indent, lines[j].length - lines[j].trimStart().length)));
    blocks.push({ source, line: lineOffset + i + 1, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The section of `markdown` under the heading starting with `heading`, to the next heading of its level. */
function section(markdown: string, heading: string): { text: string; lineOffset: number } {
  const start = markdown.indexOf(`\n${heading}`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const level = /^#+/.exec(heading)![0];
  const next = markdown.indexOf(`\n${level} `, start + 1);
  return { text: markdown.slice(start + 1, next < 0 ? undefined : next), lineOffset: markdown.slice(0, start + 1).split('\n').length - 1 };
}

/** A command in a block that sends mail, and what its `# receive ...` comment expects. */
interface Send {
  readonly command: string;
  readonly expect?: Record<string, string>;
}

/** The mail-sending commands of a block in order, each with the `key=value` pairs of the comment after it. */
function sendsIn(text: string): Send[] {
  const sends: { command: string; expect?: Record<string, string> }[] = [];
  for (const line of text.split('\n')) {
    if (/^(swaks|node -e)\b/.test(line)) sends.push({ command: line });
    const comment = /^#\s*receive\b(.*)$/.exec(line);
    if (comment && sends.length > 0) sends[sends.length - 1].expect = Object.fromEntries([...comment[1].matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  }
  return sends;
}

const has = (tool: string) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;
const INSTALL: Record<string, string> = {
  swaks: 'install swaks (Debian/Ubuntu: apt-get install swaks; macOS: brew install swaks)',
  aws: 'install the AWS CLI (Debian/Ubuntu: apt-get install awscli; or pip install awscli)',
};

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const localMode = readFileSync(join(ROOT, 'docs', 'local-mode.md'), 'utf8');
const tryIt = section(readme, '## Try it locally');
const DOCS: ReadonlyArray<{ name: string; blocks: ShellBlock[] }> = [
  { name: 'README.md "Try it locally"', blocks: shellBlocks(tryIt.text, 'README.md', tryIt.lineOffset) },
  { name: 'docs/local-mode.md', blocks: shellBlocks(localMode, 'docs/local-mode.md') },
];

/** The block that installs and starts local mode: what this test does itself. */
const isStartBlock = (b: ShellBlock) => /\bnpm start\b/.test(b.text);

describe.each(DOCS)('$name shell blocks', ({ blocks }) => {
  jest.setTimeout(120_000);

  let child: ChildProcessWithoutNullStreams;
  let output = '';
  let outbox: string;
  let smtpPort: number;
  let exportLine: string;
  let exitCode: number | null | undefined;

  const until = async <T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; local mode printed:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const emls = () => readdirSync(outbox).filter((f) => f.endsWith('.eml'));

  beforeAll(async () => {
    smtpPort = await freePort();
    outbox = mkdtempSync(join(tmpdir(), 'ses-bouncer-docs-outbox-'));
    // `npm start` runs `tsx local/start.ts`; tsx directly, so that SIGTERM reaches it (npm's shell does not pass it on).
    child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['local/start.ts', '--smtp-port', String(smtpPort), '--outbox', outbox], {
      cwd: ROOT,
      env: { ...process.env, SES_BOUNCER_SMTP_PORT: '' },
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => (exitCode = code));
    await until('the ready line', () => (/^ready: /m.test(output) ? true : exitCode !== undefined ? (() => { throw new Error(output); })() : undefined), 60_000);
    exportLine = /^\s*(export SES_BOUNCER_DDB=\S+.*)$/m.exec(output)?.[1] ?? '';
  });

  afterAll(async () => {
    if (child && exitCode === undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (outbox) rmSync(outbox, { recursive: true, force: true });
  });

  it('has blocks to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });

  it('starts local mode the way the docs say: npm start is tsx local/start.ts, and the export line comes first', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('tsx local/start.ts');
    for (const block of blocks.filter(isStartBlock)) expect(block.text.trim().split('\n')).toEqual(['npm ci', 'npm start']);
    expect(exportLine).toMatch(/^export SES_BOUNCER_DDB=http:\/\/127\.0\.0\.1:\d+ /);
  });

  it('runs every block as pasted, each doing what the docs say', async () => {
    const ran: string[] = [];
    for (const block of blocks.filter((b) => !isStartBlock(b))) {
      const where = `${block.source}:${block.line}`;
      for (const tool of ['swaks', 'aws']) {
        if (new RegExp(`^\\s*(\\S+=\\S+\\s+)*${tool}\\b`, 'm').test(block.text) && !has(tool)) {
          throw new Error(`${where} needs ${tool}, which is not on PATH: ${INSTALL[tool]}`);
        }
      }
      const script = block.text
        .replaceAll('127.0.0.1:2525', `127.0.0.1:${smtpPort}`)
        .replaceAll('port:2525', `port:${smtpPort}`)
        .replaceAll('.local/outbox', outbox);
      const before = emls().length;
      const run = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', `${exportLine}\n${script}`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const shown = `${where}\n${block.text}\nexit ${run.status}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
      if (run.status !== 0) throw new Error(`block failed: ${shown}`);
      ran.push(where);

      const sends = sendsIn(block.text);
      const ids = [...run.stdout.matchAll(/250 2\.0\.0 Ok (\S+)/g)].map((m) => m[1]);
      expect({ where, replies: ids.length }).toEqual({ where, replies: sends.length });
      let bounces = 0;
      for (const [i, send] of sends.entries()) {
        const line = await until(`the receive line of ${ids[i]} (${where})`, () => output.split('\n').find((l) => l.includes(`receive ${ids[i].slice(0, 12)}`)), 20_000);
        for (const [key, value] of Object.entries(send.expect ?? {})) expect({ where, line, [key]: line.includes(`${key}=${value}`) }).toEqual({ where, line, [key]: true });
        if (/decision=bounce\b.*guard=ok\b/.test(line)) bounces++;
      }
      if (sends.length > 0) {
        // Each bounce the guard let through is one DSN (the send worker paces SendBounce at one a second); nothing else adds one.
        if (bounces > 0) await until(`${bounces} new DSN(s) in the outbox (${where})`, () => (emls().length >= before + bounces ? true : undefined), 20_000);
        else await new Promise((r) => setTimeout(r, 1_500));
        expect({ where, dsns: emls().length - before }).toEqual({ where, dsns: bounces });
      }
      if (/cat .*\*\.eml/.test(block.text)) {
        expect(run.stdout).toContain('multipart/report');
        expect(run.stdout).toContain('Final-Recipient: rfc822; former@example.com');
      }
    }
    expect(ran.length).toBe(blocks.filter((b) => !isStartBlock(b)).length);
  });
});
