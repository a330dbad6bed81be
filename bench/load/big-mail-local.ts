/**
 * Local mode under big mail (issue 12, defects 15 and 16; RELIABILITY.md).
 *
 *     npm run reliability:big-mail [-- --messages 100 --mib 39 --connections 2 --limit-mb 400 --out .local/big-mail-local-result.json]
 *
 * Starts local mode (`local/start.ts`) as a child process, plain `node
 * --import tsx` so the sampled RSS is local mode's own, and sends N messages
 * of about 39 MiB each over SMTP, generated on the fly and written as the
 * socket drains (this process holds one chunk, not a message). Two shapes
 * alternate, both to an address a rule bounces:
 *
 * - a MIME message with a 39 MiB base64 attachment named `big.bin` (an
 *   attachment rule makes the receive path stream every byte through the MIME
 *   parser);
 * - a message whose header block never ends: 39 MiB of header lines and no
 *   body, the shape that made the stand-in hold every message whole.
 *
 * `--shapes attachment` (or `headers`) sends one shape only. Then one 300 MiB
 * DATA, which must be refused with 552.
 *
 * Checks: every message answered 250, gets a receive line and (bounce rule)
 * a DSN in the outbox; the oversized one answered 552; RSS of local mode
 * sampled every 500 ms stays under `--limit-mb`; DynamoDB Local's RSS is
 * reported. Exits 1 when a check fails. Takes 3–6 minutes on 2 cores. Not
 * part of `npm test`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../local/dynamodb/dynamodb-local';
import { fail, reportChecks, runScript, sleep, until } from './script';

const ROOT = resolve(__dirname, '../..');
const DOMAIN = 'big.example';
const BOUNCED = `gone@${DOMAIN}`;
const MiB = 1024 * 1024;

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
  } catch {
    return undefined;
  }
}


/** A bare SMTP client that streams DATA with back-pressure. */
class SmtpSession {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(port: number): Promise<SmtpSession> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
    const session = new SmtpSession(socket);
    await session.reply();
    await session.command('EHLO bench.example', /^250/);
    return session;
  }

  async reply(): Promise<string> {
    for (;;) {
      const lines = this.buffer.split('\r\n');
      const end = lines.findIndex((l) => /^\d{3} /.test(l));
      if (end >= 0) {
        this.buffer = lines.slice(end + 1).join('\r\n');
        return lines[end];
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async command(line: string, expect: RegExp): Promise<string> {
    this.socket.write(`${line}\r\n`);
    const reply = await this.reply();
    if (!expect.test(reply)) throw new Error(`${line.split(' ')[0]} answered ${JSON.stringify(reply)}`);
    return reply;
  }

  /** One message: `head` then `bodyLine` repeated until about `bytes`, then the final dot. Resolves with the reply. */
  async send(from: string, to: string, head: string, bodyLine: string, bytes: number): Promise<string> {
    await this.command(`MAIL FROM:<${from}>`, /^250/);
    await this.command(`RCPT TO:<${to}>`, /^250/);
    await this.command('DATA', /^354/);
    this.socket.write(head);
    const chunk = Buffer.from(bodyLine.repeat(Math.max(1, Math.floor((256 * 1024) / bodyLine.length))));
    for (let sent = head.length; sent < bytes; sent += chunk.length) {
      if (!this.socket.write(chunk)) await new Promise((r) => this.socket.once('drain', r));
    }
    this.socket.write('\r\n.\r\n');
    return this.reply();
  }

  close(): void {
    this.socket.end('QUIT\r\n');
  }
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values: flags } = parseArgs({
    options: {
      messages: { type: 'string', default: '100' },
      mib: { type: 'string', default: '39' },
      connections: { type: 'string', default: '2' },
      'limit-mb': { type: 'string', default: '400' },
      'oversized-mib': { type: 'string', default: '300' },
      shapes: { type: 'string', default: 'attachment,headers' },
      out: { type: 'string', default: '.local/big-mail-local-result.json' },
    },
  });
  const total = Number(flags.messages);
  const bytes = Number(flags.mib) * MiB;
  const connections = Number(flags.connections);
  const limitMb = Number(flags['limit-mb']);
  const oversized = Number(flags['oversized-mib']) * MiB;
  const shapes = flags.shapes!.split(',');
  if (shapes.length === 0 || shapes.some((x) => x !== 'attachment' && x !== 'headers')) throw new Error('--shapes takes attachment and/or headers');

  const work = mkdtempSync(join(tmpdir(), 'ses-bouncer-big-mail-'));
  const outbox = join(work, 'outbox');
  const rulesFile = join(work, 'rules.json');
  writeFileSync(
    rulesFile,
    JSON.stringify([
      // The attachment condition makes the receive path stream the whole message through the MIME parser.
      { ruleId: 'big-attachment', priority: 10, recipients: [BOUNCED], attachmentNames: ['*.bin'], action: 'bounce', bounceType: 'ContentRejected' },
      { ruleId: 'big-gone', priority: 20, recipients: [BOUNCED], action: 'bounce', bounceType: 'DoesNotExist' },
    ]),
  );
  const smtpPort = await freePort();
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', '--smtp-port', String(smtpPort), '--domains', DOMAIN, '--outbox', outbox, '--rules', rulesFile, '--cache-seconds', '600'],
    { cwd: ROOT, env: { ...process.env, SES_BOUNCER_SMTP_PORT: '', SENDER_BUDGET_PER_ADDRESS: '1000', SENDER_BUDGET_PER_DOMAIN: '1000' } },
  );
  let output = '';
  let exitCode: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', (code) => (exitCode = code));

  const t0 = Date.now();
  let phase = 'idle';
  let dynamoPid: number | undefined;
  const samples: Array<{ s: number; phase: string; rssMb: number; dynamoRssMb?: number }> = [];
  const sampler = setInterval(() => {
    const rss = rssMb(child.pid!);
    if (rss !== undefined) samples.push({ s: Math.round((Date.now() - t0) / 100) / 10, phase, rssMb: rss, dynamoRssMb: dynamoPid ? rssMb(dynamoPid) : undefined });
  }, 500);

  const failures: string[] = [];
  const replies: string[] = [];
  let oversizedReply = '';
  let smtpSeconds = 0;
  let decidedSeconds = 0;
  let dsns = 0;
  let receiveOutcomes = { decided: 0, gaveUp: 0 };
  let receiveFailureLines: string[] = [];
  try {
    await until('local mode to be ready', () => (/^ready: /m.test(output) ? true : exitCode !== undefined ? fail(`local mode exited:\n${output}`) : undefined), 90_000);
    dynamoPid = Number(/DynamoDB Local, pid (\d+)/.exec(output)?.[1]);
    await sleep(3000);

    phase = 'smtp';
    const smtpStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const session = await SmtpSession.open(smtpPort);
        try {
          while (next < total) {
            const i = next++;
            const from = `sender${i}@s${i}.sender.example`;
            const common = `From: <${from}>\r\nTo: <${BOUNCED}>\r\nSubject: big ${i}\r\nMessage-ID: <big-${i}@sender.example>\r\n`;
            const reply =
              shapes[i % shapes.length] === 'attachment'
                ? await session.send(
                    from,
                    BOUNCED,
                    `${common}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\nContent-Type: application/octet-stream; name="big.bin"\r\nContent-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
                    `${'QUJD'.repeat(19)}\r\n`,
                    bytes,
                  )
                : // Headers that never end: no blank line, no body.
                  await session.send(from, BOUNCED, common, `X-Filler: ${'h'.repeat(988)}\r\n`, bytes);
            replies.push(reply);
            if (!/^250 /.test(reply)) failures.push(`message ${i} answered ${JSON.stringify(reply)}`);
          }
        } finally {
          session.close();
        }
      }),
    );
    smtpSeconds = Math.round((Date.now() - smtpStarted) / 100) / 10;

    // A message is done when its decision line is printed, or when its last receive attempt failed.
    const decided = () => output.split('\n').filter((l) => / receive \S+ .*decision=/.test(l)).length;
    const gaveUp = () => output.split('\n').filter((l) => / receive \S+ failed \(attempt 3 of 3\)/.test(l)).length;
    await until(`${total} receive outcomes`, () => (decided() + gaveUp() >= total ? true : undefined), 900_000, 500).catch((error: Error) => failures.push(error.message));
    receiveOutcomes = { decided: decided(), gaveUp: gaveUp() };
    decidedSeconds = Math.round((Date.now() - smtpStarted) / 100) / 10;

    phase = 'oversized';
    const session = await SmtpSession.open(smtpPort);
    oversizedReply = await session.send('big@s.sender.example', BOUNCED, 'Subject: oversized\r\n\r\n', `${'o'.repeat(998)}\r\n`, oversized);
    session.close();
    if (!/^552 /.test(oversizedReply)) failures.push(`the ${oversized / MiB} MiB message answered ${JSON.stringify(oversizedReply)}, not 552`);

    phase = 'draining';
    const emls = () => readdirSync(outbox).filter((f) => f.endsWith('.eml')).length;
    // Only decisions the guard let through are sent: a header block that never ends is
    // incomplete, so the guard refuses its bounce (headers-incomplete, issue 12 defect 8).
    const queued = output.split('\n').filter((l) => / receive \S+ .*decision=bounce .*state=PENDING/.test(l)).length;
    await until(`${queued} DSNs`, () => (emls() >= queued ? true : undefined), total * 3000 + 60_000, 1000).catch((error: Error) => failures.push(error.message));
    dsns = emls();
    phase = 'done';
    await sleep(3000);
    receiveFailureLines = output.split('\n').filter((l) => /failed \(attempt|error:/.test(l));
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    clearInterval(sampler);
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      await until('local mode to stop', () => exitCode, 30_000).catch(() => child.kill('SIGKILL'));
    }
    rmSync(work, { recursive: true, force: true });
  }

  const peak = Math.max(...samples.map((s) => s.rssMb));
  const of = (p: string) => samples.filter((s) => s.phase === p).map((s) => s.rssMb);
  if (!(peak < limitMb)) failures.push(`local mode's RSS peaked at ${peak} MB (limit ${limitMb} MB)`);
  const result = {
    when: new Date(t0).toISOString(),
    node: process.version,
    messages: total,
    messageMiB: bytes / MiB,
    shapes,
    connections,
    smtpSeconds,
    allDecidedSeconds: decidedSeconds,
    accepted: replies.filter((r) => /^250 /.test(r)).length,
    receiveOutcomes,
    // Reported, not failed on: a receive that gives up is the pipeline's answer to mail it cannot read (issue 12, defect 7), not a memory fault.
    receiveFailureLines: receiveFailureLines.length,
    receiveFailureExample: receiveFailureLines[0],
    dsnFiles: dsns,
    oversizedMiB: oversized / MiB,
    oversizedReply,
    rssMb: {
      start: of('idle').at(-1),
      peak,
      peakSmtp: Math.max(...of('smtp')),
      peakOversized: Math.max(...of('oversized')),
      end: samples.at(-1)?.rssMb,
      limit: limitMb,
    },
    dynamoLocalRssPeakMb: Math.max(...samples.map((s) => s.dynamoRssMb ?? 0)),
    samples: samples.length,
    failures,
  };
  const outFile = resolve(ROOT, flags.out!);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ ...result, rssSeries: samples.map((s) => [s.s, s.phase, s.rssMb]) }, null, 1)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nfull result: ${outFile}\n`);
  reportChecks('big-mail-local', failures);
}

runScript('big-mail-local', main);
